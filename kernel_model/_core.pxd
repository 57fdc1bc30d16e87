# Declarations of the freestanding C core (kernel_model/core/*.h) for the Cython layer (_core.pyx),
# which sees them as its own.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t, uintptr_t

# `cpdef enum` constants are also attributes of kernel_model._core (the Python side's one source
# of the numbers the headers define); the name tables of the X-macro lists are built in _core.pyx.
cdef extern from "core/mm_types.h":
    struct mm_slab

    cpdef enum:
        PAGE_SHIFT
        PAGE_SIZE
        MAX_PAGE_ORDER
        NR_PAGE_ORDERS
        PAGEBLOCK_ORDER
        PAGEBLOCK_NR_PAGES
        PAGE_ALLOC_COSTLY_ORDER
        MIGRATE_UNMOVABLE
        MIGRATE_MOVABLE
        MIGRATE_RECLAIMABLE
        MIGRATE_HIGHATOMIC
        MIGRATE_ISOLATE
        MIGRATE_PCPTYPES
        MIGRATE_TYPES
        NR_WMARK
        ZONE_DMA
        ZONE_DMA32
        ZONE_NORMAL
        ZONE_MOVABLE
        ZONE_DEVICE
        MAX_NR_ZONES
        NR_ZONE_STAT_ITEMS
        NR_NUMA_STAT_ITEMS
        MPOL_MAX
        NR_ACCESS_COUNTS
        MM_THERMAL_STEPS

    enum:
        MM_MAX_NODES
        MM_MAX_CPUS
        NR_PCP_LISTS
        MM_ACCESS_LOCAL
        MM_ACCESS_REMOTE
        MM_ACCESS_COST_NS
        PG_buddy
        PG_pcp
        PG_head
        PG_slab
        PG_frozen
        PG_large_kmalloc
        PG_imported
        MM_PCP
        MM_NO_MOBILITY_GROUPING
        MM_IMPORTING
    uint32_t PFN_NONE

    struct page:
        uint32_t next
        uint32_t prev
        uint16_t freelist
        uint16_t inuse
        uint8_t order
        uint8_t flags
        uint16_t info

    struct mm_list:
        uint32_t head
        uint32_t tail

    struct free_area:
        mm_list free_list[MIGRATE_TYPES]
        uint32_t nr_free
        uint32_t nr_free_mt[MIGRATE_TYPES]

    struct per_cpu_pages:
        int32_t count
        int32_t high
        int32_t batch
        int32_t free_factor
        mm_list lists[NR_PCP_LISTS]

    struct zone:
        uint32_t node
        uint32_t zone_idx
        uint32_t zone_start_pfn
        uint32_t spanned_pages
        uint32_t present_pages
        uint32_t managed_pages
        uint32_t nr_free_pages
        uint32_t watermark[NR_WMARK]
        uint32_t lowmem_reserve[MAX_NR_ZONES]
        uint32_t nr_imported
        page *pages
        uintptr_t direct_map
        uint8_t *pageblock_mt
        per_cpu_pages *pcp
        free_area free_area[NR_PAGE_ORDERS]
        uint64_t stat[NR_ZONE_STAT_ITEMS]
        uint64_t numa[NR_NUMA_STAT_ITEMS]

    struct pglist_data:
        zone node_zones[MAX_NR_ZONES]
        uint32_t node_managed_pages

    struct cache_hierarchy

    struct mm_thermal:
        uint32_t heat_access
        uint32_t heat_page
        uint64_t half_life_ns
        uint64_t throttle
        uint64_t temp[MM_MAX_NODES]
        uint64_t peak[MM_MAX_NODES]
        uint64_t throttled_ns[MM_MAX_NODES]

    struct mm_machine:
        mm_slab *slab
        cache_hierarchy **cpu_caches
        uint32_t nr_nodes
        uint32_t nr_cpus
        uint32_t flags
        uint32_t min_free_kbytes
        uint8_t cpu_to_node[MM_MAX_CPUS]
        uint8_t zonelist[MM_MAX_NODES][MM_MAX_NODES]
        uint32_t latency[MM_MAX_NODES][MM_MAX_NODES]
        uint64_t cpu_access[MM_MAX_CPUS][NR_ACCESS_COUNTS]
        uint64_t node_access[MM_MAX_NODES]
        uint32_t lowmem_reserve_ratio[MAX_NR_ZONES]
        pglist_data node_data[MM_MAX_NODES]
        zone *populated[MM_MAX_NODES * MAX_NR_ZONES]
        uint32_t nr_populated
        mm_thermal thermal

