"""Fragmentation analyzer: Linux's extfrag and unusable free index per order and node over time,
the largest free block, order-9 (THP-sized) availability and a 0-100 health score.

Health score (documented contract): 100 * (1 - unusable_free_index(order 9) / 1000), i.e. the
share of free memory usable for a 2 MiB block, averaged over nodes with free memory; 100 means
every free page sits in a block of order >= 9.

At the end it also reports, per node, the pageblocks holding foreign allocations (mixed) and
what one full compaction pass would achieve (sim/profilers/compaction.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kernel_model import Machine, extfrag_index, unusable_free_index
from kernel_model.mm import NR_PAGE_ORDERS, PAGEBLOCK_ORDER
from kernel_model.snapshot import Snapshots
from sim.profilers.compaction import compaction_what_if, mixed_pageblocks
from sim.profilers.registry import LineChart, Profiler, register
from sim.profilers.sampling import Sampling
from sim.profilers.series import Series

VERSION = 1


@dataclass
class FragmentationProfiler(Sampling):
    machine: Machine
    max_points: int = 200
    _series: Series = field(init=False)

    def __post_init__(self) -> None:
        self._series = Series(states=("free_blocks",), max_points=self.max_points)   # [node, order] per sample

    def take(self, snaps: Snapshots) -> None:
        self._series.extend(snaps.records.tolist(), free_blocks=snaps.free_blocks.copy())

    def free_blocks_order_ge_9(self) -> int:
        """Free blocks of order >= 9 over all nodes at the latest snapshot."""
        return int(self._series["free_blocks"][-1][:, PAGEBLOCK_ORDER:].sum()) if len(self._series) else 0

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
        for snap in self._series["free_blocks"]:
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
            "records": self._series.records,
            "series": series,
            "final": last,
            "pageblocks": {n: self.machine.pageblock_counts(n) for n in range(nodes)},
            **self._layout(),
            "health_score": round(health, 1),
        }


def _summary(r: dict) -> str:
    final = r["final"]
    return (f"{sum(p['free_blocks_order_ge_9'] for p in final):>14,} {r['health_score']:>7.1f} "
            f"{'/'.join(str(p['unusable_index'][PAGEBLOCK_ORDER]) for p in final):>12}")


def _charts(results: Mapping[str, dict]) -> list[LineChart]:
    order9 = {name: (r["records"], [sum(p["free_blocks_order_ge_9"] for p in snap) for snap in r["series"]])
              for name, r in results.items()}
    unusable = {name: (r["records"], [max(p["unusable_index"][PAGEBLOCK_ORDER] for p in snap) for snap in r["series"]])
                for name, r in results.items()}
    return [LineChart("order9_blocks.svg", "Free blocks of order >= 9", "records replayed", "blocks", order9),
            LineChart("unusable_index_order9.svg", "Unusable free index at order 9 (worst node)", "records replayed",
                      "thousandths", unusable)]


def _timeline(r: dict, track) -> None:
    for ts, snap in zip(r["records"], r["series"], strict=True):
        track.counter("free pages", ts, {f"node{n}": p["free_pages"] for n, p in enumerate(snap)})
        track.counter("free blocks order>=9", ts, {f"node{n}": p["free_blocks_order_ge_9"] for n, p in enumerate(snap)})


def _metrics(r: dict) -> dict[str, float]:
    final = r["final"]
    return {"health_score": r["health_score"],
            "free_blocks_order_ge_9": sum(p["free_blocks_order_ge_9"] for p in final),
            "unusable_index_9_worst": max((p["unusable_index"][PAGEBLOCK_ORDER] for p in final), default=0),
            "free_pages": sum(p["free_pages"] for p in final),
            "mixed_pageblocks": sum(sum(c) for c in r["mixed_pageblocks"].values()),
            "compaction_free_pageblocks_after": sum(w["free_pageblocks_after"]
                                                    for w in r["compaction_what_if"].values())}


PROFILER = register(Profiler(
    "fragmentation", "Fragmentation", lambda ctx: FragmentationProfiler(ctx.machine), always=True,
    doc="extfrag and unusable free index per order and node over time, order-9 availability, health score, "
        "mixed pageblocks and a compaction what-if",
    summary=_summary, summary_head=f"{'free order>=9':>14} {'health':>7} {'unusable(9)':>12}",
    metrics=_metrics, charts=_charts, timeline=_timeline,
    live=lambda p: f"order>=9 blocks {p.free_blocks_order_ge_9():,}"))
