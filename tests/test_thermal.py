"""The per-node thermal model (core/thermal.h) and the thermal memory policy: by hand, against the
pure-Python reference under random streams, in the NUMA profiler and the thermal scenario, and its
settings checked where a scenario names them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scenarios import validate_report

from kernel_model import Machine, Op, Trace, trace
from kernel_model.reference.thermal import DECAY_Q16, RefThermal
from sim.profilers.numa import NumaProfiler
from sim.scenario import ScenarioError, load, run_scenario
from sim.workloads.script import Workload

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def nodes_of(m: Machine, res, records) -> dict[int, int]:
    """id -> node of every page allocation the replay made."""
    alloc = np.flatnonzero(records["op"] == Op.PAGE_ALLOC)
    return {int(records["id"][i]): m.pfn_to_nid(int(res.results[i])) for i in alloc}


def test_heating_cooling_and_throttled_time_by_hand():
    m = Machine(nodes=2, node_mem="16M", thermal={"heat_per_access": 100, "heat_per_page": 7, "half_life": 6400,
                                                   "throttle": 600})
    w = Workload(cpus=2)
    p = w.alloc_pages(2, node=1)                  # 4 pages on node 1: 28
    for _ in range(10):
        w.load(p, 0, 8)                           # 10 accesses land on node 1: +1000
    w.time(6400)                                  # one half-life: 1028 -> 514, and 6400 ns throttled (1028 > 600)
    w.time(50)                                    # half a step (100 ns): carried over, nothing changes
    w.time(50)                                    # one step: 514 * 64830 >> 16
    m.replay(w.trace())
    t = m.thermal()["nodes"]
    assert t[1] == {"temperature": (514 * 64830) >> 16, "peak": 1028, "throttled_ns": 6400}
    assert t[0] == {"temperature": 0, "peak": 0, "throttled_ns": 0}
    assert (514 * 64830) >> 16 == 508


def test_the_decay_table_is_two_to_the_minus_i_over_64():
    assert DECAY_Q16[0] == 65536 and DECAY_Q16[32] == 46341 and DECAY_Q16[63] == 33125


def test_off_by_default_and_long_gaps_cool_to_zero():
    m = Machine(nodes=1, node_mem="16M")
    assert m.thermal() is None
    m = Machine(nodes=1, node_mem="16M", thermal={"heat_per_access": 1000, "half_life": "64ns"})
    w = Workload()
    p = w.alloc_pages(0)
    w.load(p)
    w.time(64 * 64)                               # 64 half-lives: 1020 >> 64 is 0
    m.replay(w.trace())
    assert m.thermal()["nodes"][0]["temperature"] == 0 and m.thermal()["nodes"][0]["peak"] == 1020


@pytest.mark.parametrize("bad, why", [({"heat": 1}, "unknown key"), ({"half_life": 100}, "multiple of 64"),
                                      ({"throttle": -1}, "throttle"), ({"heat_per_page": 1.5}, "heat_per_page")])
def test_bad_settings_are_refused(bad, why):
    with pytest.raises(ValueError, match=why):
        Machine(nodes=1, node_mem="16M", thermal=bad)


def test_the_scenario_checks_its_thermal_table_when_it_loads(tmp_path):
    base = ('[scenario]\nname = "t"\n[machine]\nnodes = 2\nnode_mem = "16M"\nthermal = THERMAL\n'
            '[workload]\ngenerator = "page_churn"\nops = 100\n')
    for table, why in (('{ half_life = "100ns" }', "multiple of 64"), ('{ hot = 1 }', "unknown key"),
                       ('{ throttle = "x" }', "throttle")):
        (tmp_path / "s.toml").write_text(base.replace("THERMAL", table))
        with pytest.raises(ScenarioError, match=rf"s\.toml:6: .*{why}"):
            load(tmp_path / "s.toml")
    (tmp_path / "s.toml").write_text(base.replace("THERMAL", '{ half_life = "128ns" }'))
    assert load(tmp_path / "s.toml").machine.thermal == {"half_life": "128ns"}


def test_the_thermal_policy_avoids_a_throttled_node():
    def run(policy: str) -> int:
        m = Machine(nodes=2, node_mem="16M", thermal={"heat_per_access": 1000, "heat_per_page": 0,
                                                       "half_life": "1ms", "throttle": 5000})
        w = Workload(cpus=2)
        w.mempolicy(policy)
        hot = w.alloc_pages(0)
        for _ in range(6):
            w.load(hot)                           # node 0 at 6000: throttled
        new = w.alloc_pages(0)
        tr = w.trace()
        res = m.replay(tr, results=True)
        return nodes_of(m, res, tr.records)[new]

    assert run("local") == 0 and run("thermal") == 1


def test_when_every_node_is_hot_the_coolest_comes_first():
    m = Machine(nodes=3, node_mem="16M", cpus_per_node=1,
                thermal={"heat_per_access": 1000, "heat_per_page": 0, "half_life": "1ms", "throttle": 500})
    w = Workload(cpus=3)
    w.mempolicy("thermal")
    pages = [w.alloc_pages(0, node=n) for n in range(3)]
    for n, hits in enumerate((3, 1, 2)):
        for _ in range(hits):
            w.load(pages[n])
    new = w.alloc_pages(0)
    tr = w.trace()
    res = m.replay(tr, results=True)
    assert nodes_of(m, res, tr.records)[new] == 1


streams = st.lists(st.one_of(
    st.tuples(st.just("alloc"), st.integers(0, 1), st.integers(0, 2)),       # cpu, order
    st.tuples(st.just("access"), st.integers(0, 1), st.integers(0, 1000)),   # cpu, which live page
    st.tuples(st.just("free"), st.integers(0, 1000)),
    st.tuples(st.just("time"), st.integers(0, 300_000))), max_size=120)


@settings(max_examples=150, deadline=None)
@given(streams, st.integers(0, 40), st.integers(0, 400), st.sampled_from([64, 6400, 100_032]),
       st.integers(0, 3000), st.sampled_from(["local", "thermal"]))
def test_the_model_and_the_policy_match_the_reference(ops, heat_access, heat_page, half, throttle, policy):
    """Random allocations (order 0-2, by either CPU), accesses, frees and time on two nodes: every
    allocation lands where the reference policy says and the temperatures, peaks and throttled
    time end as the reference's."""
    m = Machine(nodes=2, node_mem="16M", thermal={"heat_per_access": heat_access, "heat_per_page": heat_page,
                                                   "half_life": half, "throttle": throttle})
    w = Workload(cpus=2)
    for cpu in range(2):
        w.mempolicy(policy, cpu=cpu)
    live: list[tuple[int, int]] = []            # (id, order)
    for op in ops:
        if op[0] == "alloc":
            live.append((w.alloc_pages(op[2], cpu=op[1]), op[2]))
        elif op[0] == "access" and live:
            w.load(live[op[2] % len(live)][0], 0, 8, cpu=op[1])
        elif op[0] == "free" and live:
            w.free_pages(live.pop(op[1] % len(live))[0])
        elif op[0] == "time":
            w.time(op[1])
    tr = w.trace()
    res = m.replay(tr, results=True)
    assert res.ok
    ref = RefThermal(2, heat_access, heat_page, half, throttle)
    node: dict[int, int] = {}
    for i, r in enumerate(tr.records):
        if r["op"] == Op.PAGE_ALLOC:
            local = m.cpu_to_node[int(r["cpu"])]
            want = local if policy == "local" else ref.place(local, m.zonelist(local))
            node[int(r["id"])] = m.pfn_to_nid(int(res.results[i]))
            assert node[int(r["id"])] == want, f"record {i}"
            ref.alloc(node[int(r["id"])], 1 << int(r["arg0"]))
        elif r["op"] == Op.LOAD:
            ref.access(node[int(r["id"])])
        elif r["op"] == Op.TIME:
            ref.time(int(r["arg1"]))
    t = m.thermal()["nodes"]
    assert [t[n]["temperature"] for n in range(2)] == ref.temp
    assert [t[n]["peak"] for n in range(2)] == ref.peak
    assert [t[n]["throttled_ns"] for n in range(2)] == ref.throttled_ns