cdef extern from "core/page_alloc.h":
    uintptr_t MM_NO_MEMORY
    cpdef enum:
        MM_FREE_OK
        MM_FREE_BAD_PFN
        MM_FREE_NOT_ALLOCATED
        MM_FREE_BAD_ORDER
        MM_FREE_WRONG_KIND
        MM_FREE_BAD_CPU
    int mm_machine_init(mm_machine *m, uint32_t nr_nodes, uint32_t nr_cpus, uint32_t flags)
    int mm_zone_init(mm_machine *m, uint32_t nid, uint32_t zone_idx, uint32_t start_pfn, uint32_t spanned_pages,
                     page *pages, uint8_t *pageblock_mt, per_cpu_pages *pcp, uintptr_t memory)
    void mm_zone_free_range(mm_machine *m, zone *z, uint32_t start_pfn, uint32_t end_pfn)
    void mm_setup_watermarks(mm_machine *m, uint32_t min_free_kbytes)
    void mm_setup_pcp(mm_machine *m)
    zone *mm_zone(mm_machine *m, uint32_t nid, uint32_t zone_idx)
    uint32_t mm_alloc_flags(uint32_t migratetype, uint32_t gfp_zone)
    uint32_t mm_alloc_pages(mm_machine *m, uint32_t order, uint32_t alloc_flags, uint32_t cpu,
                            int32_t nid) nogil
    int mm_free_pages(mm_machine *m, uint32_t pfn, uint32_t order, uint32_t cpu) nogil
    void mm_drain_all_pages(mm_machine *m) nogil
    int32_t mm_pfn_to_nid(mm_machine *m, uint32_t pfn)
    zone *mm_pfn_zone(mm_machine *m, uint32_t pfn)
    void mm_zone_set_pages(mm_machine *m, zone *z, uint32_t present, uint32_t managed)
    void mm_import_free_block(zone *z, uint32_t pfn, uint32_t order, uint32_t mt)
    void mm_import_used_block(zone *z, uint32_t pfn, uint32_t order, uint32_t mt)
    void mm_import_pageblock(zone *z, uint32_t pfn, uint32_t mt)
    uint32_t mm_take_imported(zone *z, uint32_t order)
    int mm_import_pcp_page(mm_machine *m, zone *z, uint32_t cpu)

cdef extern from "core/mempolicy.h":
    int mm_set_mempolicy(mm_machine *m, uint32_t cpu, uint32_t mode, uint64_t nodes)
    int mm_set_il_weight(mm_machine *m, uint32_t cpu, uint32_t node, uint32_t weight)

cdef extern from "core/thermal.h":
    uint64_t MM_THERMAL_MAX
    int mm_thermal_setup(mm_machine *m, uint32_t heat_access, uint32_t heat_page, uint64_t half_life_ns,
                         uint64_t throttle)
    void mm_thermal_sync(mm_machine *m)

cdef extern from "core/bug.h":
    enum:
        MM_DEBUG_BUILD
    int mm_bug_take(const char **file, uint32_t *line, const char **cond)

cdef extern from "core/vmstat.h":
    cpdef enum:
        PAGE_MAP_FREE
        PAGE_MAP_SLAB
        PAGE_MAP_HOLE
    int32_t mm_extfrag_index(const uint64_t *nr_free, uint32_t order)
    int32_t mm_unusable_free_index(const uint64_t *nr_free, uint32_t order)
    void mm_page_map(const mm_machine *m, uint32_t nid, uint8_t *out)
    uint32_t mm_node_start_pfn(const mm_machine *m, uint32_t nid)
    uint32_t mm_node_spanned_pages(const mm_machine *m, uint32_t nid)

