/*
 * ftrace.h - streaming importer of Linux ftrace text (/sys/kernel/tracing/trace
 * with kmem:* events) into op records (trace_ops.h). Host-only, like lackey.c:
 * not part of the firmware, but freestanding all the same: every table lives in
 * memory the caller hands in, and ft_feed stops and asks when one must grow.
 *
 * A line is "TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: FIELDS" (docs/trace-format.md,
 * "Importing Linux ftrace text", gives the exact grammar; kernel_model/reference/
 * ftrace.py is the same importer in Python). Lines starting with '#' and blank
 * lines are skipped; lines longer than FT_MAX_LINE are an error. Every field is
 * range-checked where it is used, and the first bad line stops the import with
 * an error code, the field, and the line number.
 */
#ifndef MM_FTRACE_H
#define MM_FTRACE_H

#include "mm_types.h"
#include "trace_ops.h"

#define FT_MAX_LINE 65536u                       /* bytes, without the newline */
#define FT_LINUX_MIGRATE_TYPES 6                 /* Linux 6.1's enum migratetype, with CMA and isolation */
#define FT_MAX_BYTES (PAGE_SIZE << MAX_PAGE_ORDER)   /* KMALLOC_MAX_SIZE: no kmalloc or slab object is larger */
#define FT_MAX_NS 0x7fffffffffffffffull          /* timestamps up to ~292 years */
#define FT_NONE 0xffffffffu

/* The events that become ops; every other event is counted and ignored. */
enum ft_event {
	FT_EV_OTHER,
	FT_EV_PAGE_ALLOC,        /* mm_page_alloc: pfn= order= migratetype= gfp_flags= */
	FT_EV_PAGE_FREE,         /* mm_page_free: pfn= */
	FT_EV_KMALLOC,           /* kmalloc: call_site= ptr= bytes_req= node= */
	FT_EV_KFREE,             /* kfree: call_site= ptr= */
	FT_EV_CACHE_ALLOC,       /* kmem_cache_alloc: call_site= ptr= bytes_req= bytes_alloc= node= */
	FT_EV_CACHE_FREE,        /* kmem_cache_free: call_site= ptr= name= */
	FT_NR_EVENTS
};

enum ft_field {
	FT_F_CALL_SITE, FT_F_PTR, FT_F_BYTES_REQ, FT_F_BYTES_ALLOC, FT_F_NODE, FT_F_NAME,
	FT_F_PFN, FT_F_ORDER, FT_F_MIGRATETYPE, FT_F_GFP_FLAGS,
	FT_NR_FIELDS,
	FT_F_TIMESTAMP = FT_NR_FIELDS, FT_F_CPU      /* the line's own fields, for errors */
};

enum ft_error {
	FT_OK,
	FT_ERR_NOT_EVENT,        /* the line is not an event line */
	FT_ERR_LONG_LINE,        /* longer than FT_MAX_LINE */
	FT_ERR_MISSING,          /* a field the event needs is absent */
	FT_ERR_SYNTAX,           /* not a (hexadecimal or decimal) number */
	FT_ERR_RANGE,            /* a number out of its range */
	FT_ERR_NUL,              /* a name with a NUL byte (the trace's string table is NUL-separated) */
	FT_ERR_UTF8,             /* a name that is not UTF-8 */
	FT_ERR_LIMIT,            /* a table would pass its index type (ids, names) */
	FT_NR_ERRORS
};

/* What is skipped and counted instead of emitted (in ft_event, ftrace.c). */
enum ft_skip {
	FT_SKIP_PAGE_ALLOC,      /* highatomic/CMA/isolate migratetype, or a failed allocation (pfn 0) */
	FT_SKIP_PAGE_FREE,       /* of a page allocated before the trace */
	FT_SKIP_KMALLOC_FAILED,
	FT_SKIP_CACHE_ALLOC_FAILED,
	FT_SKIP_FREE_NULL,       /* kfree(NULL), kmem_cache_free(NULL) */
	FT_SKIP_KFREE_UNKNOWN,   /* of an object allocated before the trace */
	FT_SKIP_CACHE_FREE_UNKNOWN,
	FT_NR_SKIPS
};

/*
 * The tables, each in one caller-provided buffer. ft_feed sets need/need_bytes when
 * the next line might not fit; the caller then hands in a zeroed buffer of need_bytes
 * through ft_adopt. Tables before FT_FIRST_REBUILT keep their contents: the caller
 * grows them in place (realloc), so ft_adopt only takes the new address. The others
 * are hash indexes that ft_adopt rebuilds into the new buffer (reading the old one,
 * which the caller frees afterwards).
 */