def test_the_numa_profiler_samples_temperature_over_time():
    m = Machine(nodes=2, node_mem="16M", thermal={"heat_per_access": 10, "heat_per_page": 0, "half_life": "64us",
                                                   "throttle": 50})
    prof = NumaProfiler(m)
    rec = trace.empty(30)
    rec[0] = (Op.PAGE_ALLOC, 0, 0, 0, 0, 0, trace.NO_NODE)
    for i in range(1, 30):
        rec[i] = (Op.LOAD, 0, 0, 0, 0, 8, 0) if i % 3 else (Op.TIME, 0, 0, 0, trace.NO_ID, 0, 1000)
    t = Trace(rec, [""], nr_ids=1)
    prof.take(m.replay(t, snapshot_at=np.array([10, 20, 30])).snapshots)
    out = prof.result()["thermal"]
    assert out["peak"] == m.thermal()["nodes"][0]["peak"] and out["hottest_node"] == 0
    assert out["temperature_over_time"][-1] == [m.thermal()["nodes"][0]["temperature"], 0]
    assert "thermal" not in NumaProfiler(Machine(nodes=2, node_mem="16M")).result()


def test_the_thermal_scenario_lowers_the_peak_at_a_cost_in_remote_accesses(tmp_path):
    report = run_scenario(SCENARIOS / "thermal.toml", ["workload.ticks=4000"], out=tmp_path).report
    validate_report(report)
    local, thermal = (v["numa"] for v in report["variants"])
    assert thermal["thermal"]["peak"] < local["thermal"]["peak"]
    assert local["thermal"]["peak"] > local["thermal"]["throttle"]
    assert thermal["thermal"]["throttled_ns"] < local["thermal"]["throttled_ns"]
    assert local["accesses"]["remote"] == 0 < thermal["accesses"]["remote"]
    assert len(thermal["thermal"]["temperature_over_time"]) == len(thermal["records"])
    assert (tmp_path / "charts" / "numa_temperature.svg").exists()
