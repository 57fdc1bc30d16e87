"""Fragmentation analyzer: free blocks per order, Linux's extfrag and unusable free index per order and node over time,
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
from kernel_model.mm import MIGRATETYPE_NAMES, NR_PAGE_ORDERS, PAGEBLOCK_ORDER
from kernel_model.snapshot import Snapshots
from sim.profilers.compaction import compaction_what_if, mixed_pageblocks
from sim.profilers.registry import (
    Column,
    Fact,
    Figure,
    Heatmap,
    LineChart,
    Marker,
    Profiler,
    Section,
    Table,
    register,
)
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
                    "free_blocks": counts,
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


HEALTH = ("Health score: 100 × (1 − unusable free index at order 9 / 1000), averaged over the nodes with free "
          "memory: the share of free memory that sits in blocks of 2 MiB (order 9) or more. 100: every free page "
          "could back a huge page; 0: none could.")
UNUSABLE = ("Unusable free index at order n (Linux's /sys/kernel/debug/extfrag/unusable_index): the share of free "
            "memory in blocks too small for an order-n allocation, in thousandths (shown as 0.000-1.000).")
DRAIN = ("The last sample of a run is taken after the per-CPU page lists are drained (drain_all_pages), so pages "
         "held on pcp lists merge back into the buddy lists: the jump at the end of the order-9 chart.")
MAX_NODE_MAPS = 8     # per-node free-block maps drawn per variant


def _section(r: dict) -> Section:
    final = r["final"]
    ends = [{"node": n, **p, "unusable_9": p["unusable_index"][PAGEBLOCK_ORDER],
             "extfrag_9": p["extfrag_index"][PAGEBLOCK_ORDER]} for n, p in enumerate(final)]
    by_mt = [Column(m.lower(), m, "blocks") for m in MIGRATETYPE_NAMES]
    orders = [Column(f"o{o}", f"order {o}", "blocks") for o in range(NR_PAGE_ORDERS)]
    return Section(
        [Fact("health score (0-100)", r["health_score"], "score"),
         Fact("free blocks of order ≥ 9", sum(p["free_blocks_order_ge_9"] for p in final), "blocks"),
         Fact("entirely free pageblocks (order-9 blocks)",
              sum(w["free_pageblocks_before"] for w in r["compaction_what_if"].values()), "blocks"),
         Fact("free pages", sum(p["free_pages"] for p in final), "pages"),
         Fact("mixed pageblocks", sum(sum(c) for c in r["mixed_pageblocks"].values()), "blocks")],
        [Table("Per node at the end", ends, (
            Column("node", "node", "count"), Column("free_pages", "free pages", "pages"),
            Column("largest_free_order", "largest free order", "count"),
            Column("free_blocks_order_ge_9", "free blocks of order ≥ 9", "blocks"),
            Column("unusable_9", "unusable index (order 9)", "thousandths"),
            Column("extfrag_9", "extfrag index (order 9)", "thousandths"))),
         Table("Free blocks by order at the end", [
             {"node": n, **{f"o{o}": c for o, c in enumerate(p["free_blocks"])}} for n, p in enumerate(final)
             if "free_blocks" in p], (Column("node", "node", "count"), *orders)),
         Table("Pageblocks by migratetype", _per_migratetype(r["pageblocks"]),
               (Column("node", "node", "count"), *by_mt)),
         Table("Mixed pageblocks: pageblocks holding an allocation of another migratetype",
               _per_migratetype(r["mixed_pageblocks"]), (Column("node", "node", "count"), *by_mt)),
         Table("Compaction what-if: one full Linux-style compaction pass (mm/compaction.c), model untouched", [
             {"node": int(n), **w} for n, w in sorted(r["compaction_what_if"].items(), key=lambda kv: int(kv[0]))], (
             Column("node", "node", "count"), Column("movable_pages", "movable pages", "pages"),
             Column("pages_moved", "pages it would move", "pages"),
             Column("free_pageblocks_before", "free pageblocks before", "blocks"),
             Column("free_pageblocks_after", "free pageblocks after", "blocks")))],
        [HEALTH, UNUSABLE, DRAIN])


def _per_migratetype(table: Mapping[str, list[int]]) -> list[dict]:
    """{node: [count per migratetype]} as rows, by node."""
    return [{"node": int(n), **dict(zip((m.lower() for m in MIGRATETYPE_NAMES), counts, strict=True))}
            for n, counts in sorted(table.items(), key=lambda kv: int(kv[0]))]


def _charts(results: Mapping[str, dict]) -> list:
    order9 = {name: (r["records"], [sum(p["free_blocks_order_ge_9"] for p in snap) for snap in r["series"]])
              for name, r in results.items()}
    ends: dict[int, list[str]] = {}
    for name, r in results.items():
        if r["records"]:
            ends.setdefault(r["records"][-1], []).append(name)
    drained = tuple(Marker(x, "pcp lists drained", None if len(names) == len(results) else names[0])
                    for x, names in ends.items())
    unusable, variant_of = {}, {}
    for name, r in results.items():
        nodes = len(r["final"])
        for n in range(nodes):
            key = name if nodes == 1 else f"{name} node {n}"
            unusable[key] = (r["records"], [snap[n]["unusable_index"][PAGEBLOCK_ORDER] for snap in r["series"]])
            variant_of[key] = name
    charts = [LineChart("order9_blocks.svg", "Free blocks of order ≥ 9", "records replayed", "blocks", order9,
                        markers=drained, yunit="blocks"),
              LineChart("unusable_index_order9.svg", "Unusable free index at order 9", "records replayed",
                        "index (0-1)", unusable, variants=variant_of, markers=drained, yunit="thousandths")]
    for name, r in results.items():
        if not r["series"] or "free_blocks" not in r["series"][0][0]:
            continue   # a result from before free_blocks was recorded
        for n in range(min(len(r["final"]), MAX_NODE_MAPS)):
            charts.append(Heatmap(f"free_blocks_node{n}.svg", f"Free blocks by order, node {n}", "records replayed",
                                  "order", r["records"], [str(o) for o in range(NR_PAGE_ORDERS)],
                                  [snap[n]["free_blocks"] for snap in r["series"]], "blocks", log=True,
                                  variant=name))
    return charts


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
                                                    for w in r["compaction_what_if"].values()),
            "pageblocks": sum(sum(c) for c in r["pageblocks"].values()),
            "free_pageblocks": sum(w["free_pageblocks_before"] for w in r["compaction_what_if"].values()),
            "compaction_pages_moved": sum(w["pages_moved"] for w in r["compaction_what_if"].values())}


FIGURES = (Figure("health_score", "score", "health score (0-100)"),
           Figure("free_blocks_order_ge_9", "blocks", "free blocks of order ≥ 9"),
           Figure("unusable_index_9_worst", "thousandths", "unusable free index at order 9, worst node"),
           Figure("free_pages", "pages", "free pages"),
           Figure("mixed_pageblocks", "blocks", "mixed pageblocks"),
           Figure("compaction_free_pageblocks_after", "blocks", "entirely free pageblocks after one compaction pass"),
           Figure("pageblocks", "blocks", "pageblocks"),
           Figure("free_pageblocks", "blocks", "entirely free pageblocks (order-9 blocks)"),
           Figure("compaction_pages_moved", "pages", "pages one compaction pass would move"))


PROFILER = register(Profiler(
    "fragmentation", "Fragmentation", lambda ctx: FragmentationProfiler(ctx.machine), always=True,
    doc="extfrag and unusable free index per order and node over time, order-9 availability, health score, "
        "mixed pageblocks and a compaction what-if",
    summary=_summary, summary_head=f"{'free order>=9':>14} {'health':>7} {'unusable(9)':>12}",
    metrics=_metrics, figures=FIGURES, section=_section, charts=_charts, timeline=_timeline,
    live=lambda p: f"order>=9 blocks {p.free_blocks_order_ge_9():,}"))
