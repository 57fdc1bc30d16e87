"""NUMA profiler: per-node utilisation and pressure over time, locality, remote hot spots and
migration recommendations. It only reads the snapshots it is handed (the what-if that replays a
workload under every policy is an experiment: sim/experiments/numa_what_if.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from kernel_model import Machine
from kernel_model.snapshot import Snapshots
from sim.profilers.registry import Column, Fact, Figure, LineChart, Profiler, Section, Table, register
from sim.profilers.sampling import Sampling
from sim.profilers.series import Series, windows

VERSION = 1


@dataclass
class NumaProfiler(Sampling):
    machine: Machine
    max_points: int = 200
    top: int = 10
    _series: Series = field(init=False)
    _last: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        self.machine.enable_locality_tracking()
        # free pages per node (a state) and (local, remote) accesses in each window (a sum)
        self._series = Series(states=("free",), sums=("locality",), max_points=self.max_points)

    def take(self, snaps: Snapshots) -> None:
        local = np.concatenate([[self._last[0]], snaps.numa_local.astype(np.int64)])
        remote = np.concatenate([[self._last[1]], snaps.numa_remote.astype(np.int64)])
        self._last = (int(local[-1]), int(remote[-1]))
        self._series.extend(snaps.records.tolist(), free=snaps.free_pages.tolist(),
                            locality=list(zip(np.diff(local).tolist(), np.diff(remote).tolist(), strict=True)))

    def result(self) -> dict:
        m = self.machine
        marks = m.watermarks()
        managed = [m.node_pages[n] for n in range(m.nodes)]
        acc = m.numa_access()
        local = sum(a["local"] for a in acc["cpus"].values())
        remote = sum(a["remote"] for a in acc["cpus"].values())
        hot = m.remote_hot_spots(self.top)
        # what a remote access costs over a local one, on average over the node pairs
        pairs = [(i, j) for i in range(m.nodes) for j in range(m.nodes) if i != j]
        gain = sum(m.latency[i][j] - m.latency[i][i] for i, j in pairs) / len(pairs) if pairs else 0
        recommendations = [{"object": o["id"], "alloc_site": o["alloc_site"], "remote_accesses": o["remote"],
                            "estimated_saving_ns": int(o["remote"] * gain),
                            "evidence": f"{o['remote']} remote vs {o['local']} local accesses"}
                           for o in hot["objects"] if o["remote"] >= 2 * max(o["local"], 1)]
        return {
            "version": VERSION, "unit": "pages, accesses, ns",
            "records": self._series.records,
            "nodes": {n: {"utilisation": [1 - f[n] / managed[n] if managed[n] else 0.0 for f in self._series["free"]],
                          "below_low_watermark": [f[n] <= marks[n]["low"] for f in self._series["free"]],
                          "accesses": acc["nodes"][n]} for n in range(m.nodes)},
            "locality": local / (local + remote) if local + remote else 1.0,
            "locality_over_time": [lo / (lo + re) if lo + re else 1.0 for lo, re in self._series["locality"]],
            "access_cost_ns": sum(a["cost_ns"] for a in acc["cpus"].values()),
            "remote_hot_spots": hot,
            "migration_recommendations": recommendations,
        }


def _summary(r: dict) -> str:
    return f"locality {r['locality']:.1%}, cost {r['access_cost_ns']:,} ns"


LOCALITY = ("Locality: the share of memory accesses that landed on the accessing CPU's own node. Access cost: "
            "the modelled cost of every access at the node distance's latency ([topology] latency, or SLIT-derived).")


def _section(r: dict) -> Section:
    nodes = [{"node": int(n), "accesses": x["accesses"],
              "utilisation_end": x["utilisation"][-1] if x["utilisation"] else 0.0,
              "utilisation_peak": max(x["utilisation"], default=0.0),
              "below_low": sum(x["below_low_watermark"])}
             for n, x in sorted(r["nodes"].items(), key=lambda kv: int(kv[0]))]
    sites = [{**s, "remote_share": s["remote"] / (s["local"] + s["remote"]) if s["local"] + s["remote"] else 0.0}
             for s in r["remote_hot_spots"]["call_sites"]]
    return Section([Fact("locality", r["locality"], "ratio"), Fact("access cost", r["access_cost_ns"], "ns"),
                    Fact("migration recommendations", len(r["migration_recommendations"]), "count")],
                   [Table("Per node", nodes, (
                       Column("node", "node", "count"), Column("accesses", "accesses landing here", "count"),
                       Column("utilisation_end", "utilisation at the end", "ratio"),
                       Column("utilisation_peak", "peak utilisation", "ratio"),
                       Column("below_low", "samples below the low watermark", "count"))),
                    Table("Remote hot spots: call sites", sites, (
                        Column("site", "call site", "text"), Column("local", "local accesses", "count"),
                        Column("remote", "remote accesses", "count"), Column("remote_share", "remote share", "ratio"))),
                    Table("Remote hot spots: objects", r["remote_hot_spots"]["objects"], (
                        Column("id", "object", "count"), Column("alloc_site", "allocated at", "text"),
                        Column("local", "local accesses", "count"), Column("remote", "remote accesses", "count"))),
                    Table("Migration recommendations", r["migration_recommendations"], (
                        Column("object", "object", "count"), Column("alloc_site", "allocated at", "text"),
                        Column("remote_accesses", "remote accesses", "count"),
                        Column("estimated_saving_ns", "estimated saving", "ns"),
                        Column("evidence", "evidence", "text")))],
                   [LOCALITY])


def _charts(results: Mapping[str, dict]) -> list:
    use, of = {}, {}
    for name, r in results.items():
        for n, x in sorted(r["nodes"].items(), key=lambda kv: int(kv[0])):
            key = f"{name} node {n}" if len(results) > 1 else f"node {n}"
            use[key], of[key] = (r["records"], x["utilisation"]), name
    return [LineChart("numa_utilisation.svg", "Node utilisation (allocated share of managed pages)",
                      "records replayed", "utilisation", use, variants=of, yunit="ratio"),
            LineChart("numa_locality.svg", "Locality of accesses per interval", "records replayed", "local share",
                      {name: windows(r["records"], r["locality_over_time"]) for name, r in results.items()},
                      yunit="ratio")]


def _metrics(r: dict) -> dict[str, float]:
    return {"locality": round(r["locality"], 6), "access_cost_ns": r["access_cost_ns"],
            "migration_recommendations": len(r["migration_recommendations"])}


def _labels(r: dict) -> dict[str, str]:
    sites = r["remote_hot_spots"]["call_sites"]
    return {"top_remote_site": max(sites, key=lambda s: s["remote"])["site"]} if sites else {}


FIGURES = (Figure("locality", "ratio", "share of accesses that were local"),
           Figure("access_cost_ns", "ns", "modelled access cost"),
           Figure("migration_recommendations", "count", "migration recommendations"),
           Figure("top_remote_site", "text", "the call site with the most remote accesses"))


PROFILER = register(Profiler(
    "numa", "NUMA", lambda ctx: NumaProfiler(ctx.machine),
    doc="per-node utilisation and pressure over time, locality, remote hot spots, migration recommendations",
    metrics=_metrics, labels=_labels, figures=FIGURES, summary=_summary, section=_section, charts=_charts))
