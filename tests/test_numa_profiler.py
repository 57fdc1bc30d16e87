"""The access cost model, remote hot spots, bandwidth-aware weights, the NUMA profiler and what-if."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kernel_model import Machine, Op, Topology, Trace, trace
from sim.driver import replay_in_chunks
from sim.experiments.numa_what_if import what_if
from sim.profilers.numa import NumaProfiler

SLIT = [[10, 21], [21, 10]]


def shared_objects(n_objects=64, rounds=30) -> Trace:
    """CPU 0 allocates objects; CPU 1 (the other node) reads them most of the time."""
    rows = [(Op.KMALLOC, i, 0, 1, 128, trace.NO_NODE) for i in range(n_objects)]
    for r in range(rounds):
        rows += [(Op.LOAD, i, 1 if r % 4 else 0, 2 if r % 4 else 3, 8, 0) for i in range(n_objects)]
    rec = trace.empty(len(rows))
    for k, (op, ident, cpu, site, arg0, arg1) in enumerate(rows):
        rec[k] = (op, 0, cpu, site, ident, arg0, arg1)
    return Trace(rec, ["", "alloc_buf", "remote_reader", "local_reader"])


def test_access_cost_and_hot_spots_by_hand():
    m = Machine(topology=Topology.from_slit(SLIT, "16M"))
    m.enable_locality_tracking()
    assert m.replay(shared_objects(4, 4)).ok
    acc = m.numa_access()
    # rounds 1..3 read from CPU 1 (remote, 210 ns), round 0 from CPU 0 (local, 100 ns)
    assert acc["cpus"][1] == {"local": 0, "remote": 12, "cost_ns": 12 * 210}
    assert acc["cpus"][0] == {"local": 4, "remote": 0, "cost_ns": 4 * 100}
    hot = m.remote_hot_spots()
    assert hot["call_sites"] == [{"site": "remote_reader", "remote": 12, "local": 0}]
    assert {o["alloc_site"] for o in hot["objects"]} == {"alloc_buf"} and hot["objects"][0]["remote"] == 3


def test_hmat_latency_and_bandwidth_aware_weights():
    t = Topology.from_slit(SLIT, "16M", latency=[[80, 250], [250, 80]], bandwidth=[[100, 25], [25, 100]])
    m = Machine(topology=t)
    assert m.latency == [[80, 250], [250, 80]]
    m.set_bandwidth_aware(0)   # node 0 sees 100 and 25 -> weights 4 and 1
    nodes = [m.pfn_to_nid(m.alloc_pages(0, cpu=0)) for _ in range(10)]
    assert nodes == [0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    with pytest.raises(ValueError, match="HMAT"):
        Machine(topology=Topology.from_slit(SLIT, "16M")).set_bandwidth_aware(0)


def test_profiler_recommends_migrating_remote_objects():
    m = Machine(topology=Topology.from_slit(SLIT, "16M"))
    prof = NumaProfiler(m, max_points=4)
    replay_in_chunks(m, shared_objects(), chunk=200, observers=[prof])
    out = prof.result()
    json.dumps(out)
    assert len(out["records"]) <= 5 and out["locality"] == pytest.approx(8 / 30, abs=0.01)
    assert len(out["nodes"][0]["utilisation"]) == len(out["records"])
    recs = out["migration_recommendations"]
    assert recs and all(r["alloc_site"] == "alloc_buf" and r["estimated_saving_ns"] > 0 for r in recs)


def test_what_if_tabulates_every_policy():
    t = Topology.from_slit(SLIT, "16M")
    table = what_if(shared_objects(), lambda: Machine(topology=t), {"topology": t}, weight_evals=8)
    policies = [row["policy"] for row in table["table"]]
    nodes = range(len(SLIT))
    assert policies[0] == "local = preferred_many (all nodes)" and policies[-1].startswith("interleave")
    assert {f"preferred node {n}" for n in nodes} | {f"bind node {n}" for n in nodes} <= set(policies)
    # the weights searched here are 1:1: weighted interleave allocating as plain interleave, one row
    assert table["weights"] == [1, 1] and policies[-1] == "interleave = weighted_interleave (optimised 1:1)"
    costs = {row["policy"]: row["access_cost_ns"] for row in table["table"]}
    assert table["recommendation"]["access_cost_ns"] == min(costs.values())
    assert all(np.isfinite(row["imbalance"]) and row["errors"] == 0 for row in table["table"])
