/*
 * slab.h - a SLUB-style slab allocator on top of the buddy allocator, after
 * Linux 6.1 mm/slub.c and mm/slab_common.c.
 *
 * Objects live in the slab pages' real bytes (the zone's direct map); a free
 * object holds the index of the next free object at the cache's free pointer
 * offset, as SLUB keeps its freelist inside free objects. Slab metadata lives
 * in the head page's struct page. Left out: debugging, cache merging,
 * freelist randomisation, memcg, and taking partial slabs from remote nodes.
 */
#ifndef MM_SLAB_H
#define MM_SLAB_H

#include "page_alloc.h"

#define SLAB_NO_OBJ 0xffffu
#define MAX_OBJS_PER_PAGE 32767
#define SLUB_MAX_ORDER 3
#define KMALLOC_SHIFT_LOW 3
#define KMALLOC_SHIFT_HIGH 13                    /* kmalloc-8k: larger goes to the page allocator */
#define KMALLOC_MAX_CACHE_SIZE (1u << KMALLOC_SHIFT_HIGH)
/* Linux's kmalloc-N caches, in creation order (create_kmalloc_caches): the default classes. */
#define KMALLOC_SIZES 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192
#define NR_KMALLOC_CACHES 13
/* A machine may have other classes: 1..MM_MAX_KMALLOC_CACHES ascending multiples of 8 up to
 * KMALLOC_MAX_CACHE_SIZE (jemalloc's four per doubling up to 8 KiB is 36 of them). */
#define MM_MAX_KMALLOC_CACHES 64
#define KMALLOC_SIZE_INDEX (KMALLOC_MAX_CACHE_SIZE >> KMALLOC_SHIFT_LOW)
#define ZERO_SIZE_PTR 16ull                      /* what kmalloc(0) returns */
#define MM_NO_CACHE 0xffffffffu

/* kmem_cache flags */
#define SLAB_HWCACHE_ALIGN 0x1u
#define SLAB_RECLAIM_ACCOUNT 0x2u   /* slabs are MIGRATE_RECLAIMABLE */
#define SLAB_KMALLOC 0x4u
#define SLAB_DESTROYED 0x8u         /* kmem_cache_destroy'd: allocates nothing, its index stays taken */

/* SLUB_STATS counters (include/linux/slub_def.h enum stat_item, the ones modelled). */
enum slub_stat_item {
	ALLOC_FASTPATH, ALLOC_SLOWPATH, FREE_FASTPATH, FREE_SLOWPATH, FREE_FROZEN,
	FREE_ADD_PARTIAL, FREE_REMOVE_PARTIAL, ALLOC_FROM_PARTIAL, ALLOC_SLAB, ALLOC_REFILL,
	ALLOC_NODE_MISMATCH, FREE_SLAB, CPUSLAB_FLUSH, DEACTIVATE_FULL, DEACTIVATE_EMPTY,
	DEACTIVATE_TO_HEAD, DEACTIVATE_TO_TAIL, DEACTIVATE_REMOTE_FREES, DEACTIVATE_BYPASS,
	ORDER_FALLBACK, CPU_PARTIAL_ALLOC, CPU_PARTIAL_FREE, CPU_PARTIAL_NODE, CPU_PARTIAL_DRAIN,
	NR_SLUB_STAT_ITEMS
};

struct kmem_cache {
	uint32_t object_size;       /* what the user asked for */
	uint32_t size;              /* slot size: ALIGN(ALIGN(object_size, 8), align) */
	uint32_t align;
	uint32_t offset;            /* free pointer offset within a free object */
	uint32_t flags;             /* SLAB_* */
	uint32_t name_id;           /* opaque to the core: the caller's name for it */
	uint8_t order;              /* oo: preferred slab order */
	uint8_t min_order;          /* s->min: fallback order */
	uint16_t objects;           /* objects per slab of `order` */
	uint32_t min_partial;       /* node partial slabs kept before freeing empty ones */
	uint32_t cpu_partial;       /* objects on a CPU's partial list (sysfs cpu_partial) */
	uint32_t cpu_partial_slabs; /* the limit actually applied, in slabs */
	uint64_t stat[NR_SLUB_STAT_ITEMS];
	uint64_t kmalloc_calls;     /* kmalloc() calls served (kmalloc caches) */
	uint64_t kmalloc_requested; /* bytes asked for by those calls */
};

struct kmem_cache_cpu {
	uint32_t slab;              /* pfn of the active slab, PFN_NONE if none */
	uint32_t partial;           /* pfn of the first slab on the partial list (linked by next) */
	uint16_t freelist;          /* lockless freelist of the active slab */
	uint16_t partial_slabs;     /* slabs on the partial list */
};

struct kmem_cache_node {
	struct mm_list partial;
	uint32_t nr_partial;
	uint32_t nr_slabs;
	uint64_t total_objects;
};

/*
 * Pages held by slabs over a replay, in records: now, the peak (first reached at record
 * peak_record, with the slab tail bytes then) and the sum over the records replayed before
 * `since` of the pages held after each, from which the average comes. Slabs change only in
 * the slow paths, so the accounting costs nothing on the fast ones.
 */
