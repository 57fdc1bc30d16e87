/*
 * snapshot.h - one row of the counters profilers sample, taken by the replay loop
 * itself at given record counts (no return to the caller between samples) or on demand.
 *
 * Row layout (uint64): the SNAP_HEAD words below; per node SNAP_PER_NODE words (free
 * blocks per order, then the node words below); per CPU: bytes on the stack model of the task
 * it runs; per node: its temperature (core/thermal.h; 0 while the model is off).
 * kernel_model/snapshot.py reads it.
 */
#ifndef MM_SNAPSHOT_H
#define MM_SNAPSHOT_H

#include "replay.h"

enum snap_head_word {
	SNAP_RECORDS,          /* records replayed */
	SNAP_NOW_NS,           /* simulated time */
	SNAP_SLAB_PAGES,       /* pages held by slabs */
	SNAP_NUMA_LOCAL,       /* accesses to the CPU's own node */
	SNAP_NUMA_REMOTE,      /* accesses to another node */
	SNAP_HEAD
};

/* A node's words, after its NR_PAGE_ORDERS free block counts. */
enum snap_node_word {
	SNAP_FREE_PAGES = NR_PAGE_ORDERS,
	SNAP_PGALLOC,
	SNAP_PGFREE,
	SNAP_ALLOC_FAIL,
	SNAP_PER_NODE
};

static inline uint32_t mm_snapshot_size(const struct mm_machine *m)
{
	return SNAP_HEAD + m->nr_nodes * SNAP_PER_NODE + m->nr_cpus + m->nr_nodes;
}

void mm_snapshot(const struct mm_machine *m, const struct mm_replay *r, uint64_t records, uint64_t *row);

#endif
