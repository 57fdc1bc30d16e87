/*
 * cache.h - set-associative caches, chained into hierarchies, and TLBs built from
 * the same parts.
 *
 * A level has sets x ways lines, a replacement policy (LRU, FIFO, random with a
 * seed, tree-PLRU, SRRIP), write-back or write-through, write-allocate or not,
 * and an inclusion policy towards the levels above it: non-inclusive
 * (independent), inclusive (evicting a line invalidates it above) or exclusive
 * (a victim cache: the upper level's victims fill it, a hit moves the line up).
 * A miss fetches from the next level first, then installs the line and writes a
 * dirty victim back to the next level. Optionally each level classifies its
 * misses (3C): compulsory (block never seen), conflict (a fully associative LRU
 * shadow of the same size would hit) or capacity.
 *
 * Two options for machines (both off unless asked for, so that the paths above stay as
 * they are): MESI coherence between CPUs' private levels (cache_coherence_init), and
 * access latency (cache_hierarchy_access_timed).
 */
#ifndef MM_CACHE_H
#define MM_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CACHE_NONE 0xffffffffu
#define CACHE_MAX_UPPER 64   /* e.g. the private L2s under a shared LLC */
#define CACHE_ORDER_MAX_WAYS 16   /* LRU / FIFO sets this wide keep their order in one word */
#define CACHE_PLRU_MAX_WAYS 64    /* tree-PLRU: a power of two up to this */
#define CACHE_USE_MAX_LINE 64     /* line utilisation: one bit per byte of a line */
#define CACHE_USE_BUCKETS (CACHE_USE_MAX_LINE + 1)   /* lines by bytes touched, 0 .. 64 */

/* Replacement policies, inclusion policies and access kinds, with the names a cache config
 * uses (the access kinds by lackey's letters). */
#define CACHE_POLICIES(X) \
	X(CACHE_LRU, "lru") X(CACHE_FIFO, "fifo") X(CACHE_RANDOM, "random") X(CACHE_PLRU, "plru") \
	X(CACHE_SRRIP, "srrip")
#define CACHE_INCLUSIONS(X) \
	X(CACHE_NINE, "nine") X(CACHE_INCLUSIVE, "inclusive") X(CACHE_EXCLUSIVE, "exclusive")
#define CACHE_ACCESS_KINDS(X) \
	X(ACCESS_IFETCH, "I") X(ACCESS_LOAD, "L") X(ACCESS_STORE, "S") \
	X(ACCESS_MODIFY, "M")   /* a load, then a store */

#define X(id, name) id,
enum cache_policy { CACHE_POLICIES(X) NR_CACHE_POLICIES };
enum cache_inclusion { CACHE_INCLUSIONS(X) NR_CACHE_INCLUSIONS };
enum cache_kind { CACHE_ACCESS_KINDS(X) NR_ACCESS_KINDS };
#undef X

struct cache_stats {
	uint64_t load_hits, load_misses, store_hits, store_misses;
	uint64_t evictions;            /* valid lines replaced */
	uint64_t writebacks;           /* dirty lines written to the next level */
	uint64_t back_invalidations;   /* lines removed from upper levels (inclusive) */
	uint64_t compulsory, capacity, conflict;   /* 3C of all misses, when classified */
	uint64_t coh_invalidations;    /* copies another CPU's store removed from this (private) level */
	uint64_t coh_misses;           /* misses on a line such a store took away (design.md section 10) */
};

/* The way a coherence invalidation emptied keeps the line's tag (Invalid, as in hardware) until
 * it is filled again; a miss on that line meanwhile is a coherence miss. tag and base are the
 * invalidating store's (the caller's cache_hierarchy.tag / tag_base). */
struct cache_ghost {
	uint64_t block;                /* block + 1, or 0 */
	uint64_t tag, base;
	uint32_t cpu;                  /* the CPU whose store invalidated the line */
	uint16_t lo, hi;               /* the bytes [lo, hi) of the line it stored */
};

/* Fully associative LRU shadow of the same capacity and the set of blocks ever seen. */
struct cache_shadow {
	uint32_t capacity, used, head, tail;       /* head = MRU */
	uint64_t *block;                           /* capacity entries */
	uint32_t *prev, *next;                     /* capacity entries */
	uint32_t *index;                           /* open addressing: node + 1, 0 empty */
	uint32_t index_mask;                       /* index size - 1, size >= 2 * capacity */
	uint64_t *seen;                            /* open addressing: block + 1, 0 empty */
	uint64_t seen_mask, seen_count;
};

