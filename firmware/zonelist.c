/* zonelist.c - Linux's build_zonelists / find_next_best_node (mm/page_alloc.c), as in
 * kernel_model/zonelist.py: local node first, then by distance, ties round-robin. */
#include "results.h"
#include "zonelist.h"

#define PENALTY_FOR_NODE_WITH_CPUS 1
#define MAX_NUMNODES 64

static int next_best(uint32_t local, uint8_t *used, const struct fw_results *r, const uint32_t *load)
{
	uint32_t node, best_val = 0xffffffffu;
	int best = -1;

	if (!used[local]) {
		used[local] = 1;
		return (int)local;
	}
	for (node = 0; node < r->nr_nodes; node++) {
		uint32_t val;

		if (used[node] || !r->node[node].spanned_pages)
			continue;
		val = r->distance[local][node] + (node < local);
		if (r->node[node].nr_cpus)
			val += PENALTY_FOR_NODE_WITH_CPUS;
		val = val * (r->nr_nodes > MAX_NUMNODES ? r->nr_nodes : MAX_NUMNODES) + load[node];
		if (val < best_val) {
			best_val = val;
			best = (int)node;
		}
	}
	if (best >= 0)
		used[best] = 1;
	return best;
}

void build_zonelists(struct fw_results *r)
{
	uint32_t load[FW_MAX_NODES] = { 0 }, local, n, k;

	for (local = 0; local < r->nr_nodes; local++) {
		uint8_t used[FW_MAX_NODES] = { 0 };
		uint32_t prev = local;
		int node;

		n = 0;
		while ((node = next_best(local, used, r, load)) >= 0) {
			if (r->distance[local][node] != r->distance[local][prev])
				load[node]++;
			r->node[local].zonelist[n++] = (uint8_t)node;
			prev = (uint32_t)node;
		}
		for (k = 0; k < r->nr_nodes; k++)   /* then the rest (memoryless nodes), as the host pads */
			if (!used[k])
				r->node[local].zonelist[n++] = (uint8_t)k;
	}
}
