/*
 * replay.h - run an op stream against a machine, in C.
 *
 * Trace ids map to model objects through a caller-owned table. Bad records
 * (double free, unknown id, wrong order, bad arguments) are counted, the first
 * ones logged with their record index, and skipped: they never touch the model.
 */
#ifndef MM_REPLAY_H
#define MM_REPLAY_H

#include "cache.h"
#include "mempolicy.h"
#include "page_alloc.h"
#include "slab.h"
#include "trace_ops.h"

enum mm_id_state {
	ID_UNUSED = 0,     /* never allocated */
	ID_PAGE,           /* live page allocation: value = pfn */
	ID_FREED,          /* allocated once, freed since */
	ID_FAILED,         /* its allocation failed: its free is skipped, not an error */
	ID_OBJECT,         /* live slab object: pfn = slab, offset = byte offset in the slab */
	ID_LARGE,          /* live kmalloc() larger than 8 KiB: pfn, order of its pages */
	ID_ZERO,           /* kmalloc(0): ZERO_SIZE_PTR, nothing allocated */
	ID_CACHE,          /* a kmem_cache: pfn = cache index */
};

/* 8 bytes: the id map is the replayer's main cache footprint. */
struct mm_id {
	uint32_t pfn;      /* first page of the object's block */
	uint16_t offset;   /* byte offset within the block (slab objects) */
	uint8_t state;     /* enum mm_id_state */
	uint8_t order;
};

/* Why a record was rejected: X(id, name, what it means). */
#define MM_REPLAY_ERRORS(X) \
	X(RE_NONE, "none", "no error") \
	X(RE_BAD_OP, "bad_op", "op code outside the trace format") \
	X(RE_UNSUPPORTED, "unsupported_op", "op not replayed by this model yet") \
	X(RE_BAD_ARG, "bad_arg", "order, migratetype, cpu or node out of range") \
	X(RE_ID_RANGE, "id_range", "id beyond the trace's nr_ids") \
	X(RE_ID_LIVE, "id_live", "allocation into an id that is still live") \
	X(RE_UNKNOWN_ID, "unknown_id", "free of an id that was never allocated") \
	X(RE_DOUBLE_FREE, "double_free", "free of an id that is already free") \
	X(RE_WRONG_ORDER, "wrong_order", "free with another order than allocated") \
	X(RE_WRONG_KIND, "wrong_kind", "free through the wrong interface") \
	X(RE_WRONG_CACHE, "wrong_cache", "kmem_cache_free to another cache than the object's") \
	X(RE_UNKNOWN_CACHE, "unknown_cache", "cache id that names no kmem_cache") \
	X(RE_OUT_OF_BOUNDS, "out_of_bounds", "access beyond the object it names") \
	X(RE_USE_AFTER_FREE, "use_after_free", "access to an object already freed") \
	X(RE_UNALIGNED, "unaligned", "REF_SET / REF_CLEAR at an offset that is not a multiple of 8") \
	X(RE_CACHE_BUSY, "cache_busy", "kmem_cache_destroy of a cache that still has objects (the cache stays)")

enum mm_replay_error {
#define X(id, name, text) id,
	MM_REPLAY_ERRORS(X)
#undef X
	NR_REPLAY_ERRORS
};

/*
 * The stack model: one stack per CPU (the task it runs until a TASK record says otherwise) and
 * one per task of the TASK records, each with its frames pushed by CALL and popped by RET, its
 * high-water mark and the chain of frames that reached it.
 */
#define MM_STACK_FRAMES 256
#define MM_MAX_TASKS (1u << 14)     /* TASK ids 0 .. MM_MAX_TASKS-1 (4 KiB of stack model each) */
#define MM_NO_TASK 0xffffffffu      /* TASK arg0: the CPU runs its own task again */
struct mm_stack {
	uint32_t depth;                       /* bytes in use */
	uint32_t top;                         /* frames in use */
	uint32_t high_water;                  /* most bytes ever in use */
	uint32_t hw_frames;                   /* frames at the high-water mark */
	uint64_t overflows;                   /* CALLs that went past stack_size */
	uint64_t calls;
	uint32_t on_cpu;                      /* task stacks: 1 + the CPU running it, 0 if none */
	uint32_t hw_cpu;                      /* the CPU it ran on when it reached its high-water mark */
	uint32_t site[MM_STACK_FRAMES];       /* callee call site of each frame */
	uint32_t size[MM_STACK_FRAMES];
	uint32_t hw_chain[MM_STACK_FRAMES];   /* the call sites at the high-water mark */
	uint32_t hw_size[MM_STACK_FRAMES];    /* and their frame sizes */
};

/* The flags of an object in the replay's root[] (ROOT_ADD / ROOT_DEL, NOT_LEAK). A NOT_LEAK
 * object is kmemleak's grey object after kmemleak_not_leak(): never reported, and scanned, so
 * what it points to is referenced. Both start the leak scan's chains (leak.h). */
