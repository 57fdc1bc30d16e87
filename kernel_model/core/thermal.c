/* thermal.c - the per-node thermal model (see thermal.h). */
#include "mm_math.h"
#include "thermal.h"

/* round(65536 * 2^(-i/64)), i = 0..63: one step of cooling is a multiply by entry 1. */
static const uint32_t decay_q16[MM_THERMAL_STEPS] = {
	65536, 64830, 64132, 63441, 62757, 62081, 61413, 60751,
	60097, 59449, 58809, 58176, 57549, 56929, 56316, 55709,
	55109, 54515, 53928, 53347, 52773, 52204, 51642, 51085,
	50535, 49991, 49452, 48920, 48393, 47871, 47356, 46846,
	46341, 45842, 45348, 44859, 44376, 43898, 43425, 42958,
	42495, 42037, 41584, 41136, 40693, 40255, 39821, 39392,
	38968, 38548, 38133, 37722, 37316, 36914, 36516, 36123,
	35734, 35349, 34968, 34591, 34219, 33850, 33486, 33125,
};

/* The pages a node's allocator has handed out: its zones' pgalloc. */
static inline uint64_t node_pgalloc(const struct mm_machine *m, uint32_t nid)
{
	uint64_t n = 0;
	uint32_t zt;

	for (zt = 0; zt < MAX_NR_ZONES; zt++)
		n += m->node_data[nid].node_zones[zt].stat[ZS_PGALLOC];
	return n;
}

int mm_thermal_setup(struct mm_machine *m, uint32_t heat_access, uint32_t heat_page, uint64_t half_life_ns,
		     uint64_t throttle)
{
	struct mm_thermal *t = &m->thermal;
	uint32_t nid;

	if ((heat_access || heat_page) && (!half_life_ns || half_life_ns % MM_THERMAL_STEPS))
		return -1;
	mm_memzero(t, sizeof(*t));
	t->heat_access = heat_access;
	t->heat_page = heat_page;
	t->half_life_ns = half_life_ns;
	t->throttle = throttle;
	for (nid = 0; nid < m->nr_nodes; nid++) {
		t->access_seen[nid] = m->node_access[nid];
		t->pgalloc_seen[nid] = node_pgalloc(m, nid);
	}
	return 0;
}

/* count * heat, saturating at MM_THERMAL_MAX. */
static uint64_t heat_of(uint64_t count, uint32_t heat)
{
	if (heat && count > mm_div64_u64(MM_THERMAL_MAX, heat))
		return MM_THERMAL_MAX;
	return count * heat;
}

uint64_t mm_thermal_now(const struct mm_machine *m, uint32_t nid)
{
	const struct mm_thermal *t = &m->thermal;
	uint64_t add = heat_of(m->node_access[nid] - t->access_seen[nid], t->heat_access);

	add += heat_of(node_pgalloc(m, nid) - t->pgalloc_seen[nid], t->heat_page);
	return add >= MM_THERMAL_MAX - t->temp[nid] ? MM_THERMAL_MAX : t->temp[nid] + add;
}

void mm_thermal_sync(struct mm_machine *m)
{
	struct mm_thermal *t = &m->thermal;
	uint32_t nid;

	if (!mm_thermal_on(m))
		return;
	for (nid = 0; nid < m->nr_nodes; nid++) {
		t->temp[nid] = mm_thermal_now(m, nid);
		if (t->temp[nid] > t->peak[nid])
			t->peak[nid] = t->temp[nid];
		t->access_seen[nid] = m->node_access[nid];
		t->pgalloc_seen[nid] = node_pgalloc(m, nid);
	}
}

void mm_thermal_advance(struct mm_machine *m, uint64_t ns)
{
	struct mm_thermal *t = &m->thermal;
	uint64_t step, steps;
	uint32_t nid, halvings, frac;

	if (!mm_thermal_on(m) || !ns)
		return;
	mm_thermal_sync(m);
	for (nid = 0; nid < m->nr_nodes; nid++)
		if (t->temp[nid] > t->throttle)
			t->throttled_ns[nid] += ns;
	step = t->half_life_ns / MM_THERMAL_STEPS;   /* by a constant power of two: a shift */
	if (ns > ~0ull - t->carry_ns)
		ns = ~0ull - t->carry_ns;                 /* 584 years of TIME at once: cold anyway */
	steps = mm_div64_u64_rem(t->carry_ns + ns, step, &t->carry_ns);
	if (!steps)
		return;
	halvings = steps / MM_THERMAL_STEPS >= 64 ? 64 : (uint32_t)(steps / MM_THERMAL_STEPS);
	frac = (uint32_t)(steps % MM_THERMAL_STEPS);
	for (nid = 0; nid < m->nr_nodes; nid++)
		t->temp[nid] = halvings >= 64 ? 0 : ((t->temp[nid] >> halvings) * decay_q16[frac]) >> 16;
}