enum ft_table {
	FT_T_RECORDS, FT_T_FREE_IDS, FT_T_SITE_BYTES, FT_T_SITES, FT_T_EVENT_BYTES, FT_T_EVENTS, FT_T_CACHES,
	FT_T_PAGES, FT_T_OBJS, FT_T_CACHE_MAP, FT_T_SITE_HASH, FT_T_EVENT_HASH,
	FT_NR_TABLES
};
#define FT_FIRST_REBUILT FT_T_PAGES

struct ft_slot {                 /* an open-addressing hash slot; key 0 is empty */
	uint64_t key;
	uint32_t id;
	uint32_t val;
};

struct ft_map {
	struct ft_slot *slot;
	uint32_t mask;                /* slots - 1 (slots a power of two), 0 before the first buffer */
	uint32_t count;
};

struct ft_str {
	uint32_t off, len;            /* in the table's bytes */
	uint32_t tag;                 /* events: enum ft_event */
	uint32_t pad;
	uint64_t count;               /* events: lines seen */
};

/* Interned strings, indexed in order of arrival. An entry may be renamed (a kmem_cache's
 * placeholder once a free names it): its old hash slot then goes stale, which lookups
 * tolerate because they compare the entry's current string. */
struct ft_strtab {
	uint8_t *bytes;
	size_t bytes_len, bytes_cap;
	struct ft_str *ent;
	uint32_t nr, ent_cap;
	uint32_t *hash;               /* entry index + 1; 0 is empty */
	uint32_t hash_mask, hash_used;
};

struct ft_cache {
	uint32_t id;                  /* the CACHE_CREATE's trace id */
	uint32_t placeholder;         /* its site while unnamed ("kmem_cache-REQ/ALLOC"), FT_NONE once named */
};

struct ft_parser {
	struct mm_op *rec;
	size_t nr_rec, rec_cap;
	struct ft_map pages;          /* live pages: pfn -> id, order */
	struct ft_map objs;           /* live objects: ptr -> id, cache index + 1 (0: kmalloc) */
	struct ft_map cache_map;      /* (bytes_req, bytes_alloc) + 1 -> cache index */
	struct ft_cache *caches;
	uint32_t nr_caches, caches_cap;
	uint32_t *free_ids;           /* ids of freed objects, reused last-freed first */
	uint32_t nr_free, free_cap;
	uint32_t next_id;
	struct ft_strtab sites;       /* the trace's string table; site 0 is "" */
	struct ft_strtab events;      /* every event name seen, with its count */
	uint64_t skipped[FT_NR_SKIPS];
	uint8_t skip_order[FT_NR_SKIPS];   /* skip kinds in order of first occurrence */
	uint32_t nr_skip_kinds;
	uint64_t last_ns;
	uint32_t have_ns;
	uint32_t nr_cpus;             /* highest CPU in a record + 1 */

	uint64_t line;                /* lines consumed */
	uint64_t error_line;          /* 1-based line of the error, 0 if none */
	uint32_t error, error_field, error_event;   /* enum ft_error, enum ft_field, events index */
	uint32_t need;                /* enum ft_table + 1 to grow, 0 if none */
	size_t need_bytes;
};

extern const char *const ft_event_names[FT_NR_EVENTS];
extern const char *const ft_field_names[FT_F_CPU + 1];
extern const char *const ft_skip_names[FT_NR_SKIPS];   /* as the import's summary shows them */

/* Parse and convert the complete lines of buf[0..len) (with final set, the last line
 * may lack its newline). Returns the bytes consumed; the caller keeps the rest for the
 * next call. Stops at the first bad line (error set) or when a table must grow (need set). */
size_t ft_feed(struct ft_parser *p, const char *buf, size_t len, int final);

/* Hand in table t's new buffer (zeroed, `bytes` long); clears need. */
void ft_adopt(struct ft_parser *p, uint32_t t, void *mem, size_t bytes);

/* Linux's zone modifier bits (___GFP_DMA 0x1, ___GFP_HIGHMEM 0x2, ___GFP_DMA32 0x4,
 * ___GFP_MOVABLE 0x8) of a gfp_flags= text as show_gfp_flags prints it: what gfp_zone()
 * needs for an allocation's highest zone (not carried in the records yet). */
uint32_t ft_gfp_zone_bits(const char *s, size_t len);

#endif
