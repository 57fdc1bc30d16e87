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

/*
 * The enums whose names Python shows are X-macro lists: X(id, name, ...) for each entry,
 * in value order. The enum is built from the list here; the name tables only where they
 * are needed (kernel_model/_core.pyx), so the firmware carries no strings.
 */

/* Migratetypes as in a kernel with CONFIG_MEMORY_ISOLATION and no CMA, named as
 * /proc/pagetypeinfo prints them (migratetype_names). */
#define MM_MIGRATETYPES(X) \
	X(MIGRATE_UNMOVABLE, "Unmovable") \
	X(MIGRATE_MOVABLE, "Movable") \
	X(MIGRATE_RECLAIMABLE, "Reclaimable") \
	X(MIGRATE_HIGHATOMIC, "HighAtomic") \
	X(MIGRATE_ISOLATE, "Isolate")

enum migratetype {
#define X(id, name) id,
	MM_MIGRATETYPES(X)
#undef X
	MIGRATE_TYPES,
	MIGRATE_PCPTYPES = MIGRATE_HIGHATOMIC   /* number of types on pcp lists */
};

#define NR_PCP_LISTS (MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1))

/* struct page flags */
#define PG_buddy 0x01u   /* head of a free block on a buddy free list */
#define PG_pcp 0x02u     /* head of a block on a per-CPU list */
#define PG_head 0x04u    /* head of an allocated block */
#define PG_slab 0x08u    /* allocated block used as a slab (with PG_head) */
#define PG_frozen 0x10u  /* slab owned by a CPU: its active slab or on its partial list */
#define PG_large_kmalloc 0x20u /* allocated block backing a kmalloc() larger than 8 KiB */
#define PG_imported 0x40u /* allocated block in use before the model started (imported from a
			     snapshot, with PG_head): frees of pages the trace did not allocate take it */

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

/* Zone watermarks, named as /proc/zoneinfo prints them. */
#define MM_WATERMARKS(X) \
	X(WMARK_MIN, "min") \
	X(WMARK_LOW, "low") \
	X(WMARK_HIGH, "high")

enum zone_watermarks {
#define X(id, name) id,
	MM_WATERMARKS(X)
#undef X
	NR_WMARK
};

/* Per-zone event counters (vmstat-like). */
#define MM_ZONE_STATS(X) \
	X(ZS_PGALLOC, "pgalloc")                /* pages allocated */ \
	X(ZS_PGFREE, "pgfree")                  /* pages freed */ \
	X(ZS_ALLOC_SUCCESS, "alloc_success")    /* successful allocation calls served by this zone */ \
	X(ZS_ALLOC_FAIL, "alloc_fail")          /* failed allocation calls that preferred this zone */ \
	X(ZS_EXTFRAG, "extfrag")                /* migratetype fallbacks (mm_page_alloc_extfrag) */ \
	X(ZS_PCP_REFILL, "pcp_refill")          /* blocks moved buddy -> pcp */ \
	X(ZS_PCP_DRAIN, "pcp_drain")            /* blocks moved pcp -> buddy */ \
	X(ZS_WMARK_LOW_FAIL, "wmark_low_fail")  /* allocations that fell past the low watermark */

enum zone_stat_item {
#define X(id, name) id,
	MM_ZONE_STATS(X)
#undef X
	NR_ZONE_STAT_ITEMS
};

/* /sys/devices/system/node/nodeN/numastat, counted per allocation as Linux 6.1 does. */
#define MM_NUMA_STATS(X) \
	X(NUMA_HIT, "numa_hit")                 /* wanted this node, got it */ \
	X(NUMA_MISS, "numa_miss")               /* wanted another node, got this one */ \
	X(NUMA_FOREIGN, "numa_foreign")         /* wanted this node, got another */ \
	X(NUMA_INTERLEAVE_HIT, "interleave_hit") /* interleave wanted this node and got it */ \
	X(NUMA_LOCAL, "local_node")             /* allocated here by a CPU of this node */ \
	X(NUMA_OTHER, "other_node")             /* allocated here by a CPU of another node */

enum numa_stat_item {
#define X(id, name) id,
	MM_NUMA_STATS(X)
#undef X
	NR_NUMA_STAT_ITEMS
};

/* Memory policy modes, numbered as Linux's uapi (include/uapi/linux/mempolicy.h); the last
 * two are the model's own: access-aware (local zonelist order, skipping nodes whose recent
 * access count exceeds the policy's threshold) and thermal (local zonelist order, skipping
 * nodes above the thermal model's throttle temperature: core/thermal.h). */
#define MM_MPOL_MODES(X) \
	X(MPOL_DEFAULT, "default") \
	X(MPOL_PREFERRED, "preferred") \
	X(MPOL_BIND, "bind") \
	X(MPOL_INTERLEAVE, "interleave") \
	X(MPOL_LOCAL, "local") \
	X(MPOL_PREFERRED_MANY, "preferred_many") \
	X(MPOL_WEIGHTED_INTERLEAVE, "weighted_interleave") \
	X(MPOL_ACCESS_AWARE, "access_aware") \
	X(MPOL_THERMAL, "thermal")