struct mm_slab_usage {
	uint64_t pages;
	uint64_t tail;              /* bytes past the last object of every slab: slab size - objects * size */
	uint64_t peak;
	uint64_t peak_record;
	uint64_t peak_tail;
	uint64_t area;
	uint64_t since;
};

enum mm_slab_usage_kind { SLAB_USAGE_KMALLOC, SLAB_USAGE_ALL, NR_SLAB_USAGE };

struct mm_slab {
	struct mm_machine *m;
	uint32_t nr_caches;
	uint32_t max_caches;
	struct kmem_cache *caches;          /* max_caches */
	struct kmem_cache_cpu *cpu_slab;    /* max_caches * nr_cpus */
	struct kmem_cache_node *node;       /* max_caches * nr_nodes */
	uint32_t nr_kmalloc;                /* the kmalloc caches are caches 0 .. nr_kmalloc - 1 */
	uint32_t kmalloc_max;               /* the largest class: larger requests go to the page allocator */
	uint8_t size_index[KMALLOC_SIZE_INDEX];   /* the kmalloc cache of sizes 8i+1 .. 8i+8 */
	uint64_t clock;                     /* the record being replayed: the time base of usage[] */
	struct mm_slab_usage usage[NR_SLAB_USAGE];
	uint64_t large_kmalloc_calls;
	uint64_t large_kmalloc_requested;
	uint64_t large_kmalloc_allocated;
};

/* Reasons a free is refused (the model is never changed by a refused free). */
enum mm_slab_error {
	SLAB_OK = 0,
	SLAB_ENOTOBJ,       /* address is not an allocated object of a slab or a large kmalloc */
	SLAB_EDOUBLE,       /* the object is already free */
	SLAB_EWRONG_CACHE,  /* kmem_cache_free to another cache than the object's */
	SLAB_EPAGE,         /* the address is a page allocation made by alloc_pages */
	SLAB_EBADCPU,       /* cpu outside the machine */
};

/* 1 if sizes[0..n) is a kmalloc class list a machine can have (see MM_MAX_KMALLOC_CACHES). */
int mm_kmalloc_classes_valid(const uint32_t *sizes, uint32_t n);
/* Set up the slab allocator and the kmalloc caches: classes[0..nr_classes), or Linux's
 * (KMALLOC_SIZES) for nr_classes 0. Returns 0, or -1 if the classes are invalid or the
 * caches do not fit. */
int mm_slab_init(struct mm_slab *sl, struct mm_machine *m, struct kmem_cache *caches,
		 struct kmem_cache_cpu *cpu_slab, struct kmem_cache_node *node, uint32_t max_caches,
		 const uint32_t *classes, uint32_t nr_classes);
/* kmem_cache_create: returns the cache index or MM_NO_CACHE. */
uint32_t mm_kmem_cache_create(struct mm_slab *sl, uint32_t size, uint32_t align, uint32_t flags, uint32_t name_id);
/* kmem_cache_destroy, freeing through cpu's pcp lists: returns 0, or -1 (nothing changed) when
 * objects are still in use (Linux warns and keeps the cache), the cache is a kmalloc cache or
 * already destroyed, or an argument is out of range. */
int mm_kmem_cache_destroy(struct mm_slab *sl, uint32_t cache, uint32_t cpu);
/* Objects of a cache in use now (walks its CPU freelists and partial lists). */
uint64_t mm_kmem_cache_inuse(struct mm_slab *sl, uint32_t cache);
/* calculate_order for an object slot size on a machine with nr_cpus CPUs. */
uint32_t mm_slab_calculate_order(uint32_t size, uint32_t nr_cpus);
/* Pages held by slabs over every cache and node (counters only: cheap enough for snapshots). */
uint64_t mm_slab_pages(const struct mm_slab *sl);
/* The kmalloc cache serving size bytes, or MM_NO_CACHE (0, or beyond the largest class). */
uint32_t mm_kmalloc_cache(const struct mm_slab *sl, uint64_t size);

/* Allocation returns a model physical address (pfn << PAGE_SHIFT | offset), or 0 (memory starts
 * above 4 GiB, so 0 and ZERO_SIZE_PTR are never objects): on failure, and for a cache, cpu or
 * node out of range. nid < 0: any node. */
/* block (may be 0) receives the pfn of the slab or large-kmalloc block holding the object. */
uint64_t mm_kmem_cache_alloc(struct mm_slab *sl, uint32_t cache, uint32_t cpu, int32_t nid, uint32_t *block);
uint64_t mm_kmalloc(struct mm_slab *sl, uint64_t size, uint32_t cpu, int32_t nid, uint32_t *block);
enum mm_slab_error mm_kmem_cache_free(struct mm_slab *sl, uint32_t cache, uint64_t addr, uint32_t cpu);
enum mm_slab_error mm_kfree(struct mm_slab *sl, uint64_t addr, uint32_t cpu);

/* Free an object known to be allocated (the replayer's checked path): the slab's head pfn and offset. */
void mm_slab_free_object(struct mm_slab *sl, uint32_t slab_pfn, uint32_t offset, uint32_t cpu);
/* Find the allocated block containing pfn; returns its head pfn or PFN_NONE. */
uint32_t mm_block_head(struct mm_machine *m, uint32_t pfn, struct zone **zp);

#endif