struct cache {
	uint32_t sets, ways, line_bits, set_mask;  /* set_mask: sets - 1 when sets is a power of two, else 0 */
	uint8_t policy, write_back, write_allocate, inclusion;
	uint8_t fast;                              /* one-pass LRU lookup is safe (cache_hierarchy_prepare) */
	uint64_t *tags;                            /* sets * ways lines (block, dirty, RRPV); LRU/FIFO keep
						      MRU/newest first */
	uint64_t *plru;                            /* sets: tree bits */
	uint64_t rng;
	struct cache *next;                        /* towards memory; 0 is memory */
	struct cache *upper[CACHE_MAX_UPPER];
	uint32_t nr_upper;
	struct cache_shadow *shadow;               /* 0: no 3C classification */
	uint64_t *set_misses;                      /* sets counters for a miss heatmap, or 0 */
	uint64_t *use;                             /* per line: bytes touched by the CPU (first levels,
						      lines <= 64 B), or 0 */
	uint64_t *use_hist;                        /* CACHE_USE_BUCKETS: lines retired with n bytes touched */
	uint64_t cur_mask;                         /* bytes of the line being accessed now */
	struct cache_ghost *ghost;                 /* sets * ways, for a private level under coherence, or 0 */
	uint32_t hit_ps;                           /* latency of a lookup at this level (ps; timed access) */
	struct cache_stats st;
};

/* Geometry check: ways >= 1, power-of-two line size, PLRU needs power-of-two ways <= 64. */
int cache_geometry_ok(uint32_t sets, uint32_t ways, uint32_t line_size, uint32_t policy);
void cache_init(struct cache *c, uint32_t sets, uint32_t ways, uint32_t line_size, uint32_t policy,
		uint32_t write_back, uint32_t write_allocate, uint32_t inclusion, uint64_t seed,
		uint64_t *tags, uint64_t *plru);
/* upper's misses go to lower; lower learns about upper for inclusion. */
void cache_link(struct cache *upper, struct cache *lower);
void cache_shadow_init(struct cache *c, struct cache_shadow *sh, uint32_t capacity, uint64_t *block,
		       uint32_t *prev, uint32_t *next, uint32_t *index, uint32_t index_size,
		       uint64_t *seen, uint64_t seen_size);
/* 1 when the shadow's seen-set is half full: grow it before more accesses. */
int cache_shadow_needs_grow(const struct cache *c);
void cache_shadow_insert_seen(struct cache_shadow *sh, uint64_t block);

/* Track bytes touched per line in a first-level cache: use has sets * ways words, use_hist
 * CACHE_USE_BUCKETS. Possible when lines stay in their ways and have at most
 * CACHE_USE_MAX_LINE bytes (cache_can_track_use). */
int cache_can_track_use(const struct cache *c);
void cache_track_use(struct cache *c, uint64_t *use, uint64_t *use_hist);
/* Add the lines still resident to hist (CACHE_USE_BUCKETS) by bytes touched. */
void cache_use_resident(const struct cache *c, uint64_t *hist);

/* One access of size bytes at addr (split into lines); returns the line misses at this level. */
uint32_t cache_access(struct cache *c, uint64_t addr, uint32_t size, int is_store);
/* Write every dirty line back (towards memory), as at the end of a run. */
void cache_flush(struct cache *c);
/* Is the line holding addr in c (1) or not (0)? No side effects. */
int cache_contains(const struct cache *c, uint64_t addr);

/*
 * What one CPU sees: first-level caches for instructions and data (the same level
 * for a unified L1), and TLBs looked up with the page number (line size = page
 * size): 4 KiB pages everywhere except the huge (2 MiB) regions listed. A page
 * walk is a miss in the last TLB level.
 */
#define CACHE_MAX_HUGE 64
#define CACHE_MAX_CHAIN 8
#define CACHE_MAX_LEVELS 16

/* A level of a lean chain (see cache_hierarchy_prepare): what its lookup reads, in one place. */
struct cache_lean_level {
	uint64_t *tags, *order, *set_misses;
	uint64_t order_mask;                 /* the order word's nibbles for `ways` ways */
	uint32_t ways, set_mask, line_bits, back_shift;   /* back_shift: 4 * (ways - 1) */
	struct cache *c;
};

struct cache_lean_chain {
	uint32_t depth;                      /* 0: this chain is not lean */
	struct cache_lean_level lv[CACHE_MAX_CHAIN];
};

/*
 * Coherence misses on one line, by the pair of accesses behind them: the access that missed
 * (side 0) and the store that had invalidated its copy (side 1). Each side: its CPU, the
 * caller's tag and base (call site and object, and the object's address), and the bytes of the
 * line it touched (the hull over the pair's misses). A miss is true sharing when the two
 * accesses' bytes overlap, false sharing when they are disjoint.
 */
#define CACHE_C2C_FREE 0xffffffffffffffffull
struct cache_c2c {
	uint64_t block;                /* CACHE_C2C_FREE: an unused entry */
	uint64_t tag[2], base[2];
	uint32_t cpu[2];
	uint16_t lo[2], hi[2];
	uint64_t true_sharing, false_sharing;
};

struct cache_hierarchy;

/* The CPUs kept coherent, and the table of lines with coherence misses (open addressing). */
struct cache_coherence {
	struct cache_hierarchy *cpu;         /* nr_cpus hierarchies, one per CPU */
	uint32_t nr_cpus;
	struct cache_c2c *c2c;               /* c2c_mask + 1 entries (a power of two) */
	uint32_t c2c_mask, c2c_used;
	uint64_t c2c_dropped;                /* misses not recorded: the table was full */
};