#define MM_LEAK_ROOT 0x1u
#define MM_LEAK_NOT_LEAK 0x2u

struct mm_replay_error_rec {
	uint64_t record;
	uint32_t code;
	uint32_t id;
};

/* Per-record result values written to the optional results array. */
#define MM_RESULT_NONE 0ull                       /* op with no result */
#define MM_RESULT_FAILED 0xffffffffffffffffull    /* allocation failed */
#define MM_RESULT_ERROR 0xfffffffffffffffeull     /* record rejected */

struct mm_replay {
	struct mm_id *ids;
	uint32_t nr_ids;
	uint32_t max_errors;              /* capacity of errors[] */
	struct mm_replay_error_rec *errors;
	uint64_t *results;                /* optional: one per record of the current call */
	uint64_t nr_logged;               /* entries used in errors[] */
	uint64_t nr_records;              /* records replayed so far */
	uint64_t now_ns;                  /* simulated time: the sum of the TIME records so far */
	uint64_t op_count[NR_OPS];
	uint64_t error_count[NR_REPLAY_ERRORS];
	uint64_t alloc_failed;
	uint64_t free_skipped;            /* frees of ids whose allocation failed */
	uint64_t access_skipped;          /* accesses to ids whose allocation failed */
	/* Optional cache-miss attribution (0 to switch off): the allocating call site of
	 * every id, and misses per level (MM_SITE_LEVELS) by the accessing call site and by
	 * the allocation site of the object touched. */
	uint32_t *alloc_site;             /* nr_ids */
	uint64_t *site_misses;            /* nr_sites * MM_SITE_LEVELS */
	uint64_t *alloc_site_misses;      /* nr_sites * MM_SITE_LEVELS */
	uint64_t *site_stride;            /* nr_sites * 4: last address, last stride, accesses
					     that repeated the site's previous non-zero stride, accesses */
	uint64_t *site_remote;            /* nr_sites * 2: local, remote accesses by call site */
	uint32_t *id_remote;              /* nr_ids * 2: local, remote accesses per object, or 0 */
	struct mm_stack *stacks;          /* nr_cpus + nr_tasks stack models (the CPUs' own first), or 0
					     (CALL/RET/TASK only checked) */
	uint32_t stack_size;              /* bytes; deeper is an overflow (Linux: 16 KiB) */
	uint32_t *site_frame;             /* nr_sites: largest frame seen per callee site, or 0 */
	uint32_t nr_sites;
	/* Leak tracking (0 to switch off): objects are zeroed when allocated (Linux's
	 * init_on_alloc), so the only pointers in them are those REF_SET wrote; root[id]
	 * marks objects that are roots; alloc_record[id] is the record that allocated id. */
	uint8_t *root;                    /* nr_ids MM_LEAK_ROOT | MM_LEAK_NOT_LEAK flags, or 0 */
	uint64_t *alloc_record;           /* nr_ids, or 0 */
	struct mm_cache_attr *cache_attr; /* latency and alignment by site and object (cache profiler), or 0 */
	/* Optional snapshots (snapshot.h): after the record that brings the count of records
	 * replayed to snap_at[k], row k of snap_rows is taken (rows of snap_stride words). */
	const uint64_t *snap_at;
	uint64_t *snap_rows;
	uint32_t nr_snap_at, snap_done, snap_stride;
	/* The fields below are used less: they come after the hot ones. */
	uint32_t *id_vote;                /* nr_ids: the remote accessors' majority vote (with id_remote) */
	uint64_t *site_frees;             /* nr_sites: frees by the allocation site of what they free, or 0
					     (with leak tracking; needs alloc_site) */
	uint32_t nr_tasks;                /* task stacks: TASK ids below it */
	uint32_t need_tasks;              /* set when a TASK record names a task >= nr_tasks: the replay stopped
					     before it, for the caller to give it need_tasks stacks and go on */
	uint32_t cpu_task[MM_MAX_CPUS];   /* per CPU: 0 its own task, else 1 + the TASK id it runs */
	/* A machine imported from a snapshot (all 0 without one). site_cache[site] is the
	 * kmem_cache whose name is the trace's string `site` (MM_NO_CACHE if none): a
	 * CACHE_CREATE of such a name is that cache. A free without an id (MM_NO_ID) is of
	 * something allocated before the trace: a PAGE_FREE takes an imported block
	 * (mm_free_imported), a CACHE_FREE one of the imported objects of the cache named by
	 * its site: imported_objs[imported_start[c] .. + imported_left[c]), the last first. */
	const uint32_t *site_cache;       /* nr_site_cache */
	uint32_t nr_site_cache;
	uint32_t nr_imported_caches;
	const uint64_t *imported_objs;    /* model addresses */
	const uint32_t *imported_start;   /* nr_imported_caches */
	uint32_t *imported_left;          /* nr_imported_caches */
	uint64_t pretrace_freed;          /* frees of what the trace did not allocate, done */
	uint64_t pretrace_skipped;        /* the same with nothing imported left to free */
};

