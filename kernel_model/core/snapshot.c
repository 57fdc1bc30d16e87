/* snapshot.c - a row of counters (see snapshot.h). */
#include "snapshot.h"

void mm_snapshot(const struct mm_machine *m, const struct mm_replay *r, uint64_t records, uint64_t *row)
{
	uint32_t nid, o, cpu;
	uint64_t *p;

	row[0] = records;
	row[1] = r->now_ns;
	row[2] = m->slab ? mm_slab_pages(m->slab) : 0;
	row[3] = row[4] = 0;
	for (cpu = 0; cpu < m->nr_cpus; cpu++) {
		row[3] += m->cpu_access[cpu][0];
		row[4] += m->cpu_access[cpu][1];
	}
	for (nid = 0; nid < m->nr_nodes; nid++) {
		const struct zone *z = &m->zones[nid];

		p = row + SNAP_HEAD + nid * SNAP_PER_NODE;
		for (o = 0; o < NR_PAGE_ORDERS; o++)
			p[o] = z->free_area[o].nr_free;
		p[NR_PAGE_ORDERS] = z->nr_free_pages;
		p[NR_PAGE_ORDERS + 1] = z->stat[ZS_PGALLOC];
		p[NR_PAGE_ORDERS + 2] = z->stat[ZS_PGFREE];
		p[NR_PAGE_ORDERS + 3] = z->stat[ZS_ALLOC_FAIL];
	}
	p = row + SNAP_HEAD + m->nr_nodes * SNAP_PER_NODE;
	for (cpu = 0; cpu < m->nr_cpus; cpu++)
		p[cpu] = r->stacks ? r->stacks[cpu].depth : 0;
}
