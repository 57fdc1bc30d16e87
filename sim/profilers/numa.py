"""NUMA profiler: per-node utilisation and pressure over time, locality, remote hot spots,
migration recommendations, and a what-if that replays one workload under every policy.

take() only reads the snapshots it is handed; what_if() builds its own machines (the caller's is untouched).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kernel_model import Machine, Trace
from kernel_model.snapshot import Snapshots
from sim.profilers.sampling import Sampling

VERSION = 1
POLICIES = ("local", "preferred", "bind", "interleave", "weighted_interleave", "preferred_many")


@dataclass
class NumaProfiler(Sampling):
    machine: Machine
    max_points: int = 200
    top: int = 10
    _records: list[int] = field(default_factory=list)
    _free: list[list[int]] = field(default_factory=list)
    _locality: list[tuple[int, int]] = field(default_factory=list)
    _last: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        self.machine.enable_locality_tracking()

    def take(self, snaps: Snapshots) -> None:
        self._records.extend(snaps.records.tolist())
        self._free.extend(snaps.free_pages.tolist())
        local = np.concatenate([[self._last[0]], snaps.numa_local.astype(np.int64)])
        remote = np.concatenate([[self._last[1]], snaps.numa_remote.astype(np.int64)])
        self._locality.extend(zip(np.diff(local).tolist(), np.diff(remote).tolist(), strict=True))
        self._last = (int(local[-1]), int(remote[-1]))
        while len(self._records) > self.max_points:   # keep every other point; locality windows merge
            self._records, self._free = self._records[1::2], self._free[1::2]
            self._locality = [tuple(a + b for a, b in zip(x, y, strict=True)) for x, y in
                              zip(self._locality[0::2], self._locality[1::2], strict=False)]

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
            "records": self._records,
            "nodes": {n: {"utilisation": [1 - f[n] / managed[n] if managed[n] else 0.0 for f in self._free],
                          "below_low_watermark": [f[n] <= marks[n]["low"] for f in self._free],
                          "accesses": acc["nodes"][n]} for n in range(m.nodes)},
            "locality": local / (local + remote) if local + remote else 1.0,
            "locality_over_time": [lo / (lo + re) if lo + re else 1.0 for lo, re in self._locality],
            "access_cost_ns": sum(a["cost_ns"] for a in acc["cpus"].values()),
            "remote_hot_spots": hot,
            "migration_recommendations": recommendations,
        }


def what_if(trace: Trace, make_machine: Callable[[], Machine], policies: Sequence[str] = POLICIES) -> dict:
    """Replay trace on a fresh machine per policy (set on every CPU, over all nodes) and tabulate
    cost, locality, balance and allocation failures; the recommendation cites the measured best."""
    rows = []
    for policy in policies:
        m = make_machine()
        for cpu in range(len(m.cpu_to_node)):
            nodes = list(range(m.nodes)) if policy != "preferred" else [m.cpu_to_node[cpu]]
            if policy == "local":
                m.set_mempolicy(cpu, "local")
            else:
                m.set_mempolicy(cpu, policy, nodes)
        res = m.replay(trace)
        acc = m.numa_access()["cpus"].values()
        local, remote = sum(a["local"] for a in acc), sum(a["remote"] for a in acc)
        used = [m.node_pages[n] - m.nr_free_pages(n) for n in range(m.nodes)]
        mean = sum(used) / len(used)
        imbalance = (max(used) - min(used)) / mean if mean else 0.0
        rows.append({"policy": policy, "access_cost_ns": sum(a["cost_ns"] for a in acc),
                     "locality": local / (local + remote) if local + remote else 1.0,
                     "imbalance": imbalance, "alloc_failed": res.alloc_failed, "errors": res.nr_errors})
    best = min(rows, key=lambda r: (r["alloc_failed"], r["access_cost_ns"]))
    worst = max(rows, key=lambda r: r["access_cost_ns"])
    return {"version": VERSION, "table": rows,
            "recommendation": {"policy": best["policy"], "access_cost_ns": best["access_cost_ns"],
                               "saving_vs_worst_ns": worst["access_cost_ns"] - best["access_cost_ns"]}}
