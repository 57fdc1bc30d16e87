"""Fragmentation analyzer: Linux's extfrag and unusable free index per order and node over time,
the largest free block, order-9 (THP-sized) availability and a 0-100 health score.

Health score (documented contract): 100 * (1 - unusable_free_index(order 9) / 1000), i.e. the
share of free memory usable for a 2 MiB block, averaged over nodes with free memory; 100 means
every free page sits in a block of order >= 9.

At the end it also reports, per node, the pageblocks holding foreign allocations (mixed) and
what one full compaction pass would achieve (sim/profilers/compaction.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kernel_model import extfrag_index, unusable_free_index
from kernel_model.mm import NR_PAGE_ORDERS, PAGEBLOCK_ORDER
from kernel_model.snapshot import Snapshots
from sim.profilers.compaction import compaction_what_if, mixed_pageblocks
from sim.profilers.sampling import Sampling

VERSION = 1


@dataclass
class FragmentationProfiler(Sampling):
    machine: object
    max_points: int = 200
    _records: list[int] = field(default_factory=list)
    _snapshots: list[np.ndarray] = field(default_factory=list)   # [node, order] free blocks

    def take(self, snaps: Snapshots) -> None:
        self._records.extend(snaps.records.tolist())
        self._snapshots.extend(snaps.free_blocks.copy())
        while len(self._records) > self.max_points:   # keep every other snapshot (they are states, not sums)
            self._records, self._snapshots = self._records[1::2], self._snapshots[1::2]

    def _layout(self) -> dict:
        """Mixed pageblocks and the compaction what-if of the machine as it is now, per node."""
        mixed, what_if = {}, {}
        for n in range(self.machine.nodes):
            if not self.machine.node_pages[n]:
                continue
            codes, start = self.machine.page_map(n), self.machine.node_start_pfn(n)
            mts = self.machine.pageblock_migratetypes(n)
            mixed[n] = mixed_pageblocks(codes, start, mts)
            what_if[n] = compaction_what_if(codes, start, mts)
        return {"mixed_pageblocks": mixed, "compaction_what_if": what_if}

    def result(self) -> dict:
        nodes = self.machine.nodes
        series = []
        for snap in self._snapshots:
            per_node = []
            for n in range(nodes):
                counts = snap[n].tolist()
                free = sum(c << o for o, c in enumerate(counts))
                per_node.append({
                    "free_pages": free,
                    "largest_free_order": max((o for o, c in enumerate(counts) if c), default=-1),
                    "free_blocks_order_ge_9": sum(counts[PAGEBLOCK_ORDER:]),
                    "extfrag_index": [extfrag_index(counts, o) for o in range(NR_PAGE_ORDERS)],
                    "unusable_index": [unusable_free_index(counts, o) for o in range(NR_PAGE_ORDERS)],
                })
            series.append(per_node)
        last = series[-1] if series else []
        scored = [p for p in last if p["free_pages"]]
        health = (sum(100 * (1 - p["unusable_index"][PAGEBLOCK_ORDER] / 1000) for p in scored) / len(scored)
                  if scored else 0.0)
        return {
            "version": VERSION,
            "unit": "indices in thousandths (Linux), pages, blocks",
            "records": self._records,
            "series": series,
            "final": last,
            "pageblocks": {n: self.machine.pageblock_counts(n) for n in range(nodes)},
            **self._layout(),
            "health_score": round(health, 1),
        }
