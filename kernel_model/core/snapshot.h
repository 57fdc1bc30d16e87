/*
 * snapshot.h - one row of the counters profilers sample, taken by the replay loop
 * itself at given record counts (no return to the caller between samples) or on demand.
 *
 * Row layout (uint64): records, now_ns, slab pages, NUMA local accesses, NUMA remote
 * accesses; per node: free blocks per order (NR_PAGE_ORDERS), free pages, pgalloc,
 * pgfree, alloc_fail; per CPU: bytes on its stack model. kernel_model/snapshot.py reads it.
 */
#ifndef MM_SNAPSHOT_H
#define MM_SNAPSHOT_H

#include "replay.h"

#define SNAP_HEAD 5
#define SNAP_PER_NODE (NR_PAGE_ORDERS + 4)

static inline uint32_t mm_snapshot_size(const struct mm_machine *m)
{
	return SNAP_HEAD + m->nr_nodes * SNAP_PER_NODE + m->nr_cpus;
}

void mm_snapshot(const struct mm_machine *m, const struct mm_replay *r, uint64_t records, uint64_t *row);

#endif
