/*
 * mm_types.h - constants and data structures of the modelled memory subsystem.
 *
 * Freestanding C99: only <stdint.h> and <stddef.h>, no libc, no malloc. Every
 * structure lives in memory the caller hands in, so the same code runs in the
 * host model (memory owned by numpy) and in the guest kernel (real RAM).
 * Names follow Linux mm (include/linux/mmzone.h, mm/page_alloc.c, 6.1).
 */
#ifndef MM_TYPES_H
#define MM_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE (1u << PAGE_SHIFT)
#define MAX_PAGE_ORDER 10                    /* inclusive: 11 orders */
#define NR_PAGE_ORDERS (MAX_PAGE_ORDER + 1)
#define PAGEBLOCK_ORDER 9
#define PAGEBLOCK_NR_PAGES (1u << PAGEBLOCK_ORDER)
#define PAGE_ALLOC_COSTLY_ORDER 3            /* highest order kept on pcp lists */

#define MM_MAX_NODES 64
#define MM_MAX_CPUS 256
#define PFN_NONE 0xffffffffu                 /* "no page" and list terminator */

/* Migratetypes as in a kernel with CONFIG_MEMORY_ISOLATION and no CMA. */
enum migratetype {
	MIGRATE_UNMOVABLE,
	MIGRATE_MOVABLE,
	MIGRATE_RECLAIMABLE,
	MIGRATE_PCPTYPES,                    /* number of types on pcp lists */
	MIGRATE_HIGHATOMIC = MIGRATE_PCPTYPES,
	MIGRATE_ISOLATE,
	MIGRATE_TYPES
};

#define NR_PCP_LISTS (MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1))

/* struct page flags */
#define PG_buddy 0x01u   /* head of a free block on a buddy free list */
#define PG_pcp 0x02u     /* head of a block on a per-CPU list */
#define PG_head 0x04u    /* head of an allocated block */
#define PG_slab 0x08u    /* allocated block used as a slab (with PG_head) */
#define PG_frozen 0x10u  /* slab owned by a CPU: its active slab or on its partial list */
#define PG_large_kmalloc 0x20u /* allocated block backing a kmalloc() larger than 8 KiB */

/*
 * One descriptor per modelled 4 KiB page: 16 bytes, so a 1 TiB model needs
 * 4 GiB of descriptors. Only block heads are ever written: tail pages keep
 * the zero fill of freshly mapped memory, so untouched memory costs nothing.
 * List links are pfns, not pointers: the layout is identical in the 32-bit
 * guest and on the 64-bit host.
 */
struct page {
	uint32_t next;          /* free_list / pcp / slab partial list link, PFN_NONE at the end */
	uint32_t prev;
	uint16_t freelist;      /* slab: index of the first free object, SLAB_NO_OBJ if none */
	uint16_t inuse;         /* slab: objects not on the slab's freelist */
	uint8_t order;          /* block order (heads only) */
	uint8_t flags;          /* PG_* */
	uint16_t info;          /* buddy / pcp: migratetype; allocated: requested migratetype;
				   slab: kmem_cache index */
};

struct mm_list {
	uint32_t head;
	uint32_t tail;
};

struct free_area {
	struct mm_list free_list[MIGRATE_TYPES];
	uint32_t nr_free;                     /* blocks of this order, all types */
	uint32_t nr_free_mt[MIGRATE_TYPES];   /* blocks per migratetype */
};

struct per_cpu_pages {
	int32_t count;          /* pages on all lists */
	int32_t high;           /* free to the buddy lists when count >= high */
	int32_t batch;          /* refill / free chunk */
	int32_t free_factor;    /* 6.1: grows while freeing without allocating */
	struct mm_list lists[NR_PCP_LISTS];
};

enum zone_watermarks { WMARK_MIN, WMARK_LOW, WMARK_HIGH, NR_WMARK };

/* Per-zone event counters (vmstat-like). */
enum zone_stat_item {
	ZS_PGALLOC,            /* pages allocated */
	ZS_PGFREE,             /* pages freed */
	ZS_ALLOC_SUCCESS,      /* successful allocation calls served by this zone */
	ZS_ALLOC_FAIL,         /* failed allocation calls that preferred this zone */
	ZS_EXTFRAG,            /* migratetype fallbacks (mm_page_alloc_extfrag) */
	ZS_PCP_REFILL,         /* blocks moved buddy -> pcp */
	ZS_PCP_DRAIN,          /* blocks moved pcp -> buddy */
	ZS_WMARK_LOW_FAIL,     /* allocations that fell past the low watermark */
	NR_ZONE_STAT_ITEMS
};