cdef extern from "core/slab.h":
    cpdef enum:
        SLAB_OK
        SLAB_ENOTOBJ
        SLAB_EDOUBLE
        SLAB_EWRONG_CACHE
        SLAB_EPAGE
        SLAB_EBADCPU

    enum:
        SLAB_NO_OBJ
        NR_KMALLOC_CACHES
        MM_MAX_KMALLOC_CACHES
        NR_SLUB_STAT_ITEMS
        SLAB_HWCACHE_ALIGN
        SLAB_RECLAIM_ACCOUNT
        SLAB_KMALLOC
        SLAB_DESTROYED
        KMALLOC_MAX_CACHE_SIZE
    uint32_t MM_NO_CACHE

    struct kmem_cache:
        uint32_t object_size
        uint32_t size
        uint32_t align
        uint32_t offset
        uint32_t flags
        uint32_t name_id
        uint8_t order
        uint8_t min_order
        uint16_t objects
        uint32_t min_partial
        uint32_t cpu_partial
        uint32_t cpu_partial_slabs
        uint64_t stat[NR_SLUB_STAT_ITEMS]
        uint64_t kmalloc_calls
        uint64_t kmalloc_requested

    struct kmem_cache_cpu:
        uint32_t slab
        uint32_t partial
        uint16_t freelist
        uint16_t partial_slabs

    struct kmem_cache_node:
        mm_list partial
        uint32_t nr_partial
        uint32_t nr_slabs
        uint64_t total_objects

    enum mm_slab_usage_kind:
        SLAB_USAGE_KMALLOC
        SLAB_USAGE_ALL
        NR_SLAB_USAGE

    struct mm_slab_usage:
        uint64_t pages
        uint64_t tail
        uint64_t peak
        uint64_t peak_record
        uint64_t peak_tail
        uint64_t area
        uint64_t since

    struct mm_slab:
        mm_machine *m
        uint32_t nr_caches
        uint32_t max_caches
        kmem_cache *caches
        kmem_cache_cpu *cpu_slab
        kmem_cache_node *node
        uint32_t nr_kmalloc
        uint32_t kmalloc_max
        uint64_t clock
        mm_slab_usage usage[NR_SLAB_USAGE]
        uint64_t large_kmalloc_calls
        uint64_t large_kmalloc_requested
        uint64_t large_kmalloc_allocated

    int mm_kmalloc_classes_valid(const uint32_t *sizes, uint32_t n)
    int mm_slab_init(mm_slab *sl, mm_machine *m, kmem_cache *caches, kmem_cache_cpu *cpu,
                     kmem_cache_node *node, uint32_t max_caches, const uint32_t *classes, uint32_t nr_classes)
    uint32_t mm_kmem_cache_create(mm_slab *sl, uint32_t size, uint32_t align, uint32_t flags, uint32_t name_id)
    uint32_t mm_slab_calculate_order(uint32_t size, uint32_t nr_cpus)
    uint64_t mm_slab_pages(const mm_slab *sl)
    uint32_t mm_kmalloc_cache(const mm_slab *sl, uint64_t size)
    uint64_t mm_kmem_cache_alloc(mm_slab *sl, uint32_t cache, uint32_t cpu, int32_t nid, uint32_t *block)
    uint64_t mm_kmalloc(mm_slab *sl, uint64_t size, uint32_t cpu, int32_t nid, uint32_t *block)
    int mm_kmem_cache_free(mm_slab *sl, uint32_t cache, uint64_t addr, uint32_t cpu)
    int mm_kfree(mm_slab *sl, uint64_t addr, uint32_t cpu)
    int mm_kmem_cache_destroy(mm_slab *sl, uint32_t cache, uint32_t cpu)
    uint64_t mm_kmem_cache_inuse(mm_slab *sl, uint32_t cache)

cdef extern from "core/trace_ops.h":
    struct mm_op:
        uint8_t op
        uint8_t flags
        uint16_t cpu
        uint32_t site
        uint32_t id
        uint32_t arg0
        uint64_t arg1

    struct mm_trace_header:
        char magic[8]
        uint16_t version
        uint16_t header_size
        uint32_t record_size
        uint64_t nr_records
        uint32_t nr_ids
        uint32_t nr_sites
        uint64_t strtab_offset
        uint64_t strtab_size
        uint32_t flags

    enum:
        NR_OPS
        OP_PAGE_ALLOC
        OP_PAGE_FREE
        OP_KMALLOC
        OP_KFREE
        OP_CACHE_ALLOC
        OP_CACHE_FREE
        OP_TASK
        MM_TRACE_VERSION
        MM_TRACE_MIN_VERSION
        MM_ALLOC_MT_MASK
        MM_ALLOC_ZONE_SHIFT
        MM_ALLOC_ZONE_MASK
        MM_ACCESS_RAW
        MM_MAX_ACCESS
    uint32_t MM_NO_ID
    uint64_t MM_NO_NODE
    const char *MM_TRACE_MAGIC

    cpdef enum:
        GFP_ZONE_NONE
        GFP_ZONE_DMA
        GFP_ZONE_DMA32
        GFP_ZONE_MOVABLE

