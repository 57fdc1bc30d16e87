"""Migration cost, the migration what-if and load-balancing advice: Machine.migrate, the copy cost
and break-even by hand (distance model and HMAT bandwidth), the what-if's measured saving by hand,
the majority vote of accessor nodes, and the numa-migration scenario."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scenarios import validate_report

from kernel_model import Machine, Topology
from sim.experiments.migration_what_if import migration_what_if
from sim.profilers.numa import NumaProfiler, copy_ns_per_page, load_balance, migration_cost
from sim.scenario import run_scenario
from sim.workloads.script import Workload

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def test_copy_cost_from_the_distance_model_and_from_hmat_bandwidth():
    m = Machine(nodes=2, node_mem="16M")                   # latency 100 ns local, 200 ns remote
    assert copy_ns_per_page(m, 0, 1) == 64 * 200 // 10 == 1280
    topo = Topology.from_slit([[10, 21], [21, 10]], "16M", bandwidth=[[20000, 3000], [3000, 20000]])
    m = Machine(topology=topo)
    assert copy_ns_per_page(m, 0, 1) == -(-4096 * 1000 // 3000) == 1366     # 4 KiB at 3 GB/s, rounded up


def test_the_cost_and_break_even_of_a_migration_by_hand():
    m = Machine(nodes=2, node_mem="16M")
    m.enable_locality_tracking()
    w = Workload(cpus=2)
    big = w.kmalloc(3 * 4096 + 1, cpu=0)                    # a large kmalloc: 4 pages on node 0
    for _ in range(5):
        w.load(big, 0, 8, cpu=1)
    for _ in range(3):
        w.load(big, 0, 8, cpu=0)
    m.replay(w.trace())
    assert m.accessor_nodes([big, 99]) == [1, None]        # 5 of the 8 accesses came from node 1
    assert migration_cost(m, big, 1) == {"node": 0, "target_node": 1, "pages": 4, "copy_cost_ns": 4 * 1280,
                                         "saving_per_access_ns": 100, "break_even_accesses": 52}
    assert migration_cost(m, big, 0)["copy_cost_ns"] is None and migration_cost(m, 99, 1)["node"] is None


def test_machine_migrate_moves_pages_objects_and_large_kmallocs():
    m = Machine(nodes=2, node_mem="16M")
    m.enable_leak_tracking()
    w = Workload()
    page, obj, large, other = w.alloc_pages(1), w.kmalloc(100), w.kmalloc(20000), w.kmalloc(64)
    w.ref(obj, other, offset=8)
    m.replay(w.trace())
    before = m.leak_scan()
    pointer = before["value"][before["src"] == list(before["id"]).index(obj)]
    for id_ in (page, obj, large):
        assert m.object_place(id_)["node"] == 0
        assert m.migrate(id_, 1)
        assert m.object_place(id_)["node"] == 1
    after = m.leak_scan()
    assert (after["value"][after["src"] == list(after["id"]).index(obj)] == pointer).all()   # the bytes moved
    assert m.object_place(large)["bytes"] == 32768 and m.migrate(large, 0) and m.object_place(large)["node"] == 0
    with pytest.raises(ValueError, match="not a live"):
        m.migrate(12345, 1)
    full = Machine(nodes=2, node_mem=["16M", "4M"], pcp=False)
    w = Workload()
    pages = [w.alloc_pages(9, node=1) for _ in range(3)]
    p = w.alloc_pages(9, node=0)
    full.replay(w.trace())
    assert pages and not full.migrate(p, 1)                 # node 1 has no order-9 block left


def test_the_what_if_measures_the_saving_by_hand():
    w = Workload(cpus=2)
    obj = w.kmalloc(256, cpu=0)                             # on node 0, used by CPU 1 on node 1
    for _ in range(199):
        w.load(obj, 0, 8, cpu=1)
    for _ in range(200):
        w.load(obj, 0, 8, cpu=1)
    r = migration_what_if(w.trace(), lambda: Machine(nodes=2, node_mem="16M"), split=0.5)
    assert r["split_record"] == 200 and r["migrated"] == 1 and r["pages"] == 1
    assert r["without"] == {"access_cost_ns": 200 * 200, "local": 0, "remote": 200}
    assert r["with"] == {"access_cost_ns": 200 * 100, "local": 200, "remote": 0}
    assert (r["measured_saving_ns"], r["copy_cost_ns"], r["net_saving_ns"]) == (20000, 1280, 18720)
    row = r["migrations"][0]
    assert (row["break_even_accesses"], row["remote_without"], row["remote_with"]) == (13, 200, 0) and row["paid_back"]


def test_load_balancing_advice_by_hand():
    m = Machine(nodes=3, node_mem="16M")
    out = load_balance(m, [900, 100, 200], [10, 10, 10])
    assert out["page_imbalance"] == 800 / 400 and out["access_imbalance"] == 0.0
    assert [(a["kind"], a["from_node"], a["to_node"], a["pages"], a["copy_cost_ns"]) for a in out["advice"]] == \
        [("memory", 0, 1, 400, 400 * 1280)]
    assert load_balance(m, [100, 110, 120], [5, 5, 5])["advice"] == []


def test_the_numa_profiler_carries_the_costs():
    m = Machine(nodes=2, node_mem="16M")
    prof = NumaProfiler(m)
    w = Workload(cpus=2)
    obj = w.kmalloc(64, cpu=0)
    for _ in range(10):
        w.load(obj, cpu=1)
    m.replay(w.trace())
    rec = prof.result()["migration_recommendations"]
    assert rec == [{**rec[0], "object": obj, "node": 0, "target_node": 1, "pages": 1, "copy_cost_ns": 1280,
                    "saving_per_access_ns": 100, "break_even_accesses": 13}]


def test_the_numa_migration_scenario(tmp_path):
    report = run_scenario(SCENARIOS / "numa-migration.toml", ["workload.accesses=100000"], out=tmp_path).report
    validate_report(report)
    r = report["migration_what_if"]
    assert r["migrated"] > 0 and r["measured_saving_ns"] > r["copy_cost_ns"] > 0
    assert r["with"]["remote"] < r["without"]["remote"]
    numa = report["variants"][0]["numa"]
    assert all(x["node"] == 0 and x["target_node"] != 0 for x in numa["migration_recommendations"])
    assert numa["load_balance"]["advice"][0]["from_node"] == 0
    assert (tmp_path / "charts" / "migration_what_if.svg").exists()
