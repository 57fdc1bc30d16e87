"""NUMA profiler: per-node utilisation and pressure over time, locality, remote hot spots and
migration recommendations. It only reads the snapshots it is handed (the what-if that replays a
workload under every policy is an experiment: sim/experiments/numa_what_if.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kernel_model import Machine
from kernel_model.snapshot import Snapshots
from sim.profilers.registry import Profiler, Section, register
from sim.profilers.sampling import Sampling
from sim.profilers.series import Series

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


def _section(r: dict) -> Section:
    return Section([("locality", f"{r['locality']:.1%}"), ("access cost (ns)", f"{r['access_cost_ns']:,}")],
                   [("Remote hot spots: call sites", r["remote_hot_spots"]["call_sites"]),
                    ("Migration recommendations", r["migration_recommendations"])])


def _metrics(r: dict) -> dict[str, float]:
    return {"locality": round(r["locality"], 6), "access_cost_ns": r["access_cost_ns"],
            "migration_recommendations": len(r["migration_recommendations"])}


PROFILER = register(Profiler(
    "numa", "NUMA", lambda ctx: NumaProfiler(ctx.machine),
    doc="per-node utilisation and pressure over time, locality, remote hot spots, migration recommendations",
    metrics=_metrics, summary=_summary, section=_section))