cdef extern from "core/replay.h":
    enum:
        NR_REPLAY_ERRORS
        MM_STACK_FRAMES
    cpdef enum:
        MM_LEAK_ROOT
        MM_LEAK_NOT_LEAK
        MM_MAX_TASKS
        MM_ID_VOTE_SHIFT
        MM_ID_VOTE_COUNT_MAX
    uint32_t MM_NO_TASK

    cpdef enum:
        ID_UNUSED
        ID_PAGE
        ID_FREED
        ID_FAILED
        ID_OBJECT
        ID_LARGE
        ID_ZERO
        ID_CACHE

    struct mm_id:
        uint32_t pfn
        uint16_t offset
        uint8_t state
        uint8_t order

    struct mm_replay_error_rec:
        uint64_t record
        uint32_t code
        uint32_t id

    struct mm_stack:
        uint32_t depth, top, high_water, hw_frames
        uint64_t overflows, calls
        uint32_t on_cpu, hw_cpu
        uint32_t hw_chain[MM_STACK_FRAMES]
        uint32_t hw_size[MM_STACK_FRAMES]

    struct mm_align:
        uint64_t addr
        uint32_t cache, accesses, split, field_split, lo, hi
        uint32_t lines, need

    struct mm_cache_attr:
        uint64_t *site_lat
        uint32_t *id_served
        uint64_t *id_ps
        mm_align *align
        uint64_t *cache_align
        uint32_t nr_caches

    struct mm_replay:
        mm_id *ids
        uint32_t nr_ids
        uint32_t max_errors
        mm_replay_error_rec *errors
        uint64_t *results
        uint64_t nr_logged
        uint64_t nr_records
        uint64_t now_ns
        uint64_t op_count[NR_OPS]
        uint64_t error_count[NR_REPLAY_ERRORS]
        uint64_t alloc_failed
        uint64_t free_skipped
        uint64_t access_skipped
        uint32_t *alloc_site
        uint64_t *site_misses
        uint64_t *alloc_site_misses
        uint64_t *site_stride
        uint64_t *site_remote
        uint32_t *id_remote
        uint32_t *id_vote
        mm_stack *stacks
        uint32_t nr_tasks
        uint32_t need_tasks
        uint32_t stack_size
        uint32_t *site_frame
        uint32_t cpu_task[MM_MAX_CPUS]
        uint8_t *root
        uint64_t *alloc_record
        uint64_t *site_frees
        mm_cache_attr *cache_attr
        const uint64_t *snap_at
        uint64_t *snap_rows
        uint32_t nr_snap_at, snap_done, snap_stride
        const uint32_t *site_cache
        uint32_t nr_site_cache
        uint32_t nr_imported_caches
        const uint64_t *imported_objs
        const uint32_t *imported_start
        uint32_t *imported_left
        uint64_t pretrace_freed
        uint64_t pretrace_skipped
        uint32_t nr_sites

    enum:
        MM_SITE_LEVELS
        MM_TAG_SITE_SHIFT
        MM_LAT_MEMORY
        MM_LAT_PS
        MM_LAT_WORDS
        MM_ALIGN_PLACEMENTS
        MM_ALIGN_STRADDLING
        MM_ALIGN_ACCESSES
        MM_ALIGN_AFFECTED
        MM_ALIGN_SPLIT
        MM_ALIGN_FIELD_SPLIT
        MM_ALIGN_WORDS
    uint32_t MM_NO_SITE
    uint64_t MM_RESULT_NONE
    uint64_t MM_RESULT_FAILED
    uint64_t MM_RESULT_ERROR

    void mm_replay_run(mm_machine *m, mm_replay *r, const mm_op *ops, uint64_t first, uint64_t n) nogil
    int mm_replay_migrate(mm_machine *m, mm_replay *r, uint32_t id, uint32_t nid, uint32_t cpu)
    void mm_id_span(const mm_machine *m, const mm_id *e, uint64_t *addr, uint64_t *size)
    void mm_align_totals(const mm_replay *r, uint64_t *out)

cdef extern from "core/snapshot.h":
    cpdef enum:
        SNAP_RECORDS
        SNAP_NOW_NS
        SNAP_SLAB_PAGES
        SNAP_NUMA_LOCAL
        SNAP_NUMA_REMOTE
        SNAP_HEAD
        SNAP_FREE_PAGES
        SNAP_PGALLOC
        SNAP_PGFREE
        SNAP_ALLOC_FAIL
        SNAP_PER_NODE

    uint32_t mm_snapshot_size(const mm_machine *m)
    void mm_snapshot(const mm_machine *m, const mm_replay *r, uint64_t records, uint64_t *row)