/* What a CPU's coherence traffic did (MESI, design.md section 10). */
struct cache_coh_stats {
	uint64_t upgrades;                   /* stores to a Shared line (S -> M) */
	uint64_t invalidations_sent;         /* other CPUs' copies of a line this CPU's stores invalidated */
	uint64_t invalidations_received;     /* lines of this CPU another CPU's store invalidated */
	uint64_t transfers;                  /* lines this CPU got from another CPU's Modified copy */
	uint64_t coherence_misses;           /* line accesses that missed a line another CPU's store took */
	uint64_t true_sharing, false_sharing;   /* ... by whether the two accesses' bytes overlapped */
};

/*
 * Timed accesses (cache_hierarchy_access_timed): a lookup served by the k-th level of its path
 * costs the hit_ps of every level down to it; one served by memory costs them all plus the
 * memory latency of the page's node. Latencies by bucket: CACHE_LAT_EXACT buckets of one
 * CACHE_LAT_UNIT_PS each, then CACHE_LAT_SUB buckets per power of two (see
 * cache_latency_bucket_floor).
 */
#define CACHE_LAT_UNIT_PS 250u
#define CACHE_LAT_EXACT 8u
#define CACHE_LAT_SUB 4u
#define CACHE_LAT_BUCKETS 64u
#define CACHE_LAT_SERVED (CACHE_MAX_CHAIN + 1)   /* lookups served per level of the path, then memory */

struct cache_lat_stats {
	uint64_t accesses, total_ps;
	uint64_t served[CACHE_LAT_SERVED];   /* lookups by the level of the path that served them (memory: depth) */
	uint64_t time_ps[CACHE_LAT_SERVED];  /* ... and their latency */
	uint64_t hist[CACHE_LAT_BUCKETS];    /* accesses by latency bucket */
};

struct cache_hierarchy {
	struct cache *i1, *d1;
	struct cache *itlb, *dtlb;          /* 4 KiB pages, or 0 for no TLB model */
	struct cache *itlb_huge, *dtlb_huge; /* 2 MiB pages, or 0 */
	uint64_t huge_start[CACHE_MAX_HUGE], huge_end[CACHE_MAX_HUGE];
	uint32_t nr_huge;
	uint64_t page_walks;
	struct cache *levels[CACHE_MAX_LEVELS];   /* every level and TLB, for the grow check */
	uint32_t nr_levels;
	uint8_t fast_i, fast_d;              /* the i1 / d1 chains take the iterative LRU walk */
	struct cache_lean_chain lean_i, lean_d; /* ... and, when lean, its tightest form */
	/* coherence (cache_coherence_init): this CPU's private levels, those at the top of each
	 * chain, the first shared level below the data chain, and the tag of the next access */
	struct cache_coherence *coh;         /* 0: not kept coherent */
	uint32_t cpu;
	struct cache *priv[CACHE_MAX_CHAIN];
	uint32_t nr_priv, priv_i, priv_d;
	struct cache *shared_d;              /* where a Modified copy is written back when shared, or 0 */
	uint64_t tag, tag_base;              /* set by the caller before an access (opaque here) */
	struct cache_coh_stats coh_st;
	/* latency (timed accesses): the memory latency per node (ps), or 0 */
	const uint32_t *mem_ps;
	struct cache_lat_stats lat;
};

/* Call after wiring or changing a hierarchy (or a level's tracking): picks the fast path where it applies. */
void cache_hierarchy_prepare(struct cache_hierarchy *h);

/* Replay arrays of accesses (kind: enum cache_kind; a modify is a load then a store).
 * Stops early, returning the number of accesses done, when a level's 3C seen-set
 * must grow; otherwise returns n. */
uint64_t cache_replay(struct cache_hierarchy *h, const uint64_t *addr, const uint32_t *size,
		      const uint8_t *kind, uint64_t n);
void cache_hierarchy_access(struct cache_hierarchy *h, uint64_t addr, uint32_t size, uint32_t kind);

/*
 * Keep the hierarchies h[0 .. nr) coherent. The caller gives each level private to one CPU (reached
 * from one hierarchy only) its ghost array of sets * ways entries, zeroed; those levels must keep
 * their lines in their ways (cache_coherence_level_ok) and have the first level's line size.
 * c2c has c2c_size entries (a power of two).
 */
int cache_coherence_level_ok(const struct cache *c);
void cache_coherence_init(struct cache_coherence *coh, struct cache_hierarchy *h, uint32_t nr,
			  struct cache_c2c *c2c, uint32_t c2c_size);

/*
 * cache_hierarchy_access, timed (h->mem_ps set, paths of at most CACHE_MAX_CHAIN levels): adds
 * the access to h->lat, returns its latency (ps) and the line lookups served by each level of
 * its path and by memory (served[depth]); *depth is the path's length.
 */
uint64_t cache_hierarchy_access_timed(struct cache_hierarchy *h, uint64_t addr, uint32_t size, uint32_t kind,
				      uint32_t mem_node, uint64_t *served, uint32_t *depth);
uint32_t cache_latency_bucket(uint64_t ps);
uint64_t cache_latency_bucket_floor(uint32_t bucket);   /* the least latency (ps) in a bucket */

#endif
