/*
 * cachegrind.h - a cache simulator that reproduces valgrind 3.19 cachegrind's
 * I1/D1/LL counts (cachegrind/cg_sim.c) from a trace of the same run:
 * split I1 and D1, unified LL looked up only on an L1 miss; set = block &
 * (sets - 1) with the block number as tag; tags start at zero; LRU kept as
 * move-to-front with the MRU way checked first; writes behave like reads (no
 * dirty state); an access straddling two lines looks up both but counts one
 * access and at most one miss; a modify counts as one read.
 */
#ifndef MM_CACHEGRIND_H
#define MM_CACHEGRIND_H

#include <stddef.h>
#include <stdint.h>

struct cg_cache {
	uint32_t sets;
	uint32_t assoc;
	uint32_t line_size;
	uint32_t line_size_bits;
	uint64_t *tags;            /* sets * assoc, MRU first within a set */
};

/* Cachegrind's events, in its order and with its names. */
#define CG_EVENTS(X) \
	X(CG_Ir, "Ir") X(CG_I1mr, "I1mr") X(CG_ILmr, "ILmr") \
	X(CG_Dr, "Dr") X(CG_D1mr, "D1mr") X(CG_DLmr, "DLmr") \
	X(CG_Dw, "Dw") X(CG_D1mw, "D1mw") X(CG_DLmw, "DLmw")

enum cg_event {
#define X(id, name) id,
	CG_EVENTS(X)
#undef X
	NR_CG_EVENTS
};

struct cg_sim {
	struct cg_cache I1, D1, LL;
	uint64_t ev[NR_CG_EVENTS];
};

/* cachegrind's limits (cg_arch.c): valgrind parses each of size, assoc and line size as an
 * Int, and a line must be long enough that no instruction straddles three lines. */
#define CG_MAX_PARAM 0x7fffffffu
#define CG_MIN_LINE_SIZE 16

/* Tags needed by a cache of this geometry, or 0 if cachegrind would refuse it (a parameter
 * out of range, line size or set count not a power of two, size not sets * assoc * line,
 * or not larger than one line). */
uint64_t cg_cache_tags_needed(uint64_t size, uint64_t assoc, uint64_t line_size);
/* A geometry cg_cache_tags_needed accepts; tags has that many entries. */
void cg_cache_init(struct cg_cache *c, uint32_t size, uint32_t assoc, uint32_t line_size, uint64_t *tags);

void cg_instr(struct cg_sim *s, uint64_t addr, uint32_t size);
void cg_read(struct cg_sim *s, uint64_t addr, uint32_t size);
void cg_write(struct cg_sim *s, uint64_t addr, uint32_t size);

#endif