/* /sys/devices/system/node/nodeN/numastat, counted per allocation as Linux 6.1 does. */
enum numa_stat_item {
	NUMA_HIT,              /* wanted this node, got it */
	NUMA_MISS,             /* wanted another node, got this one */
	NUMA_FOREIGN,          /* wanted this node, got another */
	NUMA_INTERLEAVE_HIT,   /* interleave wanted this node and got it */
	NUMA_LOCAL,            /* allocated here by a CPU of this node */
	NUMA_OTHER,            /* allocated here by a CPU of another node */
	NR_NUMA_STAT_ITEMS
};

/* Memory policy modes, numbered as Linux's uapi (include/uapi/linux/mempolicy.h). */
enum mempolicy_mode {
	MPOL_DEFAULT, MPOL_PREFERRED, MPOL_BIND, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_PREFERRED_MANY,
	MPOL_WEIGHTED_INTERLEAVE,
	MPOL_ACCESS_AWARE,     /* model-specific: local zonelist order, skipping nodes whose recent
				  access count exceeds the policy's threshold */
	MPOL_MAX
};

/* A CPU's (task's) memory policy, with its interleave position. */
struct mempolicy {
	uint64_t nodes;                       /* nodemask */
	uint8_t mode;
	uint8_t il_weight;                    /* allocations left on il_prev (weighted interleave) */
	int16_t il_prev;                      /* last interleave node, -1 before the first */
	uint32_t threshold;                   /* access-aware: recent accesses a node may have */
	uint8_t weights[MM_MAX_NODES];        /* weighted interleave, 1..255 per node */
};

struct zone {
	uint32_t node;
	uint32_t zone_start_pfn;
	uint32_t spanned_pages;
	uint32_t present_pages;
	uint32_t managed_pages;
	uint32_t nr_free_pages;               /* NR_FREE_PAGES: buddy lists only */
	uint32_t watermark[NR_WMARK];
	uint32_t no_mobility_grouping;        /* page_group_by_mobility_disabled */
	uint32_t has_memory;                  /* direct_map is valid (it is 0 in an identity-mapped guest) */
	struct page *pages;                   /* spanned_pages descriptors */
	uintptr_t mem_map;                    /* address of pfn 0's descriptor: pages - zone_start_pfn */
	uintptr_t direct_map;                 /* address of pfn 0's memory (slab objects live there) */
	uint8_t *pageblock_mt;                /* one migratetype per pageblock */
	struct per_cpu_pages *pcp;            /* nr_cpus entries, this zone's pcp per CPU */
	struct free_area free_area[NR_PAGE_ORDERS];
	uint64_t stat[NR_ZONE_STAT_ITEMS];
	uint64_t numa[NR_NUMA_STAT_ITEMS];
};

/* mm_machine flags */
#define MM_PCP 0x1u                  /* per-CPU page lists enabled */
#define MM_NO_MOBILITY_GROUPING 0x2u /* page_group_by_mobility_disabled */

struct mm_slab;
struct cache_hierarchy;

struct mm_machine {
	struct mm_slab *slab;                 /* the slab allocator on top, or 0 */
	struct cache_hierarchy **cpu_caches;  /* nr_cpus hierarchies (access ops), or 0 */
	uint32_t nr_nodes;
	uint32_t nr_cpus;
	uint32_t flags;
	uint32_t min_free_kbytes;
	uint8_t cpu_to_node[MM_MAX_CPUS];
	uint8_t zonelist[MM_MAX_NODES][MM_MAX_NODES];   /* node order, nr_nodes each */
	struct mempolicy policy[MM_MAX_CPUS];
	/* access cost model: latency (ns) from a CPU's node to a memory node, and what was paid */
	uint32_t latency[MM_MAX_NODES][MM_MAX_NODES];
	uint64_t cpu_access[MM_MAX_CPUS][3];          /* local accesses, remote accesses, cost (ns) */
	uint64_t node_access[MM_MAX_NODES];           /* accesses that landed on each node */
	uint64_t node_recent[MM_MAX_NODES];           /* the same, halved every access_window accesses */
	uint64_t access_window, window_left;
	struct zone zones[MM_MAX_NODES];
};

#endif