cdef extern from "core/leak.h":
    cpdef enum:
        LEAK_REACHABLE
        LEAK_POSSIBLY
        LEAK_INDIRECT
        LEAK_DEFINITE
        NR_LEAK_KINDS

    uint32_t mm_leak_objects(mm_machine *m, const mm_replay *r, uint32_t *id, uint64_t *addr, uint64_t *size)
    void mm_leak_slab_use(mm_machine *m, const mm_replay *r, const uint32_t *id, uint32_t n, uint32_t *slab,
                          uint8_t *order, uint32_t *inuse, uint32_t *objects, uint8_t *active)
    uint64_t mm_leak_words(mm_machine *m, const uint64_t *addr, const uint64_t *size, uint32_t n,
                           uint32_t *src, uint64_t *value, uint64_t cap) nogil
    void mm_leak_classify(uint32_t n, const uint32_t *row, const uint32_t *col, const uint8_t *interior,
                          const uint8_t *root, uint8_t *kind, uint32_t *queue) nogil

cdef extern from "core/cachegrind.h":
    enum:
        NR_CG_EVENTS

    cpdef enum:
        CG_MAX_PARAM
        CG_MIN_LINE_SIZE

    struct cg_cache:
        uint32_t sets
        uint32_t assoc
        uint32_t line_size

    struct cg_sim:
        cg_cache I1
        cg_cache D1
        cg_cache LL
        uint64_t ev[NR_CG_EVENTS]

    uint64_t cg_cache_tags_needed(uint64_t size, uint64_t assoc, uint64_t line_size)
    void cg_cache_init(cg_cache *c, uint32_t size, uint32_t assoc, uint32_t line_size, uint64_t *tags)
    void cg_instr(cg_sim *s, uint64_t addr, uint32_t size) nogil
    void cg_read(cg_sim *s, uint64_t addr, uint32_t size) nogil
    void cg_write(cg_sim *s, uint64_t addr, uint32_t size) nogil

cdef extern from "core/lackey.h":
    struct lackey_parser:
        uint64_t line
        uint64_t error_line
        uint32_t error_column

    size_t lackey_feed(lackey_parser *p, cg_sim *s, const char *buf, size_t len, int final) nogil

