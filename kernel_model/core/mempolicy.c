/* mempolicy.c - memory policies (see mempolicy.h); the page allocator does the allocating. */
#include "mempolicy.h"
#include "mm_math.h"
#include "page_alloc.h"
#include "thermal.h"

void mm_mempolicy_init(struct mm_machine *m)
{
	uint32_t cpu, nid;

	for (cpu = 0; cpu < MM_MAX_CPUS; cpu++) {
		m->policy[cpu].mode = MPOL_DEFAULT;
		m->policy[cpu].il_prev = -1;
		for (nid = 0; nid < MM_MAX_NODES; nid++)
			m->policy[cpu].weights[nid] = 1;
	}
	m->access_window = m->window_left = MM_ACCESS_WINDOW;
}

/* next_node_in: the next node of mask after prev (-1: from the start), wrapping round. */
static uint32_t next_node_in(int32_t prev, uint64_t mask)
{
	uint64_t above = mask;

	MM_BUG_ON(!mask);
	if (prev >= 63)
		above = 0;
	else if (prev >= 0)
		above = mask & ~((2ull << prev) - 1);
	return mm_ctz64(above ? above : mask);
}

/* interleave_nodes / weighted_interleave_nodes. */
static uint32_t interleave_node(struct mempolicy *pol)
{
	uint32_t node;

	if (pol->mode == MPOL_INTERLEAVE) {
		node = next_node_in(pol->il_prev, pol->nodes);
		pol->il_prev = (int16_t)node;
		return node;
	}
	node = pol->il_prev < 0 ? 0 : (uint32_t)pol->il_prev;
	if (!pol->il_weight || pol->il_prev < 0 || !((pol->nodes >> node) & 1)) {
		node = next_node_in(pol->il_prev, pol->nodes);
		pol->il_prev = (int16_t)node;
		pol->il_weight = pol->weights[node];
	}
	pol->il_weight--;
	return node;
}

/*
 * The thermal policy: the local zonelist order over the allowed nodes at or below the thermal
 * model's throttle temperature; when every allowed node is above it, the coolest allowed node
 * first (the lowest node number of equals), then the rest of its zonelist.
 */
static uint32_t thermal_alloc(struct mm_machine *m, uint32_t order, uint32_t mt, uint32_t cpu, uint64_t allowed)
{
	const struct mm_thermal *t = &m->thermal;
	uint64_t cool = 0;
	uint32_t n, coolest = mm_ctz64(allowed);

	mm_thermal_sync(m);
	for (n = 0; n < m->nr_nodes; n++) {
		if (!((allowed >> n) & 1))
			continue;
		if (t->temp[n] <= t->throttle)
			cool |= 1ull << n;
		if (t->temp[n] < t->temp[coolest])
			coolest = n;
	}
	if (cool)
		return mm_alloc_pages_nodemask(m, order, mt, cpu, m->cpu_to_node[cpu], cool, 1);
	return mm_alloc_pages_nodemask(m, order, mt, cpu, coolest, allowed, 1);
}

uint32_t mm_alloc_pages_policy(struct mm_machine *m, uint32_t order, uint32_t mt, uint32_t cpu)
{
	uint64_t all = mm_all_nodes(m);
	uint32_t local = m->cpu_to_node[cpu], pfn, target;
	struct mempolicy *pol = &m->policy[cpu];

	switch (pol->mode) {
	case MPOL_PREFERRED:
		return mm_alloc_pages_nodemask(m, order, mt, cpu, mm_ctz64(pol->nodes), all, 1);
	case MPOL_BIND:
		return mm_alloc_pages_nodemask(m, order, mt, cpu, local, pol->nodes, 1);
	case MPOL_PREFERRED_MANY:
		/* alloc_pages_preferred_many: the policy's nodes quietly first, then any */
		pfn = mm_alloc_pages_nodemask(m, order, mt, cpu, local, pol->nodes, 0);
		return pfn != PFN_NONE ? pfn : mm_alloc_pages_nodemask(m, order, mt, cpu, local, all, 1);
	case MPOL_INTERLEAVE:
	case MPOL_WEIGHTED_INTERLEAVE:
		target = interleave_node(pol);
		pfn = mm_alloc_pages_nodemask(m, order, mt, cpu, target, all, 1);
		if (pfn != PFN_NONE && mm_pfn_to_nid(m, pfn) == (int32_t)target)
			mm_pfn_zone(m, pfn)->numa[NUMA_INTERLEAVE_HIT]++;
		return pfn;
	case MPOL_ACCESS_AWARE: {
		uint64_t cool = 0;
		uint32_t n;

		for (n = 0; n < m->nr_nodes; n++)
			if (m->node_recent[n] <= pol->threshold)
				cool |= 1ull << n;
		return mm_alloc_pages_nodemask(m, order, mt, cpu, local, cool ? cool : all, 1);
	}
	case MPOL_THERMAL:
		return thermal_alloc(m, order, mt, cpu, pol->nodes ? pol->nodes : all);
	default:   /* default and local */
		return mm_alloc_pages_nodemask(m, order, mt, cpu, local, all, 1);
	}
}

void mm_note_access(struct mm_machine *m, uint32_t node)
{
	uint32_t n;

	MM_BUG_ON(node >= m->nr_nodes);
	m->node_recent[node]++;
	if (m->access_window && !--m->window_left) {
		for (n = 0; n < m->nr_nodes; n++)
			m->node_recent[n] >>= 1;
		m->window_left = m->access_window;
	}
}

int mm_set_mempolicy(struct mm_machine *m, uint32_t cpu, uint32_t mode, uint64_t nodes)
{
	struct mempolicy *pol;

	if (cpu >= m->nr_cpus || mode >= MPOL_MAX || (mode != MPOL_ACCESS_AWARE && (nodes & ~mm_all_nodes(m))))
		return -1;
	if (!nodes && mode != MPOL_DEFAULT && mode != MPOL_LOCAL && mode != MPOL_ACCESS_AWARE && mode != MPOL_THERMAL)
		return -1;
	pol = &m->policy[cpu];
	pol->mode = (uint8_t)mode;
	pol->nodes = mode == MPOL_ACCESS_AWARE ? 0 : nodes;
	pol->il_prev = -1;
	pol->il_weight = 0;
	if (mode == MPOL_ACCESS_AWARE)
		pol->threshold = (uint32_t)nodes;   /* this mode's argument is the threshold */
	return 0;
}

int mm_set_il_weight(struct mm_machine *m, uint32_t cpu, uint32_t node, uint32_t weight)
{
	if (cpu >= m->nr_cpus || node >= m->nr_nodes || !weight || weight > 255)
		return -1;
	m->policy[cpu].weights[node] = (uint8_t)weight;
	return 0;
}
