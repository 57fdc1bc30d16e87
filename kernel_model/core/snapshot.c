/* snapshot.c - a row of counters (see snapshot.h). */
#include "snapshot.h"
#include "thermal.h"

void mm_snapshot(const struct mm_machine *m, const struct mm_replay *r, uint64_t records, uint64_t *row)
{
	uint32_t nid, o, cpu, t;
	uint64_t *p;

	row[SNAP_RECORDS] = records;
	row[SNAP_NOW_NS] = r->now_ns;
	row[SNAP_SLAB_PAGES] = m->slab ? mm_slab_pages(m->slab) : 0;
	row[SNAP_NUMA_LOCAL] = row[SNAP_NUMA_REMOTE] = 0;
	for (cpu = 0; cpu < m->nr_cpus; cpu++) {
		row[SNAP_NUMA_LOCAL] += m->cpu_access[cpu][MM_ACCESS_LOCAL];
		row[SNAP_NUMA_REMOTE] += m->cpu_access[cpu][MM_ACCESS_REMOTE];
	}
	for (nid = 0; nid < m->nr_nodes; nid++) {
		p = row + SNAP_HEAD + nid * SNAP_PER_NODE;
		for (o = 0; o < SNAP_PER_NODE; o++)
			p[o] = 0;
		for (t = 0; t < MAX_NR_ZONES; t++) {   /* a node's words sum its zones' */
			const struct zone *z = &m->node_data[nid].node_zones[t];

			for (o = 0; o < NR_PAGE_ORDERS; o++)
				p[o] += z->free_area[o].nr_free;
			p[SNAP_FREE_PAGES] += z->nr_free_pages;
			p[SNAP_PGALLOC] += z->stat[ZS_PGALLOC];
			p[SNAP_PGFREE] += z->stat[ZS_PGFREE];
			p[SNAP_ALLOC_FAIL] += z->stat[ZS_ALLOC_FAIL];
		}
	}
	p = row + SNAP_HEAD + m->nr_nodes * SNAP_PER_NODE;
	for (cpu = 0; cpu < m->nr_cpus; cpu++)
		p[cpu] = r->stacks ? mm_cpu_stack(m, r, cpu)->depth : 0;
	p += m->nr_cpus;
	for (nid = 0; nid < m->nr_nodes; nid++)
		p[nid] = mm_thermal_on(m) ? mm_thermal_now(m, nid) : 0;
}