enum mempolicy_mode {
#define X(id, name) id,
	MM_MPOL_MODES(X)
#undef X
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

/*
 * Zone types as a Debian x86-64 kernel configures them (CONFIG_ZONE_DMA, CONFIG_ZONE_DMA32,
 * CONFIG_ZONE_DEVICE, no HIGHMEM), named as /proc/zoneinfo prints them, with the default
 * vm.lowmem_reserve_ratio of each (mm/page_alloc.c). ZONE_DEVICE is never populated: it is
 * here because /proc/zoneinfo lists it and lowmem_reserve[] has an entry for it.
 */
#define MM_ZONE_TYPES(X) \
	X(ZONE_DMA, "DMA", 256)           /* below 16 MiB */ \
	X(ZONE_DMA32, "DMA32", 256)       /* below 4 GiB */ \
	X(ZONE_NORMAL, "Normal", 32) \
	X(ZONE_MOVABLE, "Movable", 0) \
	X(ZONE_DEVICE, "Device", 0)

enum zone_type {
#define X(id, name, ratio) id,
	MM_ZONE_TYPES(X)
#undef X
	MAX_NR_ZONES
};

struct zone {
	uint32_t node;
	uint32_t zone_idx;                    /* enum zone_type */
	uint32_t zone_start_pfn;
	uint32_t spanned_pages;
	uint32_t present_pages;
	uint32_t managed_pages;
	uint32_t nr_free_pages;               /* NR_FREE_PAGES: buddy lists only */
	uint32_t watermark[NR_WMARK];
	uint32_t lowmem_reserve[MAX_NR_ZONES]; /* pages kept from requests whose highest zone is [i] */
	uint32_t no_mobility_grouping;        /* page_group_by_mobility_disabled */
	uint32_t has_memory;                  /* direct_map is valid (it is 0 in an identity-mapped guest) */
	struct page *pages;                   /* spanned_pages descriptors: the zone's part of the mem_map */
	uintptr_t mem_map;                    /* address of pfn 0's descriptor: pages - zone_start_pfn */
	uintptr_t direct_map;                 /* address of pfn 0's memory (slab objects live there) */
	uint8_t *pageblock_mt;                /* one migratetype per pageblock */
	struct per_cpu_pages *pcp;            /* nr_cpus entries, this zone's pcp per CPU */
	struct free_area free_area[NR_PAGE_ORDERS];
	struct mm_list imported[NR_PAGE_ORDERS];   /* PG_imported blocks by order */
	uint32_t nr_imported;                 /* pages in them */
	uint64_t stat[NR_ZONE_STAT_ITEMS];
	uint64_t numa[NR_NUMA_STAT_ITEMS];
};

/* A node (pg_data_t): its zones by type; an unpopulated zone has spanned_pages 0. */
struct pglist_data {
	struct zone node_zones[MAX_NR_ZONES];
	uint32_t node_managed_pages;          /* over its zones */
};

/* A zonelist entry (struct zoneref): the zone, with its type and node at hand. */
struct zoneref {
	struct zone *zone;
	uint8_t nid;
	uint8_t zone_idx;
};

/* mm_machine flags */
#define MM_PCP 0x1u                  /* per-CPU page lists enabled */
#define MM_NO_MOBILITY_GROUPING 0x2u /* page_group_by_mobility_disabled */
#define MM_IMPORTING 0x4u            /* allocations take imported blocks (page_alloc.h) */

/* A CPU's access counters (struct mm_machine cpu_access). */
enum mm_access_count { MM_ACCESS_LOCAL, MM_ACCESS_REMOTE, MM_ACCESS_COST_NS, NR_ACCESS_COUNTS };

/*
 * The per-node thermal model (core/thermal.h describes it): temperatures in millidegrees
 * Celsius above ambient, heated by accesses and page allocations, cooled in simulated time.
 */
#define MM_THERMAL_STEPS 64          /* a half-life is applied in 64 steps of 2^(-1/64) */
struct mm_thermal {
	uint32_t heat_access;            /* per access landing on the node; 0 with heat_page: off */
	uint32_t heat_page;              /* per page the node's allocator hands out */
	uint64_t half_life_ns;           /* simulated time to halve: a multiple of MM_THERMAL_STEPS */
	uint64_t throttle;               /* above this a node is throttled */
	uint64_t carry_ns;               /* simulated time not yet applied (less than a step) */
	uint64_t temp[MM_MAX_NODES];
	uint64_t peak[MM_MAX_NODES];
	uint64_t throttled_ns[MM_MAX_NODES];   /* TIME intervals that started above the throttle */
	uint64_t access_seen[MM_MAX_NODES];    /* node_access and the zone's pgalloc when they last heated it */
	uint64_t pgalloc_seen[MM_MAX_NODES];
};

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
	/* build_zonelists_in_node_order: each node's zonelist, nodes in zonelist[] order and in each
	 * its managed zones from the highest type down (mm_setup_watermarks builds it) */
	struct zoneref zonerefs[MM_MAX_NODES][MM_MAX_NODES * MAX_NR_ZONES];
	uint32_t nr_zonerefs[MM_MAX_NODES];
	uint32_t lowmem_reserve_ratio[MAX_NR_ZONES];   /* vm.lowmem_reserve_ratio */
	struct mempolicy policy[MM_MAX_CPUS];
	/* access cost model: latency (ns) from a CPU's node to a memory node, and what was paid */
	uint32_t latency[MM_MAX_NODES][MM_MAX_NODES];
	uint64_t cpu_access[MM_MAX_CPUS][NR_ACCESS_COUNTS];
	uint64_t node_access[MM_MAX_NODES];           /* accesses that landed on each node */
	uint64_t node_recent[MM_MAX_NODES];           /* the same, halved every access_window accesses */
	uint64_t access_window, window_left;
	struct pglist_data node_data[MM_MAX_NODES];
	struct zone *populated[MM_MAX_NODES * MAX_NR_ZONES];   /* zones with pages, for pfn lookups */
	uint32_t nr_populated;
	struct mm_thermal thermal;
};

#endif