cdef extern from "core/cache.h":
    enum:
        CACHE_MAX_HUGE
        CACHE_MAX_LEVELS
        CACHE_USE_BUCKETS
        CACHE_USE_MAX_LINE
        CACHE_ORDER_MAX_WAYS
        CACHE_PLRU_MAX_WAYS
        NR_CACHE_POLICIES
        NR_CACHE_INCLUSIONS
        NR_ACCESS_KINDS
        CACHE_MAX_CHAIN
        CACHE_LAT_BUCKETS
        CACHE_LAT_SERVED

    struct cache_stats:
        uint64_t load_hits, load_misses, store_hits, store_misses
        uint64_t evictions, writebacks, back_invalidations
        uint64_t compulsory, capacity, conflict
        uint64_t coh_invalidations, coh_misses

    struct cache_ghost:
        uint64_t block

    uint64_t CACHE_C2C_FREE
    struct cache_c2c:
        uint64_t block
        uint64_t tag[2]
        uint64_t base[2]
        uint32_t cpu[2]
        uint16_t lo[2]
        uint16_t hi[2]
        uint64_t true_sharing, false_sharing

    struct cache_coherence:
        uint32_t nr_cpus
        cache_c2c *c2c
        uint32_t c2c_mask, c2c_used
        uint64_t c2c_dropped

    struct cache_coh_stats:
        uint64_t upgrades, invalidations_sent, invalidations_received, transfers
        uint64_t coherence_misses, true_sharing, false_sharing

    struct cache_lat_stats:
        uint64_t accesses, total_ps
        uint64_t served[CACHE_LAT_SERVED]
        uint64_t time_ps[CACHE_LAT_SERVED]
        uint64_t hist[CACHE_LAT_BUCKETS]

    struct cache_shadow:
        uint64_t *seen
        uint64_t seen_mask, seen_count

    struct cache:
        uint32_t sets, ways, line_bits
        uint8_t policy
        uint64_t *use
        uint64_t *use_hist
        cache *next
        cache_shadow *shadow
        uint64_t *set_misses
        cache_ghost *ghost
        uint32_t hit_ps
        cache_stats st

    struct cache_hierarchy:
        cache *i1
        cache *d1
        cache *itlb
        cache *dtlb
        cache *itlb_huge
        cache *dtlb_huge
        uint64_t huge_start[CACHE_MAX_HUGE]
        uint64_t huge_end[CACHE_MAX_HUGE]
        uint32_t nr_huge
        uint64_t page_walks
        cache *levels[CACHE_MAX_LEVELS]
        uint32_t nr_levels
        cache_coherence *coh
        uint32_t nr_priv, priv_i, priv_d
        cache *priv[CACHE_MAX_CHAIN]
        uint64_t tag, tag_base
        cache_coh_stats coh_st
        const uint32_t *mem_ps
        cache_lat_stats lat

    int cache_geometry_ok(uint32_t sets, uint32_t ways, uint32_t line_size, uint32_t policy)
    void cache_init(cache *c, uint32_t sets, uint32_t ways, uint32_t line_size, uint32_t policy,
                    uint32_t write_back, uint32_t write_allocate, uint32_t inclusion, uint64_t seed,
                    uint64_t *tags, uint64_t *plru)
    void cache_link(cache *upper, cache *lower)
    void cache_shadow_init(cache *c, cache_shadow *sh, uint32_t capacity, uint64_t *block,
                           uint32_t *prev, uint32_t *next, uint32_t *index, uint32_t index_size,
                           uint64_t *seen, uint64_t seen_size)
    void cache_shadow_insert_seen(cache_shadow *sh, uint64_t block)
    int cache_contains(const cache *c, uint64_t addr)
    void cache_flush(cache *c)
    uint64_t cache_replay(cache_hierarchy *h, const uint64_t *addr, const uint32_t *size,
                          const uint8_t *kind, uint64_t n) nogil
    void cache_hierarchy_access(cache_hierarchy *h, uint64_t addr, uint32_t size, uint32_t kind)
    void cache_hierarchy_prepare(cache_hierarchy *h)
    int cache_can_track_use(const cache *c)
    void cache_track_use(cache *c, uint64_t *use, uint64_t *use_hist)
    void cache_use_resident(const cache *c, uint64_t *hist)
    int cache_coherence_level_ok(const cache *c)
    void cache_coherence_init(cache_coherence *coh, cache_hierarchy *h, uint32_t nr, cache_c2c *c2c,
                              uint32_t c2c_size)
    uint64_t cache_hierarchy_access_timed(cache_hierarchy *h, uint64_t addr, uint32_t size, uint32_t kind,
                                          uint32_t mem_node, uint64_t *served, uint32_t *depth)
    uint32_t cache_latency_bucket(uint64_t ps)
    uint64_t cache_latency_bucket_floor(uint32_t bucket)

# ---- ftrace import (core/ftrace.h) ----
cdef extern from "core/ftrace.h":
    enum:
        FT_MAX_LINE
        FT_LINUX_MIGRATE_TYPES
        FT_MAX_BYTES
        FT_NR_EVENTS
        FT_NR_SKIPS
        FT_NR_BEFORE
        FT_NR_TABLES
        FT_FIRST_REBUILT
        FT_F_CPU
        FT_ERR_NOT_EVENT
        FT_ERR_LONG_LINE
        FT_ERR_MISSING
        FT_ERR_SYNTAX
        FT_ERR_RANGE
        FT_ERR_NUL
        FT_ERR_UTF8
        FT_ERR_LIMIT

    uint64_t FT_MAX_NS

    struct ft_map:
        uint32_t count

    struct ft_str:
        uint32_t off, len
        uint64_t count

    struct ft_strtab:
        uint8_t *bytes
        ft_str *ent
        uint32_t nr

    struct ft_parser:
        mm_op *rec
        size_t nr_rec, rec_cap
        ft_map pages, objs
        uint32_t next_id
        ft_strtab sites, events
        uint64_t skipped[FT_NR_SKIPS]
        uint64_t before[FT_NR_BEFORE]
        uint8_t skip_order[FT_NR_SKIPS]
        uint32_t nr_skip_kinds
        uint32_t nr_cpus
        uint64_t line, error_line
        uint32_t error, error_field, error_event
        uint32_t need
        size_t need_bytes

    const char *ft_event_names[]
    const char *ft_field_names[]
    const char *ft_skip_names[]
    const char *ft_before_names[]
    size_t ft_feed(ft_parser *p, const char *buf, size_t len, int final) nogil
    void ft_adopt(ft_parser *p, uint32_t t, void *mem, size_t bytes)
    uint32_t ft_gfp_zone_bits(const char *s, size_t len)