/* id_vote: per object, a majority vote (Boyer-Moore) over the nodes of the CPUs making its
 * remote accesses: the node in the bits from MM_ID_VOTE_SHIFT up, the vote's count below (0: no
 * vote yet). It names the node most remote accesses come from whenever one makes more than half.
 * An array of its own, touched by remote accesses only. */
#define MM_ID_VOTE_SHIFT 24
#define MM_ID_VOTE_COUNT_MAX ((1u << MM_ID_VOTE_SHIFT) - 1)

#define MM_SITE_LEVELS 4
#define MM_NO_SITE 0xffffffffu
/* What a coherent access tells its caches about itself (cache_hierarchy.tag): the call site
 * above this shift, the object id (MM_NO_ID for a raw address) below it. */
#define MM_TAG_SITE_SHIFT 32

/* Latency per call site: line lookups served by each of the first MM_SITE_LEVELS levels of the
 * access path and by memory (MM_LAT_MEMORY), then the total latency in ps (MM_LAT_PS). */
#define MM_LAT_MEMORY MM_SITE_LEVELS
#define MM_LAT_PS (MM_SITE_LEVELS + 1)
#define MM_LAT_WORDS (MM_SITE_LEVELS + 2)

/* One placement of an object (alignment advice): where it is, and the bytes of it accessed. */
struct mm_align {
	uint64_t addr;          /* the object's model address, 0 before its first access */
	uint32_t cache;         /* its kmem_cache */
	uint32_t accesses;
	uint32_t split;         /* accesses that crossed a line boundary themselves */
	uint32_t field_split;   /* ... and would have if the object started a line */
	uint32_t lo, hi;        /* bytes [lo, hi) of the object accessed */
	uint32_t lines;         /* the lines those bytes span where the object is */
	uint32_t need;          /* the lines they would span if the object started a line */
};

/* Per kmem_cache, over its objects' placements: MM_ALIGN_WORDS counters. */
#define MM_ALIGN_PLACEMENTS 0
#define MM_ALIGN_STRADDLING 1     /* placements whose accessed bytes span more lines than they need */
#define MM_ALIGN_ACCESSES 2
#define MM_ALIGN_AFFECTED 3       /* accesses to the straddling placements */
#define MM_ALIGN_SPLIT 4          /* accesses that crossed a line boundary */
#define MM_ALIGN_FIELD_SPLIT 5    /* ... and would have where the object started a line */
#define MM_ALIGN_WORDS 6

struct mm_cache_attr {
	uint64_t *site_lat;     /* nr_sites * MM_LAT_WORDS, or 0 (needs timed caches) */
	uint32_t *id_served;    /* nr_ids * (MM_SITE_LEVELS + 1): lookups served per level and memory */
	uint64_t *id_ps;        /* nr_ids: total latency */
	struct mm_align *align; /* nr_ids, or 0 */
	uint64_t *cache_align;  /* nr_caches * MM_ALIGN_WORDS: placements that ended (the id was reused) */
	uint32_t nr_caches;
};

/* Where a live id's memory is (a slab object, a large kmalloc or a page allocation): its
 * model address and size. */
void mm_id_span(const struct mm_machine *m, const struct mm_id *e, uint64_t *addr, uint64_t *size);
/* The bytes behind model address addr (the zone's direct map). */
uint8_t *mm_model_bytes(struct mm_machine *m, uint64_t addr);

/* The stack CPU cpu runs: its own, or its task's. */
static inline struct mm_stack *mm_cpu_stack(const struct mm_machine *m, const struct mm_replay *r, uint32_t cpu)
{
	return &r->stacks[r->cpu_task[cpu] ? m->nr_cpus + r->cpu_task[cpu] - 1 : cpu];
}

/*
 * Move live id `id` to node nid, as a migration would: a page allocation to a new block of the
 * same order and migratetype on nid, a slab object to a new object of its cache on nid, a large
 * kmalloc to new pages on nid; the bytes are copied, the old memory freed (through cpu), and the
 * id names the new place. Pointers to the old address elsewhere are not rewritten. Returns 0,
 * -1 when id is not a live page, object or large kmalloc (or nid or cpu is out of range), -2
 * when nid has no room.
 */
int mm_replay_migrate(struct mm_machine *m, struct mm_replay *r, uint32_t id, uint32_t nid, uint32_t cpu);

/* Per kmem_cache (out: nr_caches * MM_ALIGN_WORDS, added to) the alignment counters of every
 * placement, ended or current. */
void mm_align_totals(const struct mm_replay *r, uint64_t *out);

/* Replay ops[first .. first+n); record indices count from `first`. It stops early (r->nr_records
 * says where) after a record that trips MM_BUG_ON, or before a TASK record that needs more task
 * stacks (r->need_tasks). */
void mm_replay_run(struct mm_machine *m, struct mm_replay *r, const struct mm_op *ops, uint64_t first, uint64_t n);

#endif
