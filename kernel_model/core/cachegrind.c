/* cachegrind.c - cachegrind-compatible cache simulation (see cachegrind.h). */
#include "cachegrind.h"
#include "mm_math.h"

uint64_t cg_cache_tags_needed(uint64_t size, uint64_t assoc, uint64_t line_size)
{
	uint64_t set_bytes;
	uint32_t sets;

	if (!size || !assoc || size > CG_MAX_PARAM || assoc > CG_MAX_PARAM || line_size > CG_MAX_PARAM)
		return 0;
	if (!mm_is_power_of_2(line_size) || line_size < CG_MIN_LINE_SIZE || size <= line_size)
		return 0;
	set_bytes = assoc * line_size;   /* < 2^62: no overflow */
	if (set_bytes > size || (uint32_t)size % (uint32_t)set_bytes)
		return 0;
	sets = (uint32_t)size / (uint32_t)set_bytes;
	return mm_is_power_of_2(sets) ? (uint64_t)sets * assoc : 0;
}

void cg_cache_init(struct cg_cache *c, uint32_t size, uint32_t assoc, uint32_t line_size, uint64_t *tags)
{
	uint64_t i, n;

	MM_BUG_ON(!cg_cache_tags_needed(size, assoc, line_size));
	c->assoc = assoc;
	c->line_size = line_size;
	c->sets = size / line_size / assoc;
	c->line_size_bits = mm_ilog2(line_size);
	c->tags = tags;
	n = (uint64_t)c->sets * assoc;
	for (i = 0; i < n; i++)
		c->tags[i] = 0;   /* cachegrind's tags start at zero, not invalid */
}

/* Look up one line; move it to the front (MRU). Returns 1 on a miss. */
static inline int setref_is_miss(struct cg_cache *c, uint32_t set_no, uint64_t tag)
{
	uint64_t *set = &c->tags[(uint64_t)set_no * c->assoc];
	uint32_t i, j;

	if (tag == set[0])
		return 0;
	for (i = 1; i < c->assoc; i++) {
		if (tag == set[i]) {
			for (j = i; j > 0; j--)
				set[j] = set[j - 1];
			set[0] = tag;
			return 0;
		}
	}
	for (j = c->assoc - 1; j > 0; j--)
		set[j] = set[j - 1];
	set[0] = tag;
	return 1;
}

/* One access: both lines when it straddles two, one miss at most. */
static inline int ref_is_miss(struct cg_cache *c, uint64_t a, uint32_t size)
{
	uint64_t block1 = a >> c->line_size_bits;
	uint64_t block2 = (a + size - 1) >> c->line_size_bits;
	uint32_t set1 = (uint32_t)block1 & (c->sets - 1);

	if (block1 == block2)
		return setref_is_miss(c, set1, block1);
	if (setref_is_miss(c, set1, block1)) {
		setref_is_miss(c, (uint32_t)block2 & (c->sets - 1), block2);
		return 1;
	}
	return setref_is_miss(c, (uint32_t)block2 & (c->sets - 1), block2);
}

/* One reference through an L1 and then LL; ev is the first of three events
 * (refs, L1 misses, LL misses), which cachegrind keeps side by side. */
static inline void doref(struct cg_sim *s, struct cg_cache *l1, enum cg_event ev, uint64_t addr, uint32_t size)
{
	s->ev[ev]++;
	if (ref_is_miss(l1, addr, size)) {
		s->ev[ev + 1]++;
		if (ref_is_miss(&s->LL, addr, size))
			s->ev[ev + 2]++;
	}
}

void cg_instr(struct cg_sim *s, uint64_t addr, uint32_t size)
{
	doref(s, &s->I1, CG_Ir, addr, size);
}

void cg_read(struct cg_sim *s, uint64_t addr, uint32_t size)
{
	doref(s, &s->D1, CG_Dr, addr, size);
}

void cg_write(struct cg_sim *s, uint64_t addr, uint32_t size)
{
	doref(s, &s->D1, CG_Dw, addr, size);
}
