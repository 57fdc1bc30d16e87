"""Workload generators: phases in the kmalloc churn."""

from __future__ import annotations

import numpy as np

from kernel_model import Machine, Op, trace
from sim.profilers import patterns
from sim.workloads import kmalloc_churn


def test_kmalloc_churn_phases_change_the_size_mix_and_are_marked():
    t = kmalloc_churn(30000, 2000, phases=3, seed=4)
    marks = trace.phases(t)
    assert [(p["number"], p["name"]) for p in marks] == [(1, "phase-1"), (2, "phase-2")]
    r = t.records
    assert (r["op"] == Op.PHASE).sum() == 2 and len(t) == 30002
    bounds = [0, marks[0]["record"], marks[1]["record"], len(r)]
    mixes = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        sizes = r["arg0"][a:b][r["op"][a:b] == Op.KMALLOC]
        mixes.append(np.bincount(np.searchsorted([16, 64, 512, 1024, 4096], sizes), minlength=6) / len(sizes))
    assert max(np.abs(mixes[0] - mixes[1]).max(), np.abs(mixes[1] - mixes[2]).max()) > 0.05
    assert Machine(nodes=1, node_mem="64M", cpus_per_node=2).replay(t).ok
    assert len(patterns.analyze(t)["phases"]) == 3      # the analyzer splits the run at the markers
    one = kmalloc_churn(30000, 2000, seed=4)
    assert not (one.records["op"] == Op.PHASE).any() and len(one) == 30000
