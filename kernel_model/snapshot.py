"""Samples of the counters profilers read, in the row layout of core/snapshot.h.

The replay loop takes them itself at the record counts it is given (Machine.replay(...,
snapshot_at=...)), so sampling every few thousand records costs next to nothing (`memsim
bench overhead`); Machine.snapshot() takes one now. A Snapshots holds k rows and hands out
columns, so profilers take a whole batch with a few numpy operations.
"""

from __future__ import annotations

import numpy as np

from kernel_model._core import (
    SNAP_ALLOC_FAIL,
    SNAP_FREE_PAGES,
    SNAP_HEAD,
    SNAP_NOW_NS,
    SNAP_NUMA_LOCAL,
    SNAP_NUMA_REMOTE,
    SNAP_PER_NODE,
    SNAP_PGALLOC,
    SNAP_PGFREE,
    SNAP_RECORDS,
    SNAP_SLAB_PAGES,
)
from kernel_model.mm import NR_PAGE_ORDERS


class Snapshots:
    """k samples: rows is a uint64 array [k, size(nodes, cpus)]; each property is [k, ...]."""

    __slots__ = ("rows", "nodes", "cpus")

    def __init__(self, rows: np.ndarray, nodes: int, cpus: int) -> None:
        self.rows, self.nodes, self.cpus = rows.reshape(-1, self.size(nodes, cpus)), nodes, cpus

    @staticmethod
    def size(nodes: int, cpus: int) -> int:
        return SNAP_HEAD + nodes * SNAP_PER_NODE + cpus + nodes

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def records(self) -> np.ndarray:
        """Records replayed when each was taken."""
        return self.rows[:, SNAP_RECORDS]

    @property
    def now_ns(self) -> np.ndarray:
        return self.rows[:, SNAP_NOW_NS]

    @property
    def slab_pages(self) -> np.ndarray:
        return self.rows[:, SNAP_SLAB_PAGES]

    @property
    def numa_local(self) -> np.ndarray:
        return self.rows[:, SNAP_NUMA_LOCAL]

    @property
    def numa_remote(self) -> np.ndarray:
        return self.rows[:, SNAP_NUMA_REMOTE]

    def _nodes(self) -> np.ndarray:
        return self.rows[:, SNAP_HEAD:SNAP_HEAD + self.nodes * SNAP_PER_NODE].reshape(-1, self.nodes, SNAP_PER_NODE)

    @property
    def free_blocks(self) -> np.ndarray:
        """Free blocks per node and order (all migratetypes): [k, node, order]."""
        return self._nodes()[:, :, :NR_PAGE_ORDERS]

    @property
    def free_pages(self) -> np.ndarray:
        return self._nodes()[:, :, SNAP_FREE_PAGES]

    @property
    def pgalloc(self) -> np.ndarray:
        return self._nodes()[:, :, SNAP_PGALLOC]

    @property
    def pgfree(self) -> np.ndarray:
        return self._nodes()[:, :, SNAP_PGFREE]

    @property
    def alloc_fail(self) -> np.ndarray:
        return self._nodes()[:, :, SNAP_ALLOC_FAIL]

    @property
    def stack_depth(self) -> np.ndarray:
        """Bytes on the stack model of the task each CPU runs (0 unless stacks are modelled): [k, cpu]."""
        start = SNAP_HEAD + self.nodes * SNAP_PER_NODE
        return self.rows[:, start:start + self.cpus]

    @property
    def temperature(self) -> np.ndarray:
        """Each node's temperature in millidegrees above ambient (0 unless the thermal model is
        on, kernel_model/core/thermal.h): [k, node]."""
        return self.rows[:, SNAP_HEAD + self.nodes * SNAP_PER_NODE + self.cpus:]
