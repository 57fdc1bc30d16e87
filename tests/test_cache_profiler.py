"""The cache profiler: bounded series that keep their totals, heatmaps, sites and prefetch candidates."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kernel_model import Machine, Op, Trace, trace
from sim.driver import replay_in_chunks
from sim.profilers.cache import CacheProfiler

LEVELS = [{"name": "L1d", "size": "4K", "ways": 4}, {"name": "L1i", "size": "4K", "ways": 4},
          {"name": "L2", "size": "64K", "ways": 8}]


def scan_and_chase(n_objects: int = 512, rounds: int = 20, seed: int = 0) -> Trace:
    """n 64-byte objects; site 'scan' walks them in order, site 'chase' visits them at random."""
    rng = np.random.default_rng(seed)
    rows = [(Op.KMALLOC, i, 1, 64, trace.NO_NODE) for i in range(n_objects)]
    for _ in range(rounds):
        rows += [(Op.LOAD, i, 2, 8, 0) for i in range(n_objects)]
        rows += [(Op.LOAD, int(i), 3, 8, 0) for i in rng.integers(0, n_objects, n_objects)]
    rec = trace.empty(len(rows))
    for k, (op, ident, site, arg0, arg1) in enumerate(rows):
        rec[k] = (op, 0, 0, site, ident, arg0, arg1)
    return Trace(rec, ["", "alloc_objs", "scan", "chase"])


def test_profile_finds_the_strided_site_and_keeps_totals():
    m = Machine(nodes=1, node_mem="16M", caches={"levels": LEVELS})
    prof = CacheProfiler(m, heatmap=("cpu0/L1d",), max_points=8, set_bins=4)
    t = scan_and_chase()
    results = replay_in_chunks(m, t, chunk=500, observers=[prof])
    assert all(r.ok for r in results)
    out = prof.result()
    json.dumps(out)                                            # plain data
    st = m.cache_stats()["cpu0/L1d"]
    l1 = out["caches"]["cpu0/L1d"]
    assert (l1["hits"], l1["misses"]) == (st["hits"], st["misses"])   # merging windows keeps the totals
    assert len(out["records"]) <= 8 + 1 and len(l1["miss_ratio_over_time"]) == len(out["records"])
    assert out["records"][-1] == len(t)
    heat = out["heatmaps"]["cpu0/L1d"]
    assert heat["set_bins"] == 4 and len(heat["misses"]) == len(out["records"])
    assert sum(map(sum, heat["misses"])) == st["misses"]
    assert [p["call_site"] for p in out["prefetch_candidates"]] == ["scan"]
    assert out["prefetch_candidates"][0]["stride_bytes"] == 64
    assert {s["site"] for s in out["top_call_sites"]} == {"scan", "chase"}
    assert out["top_alloc_sites"][0]["site"] == "alloc_objs"


def _raw_loads(*pairs):
    rec = trace.empty(len(pairs))
    for k, (addr, size) in enumerate(pairs):
        rec[k] = (Op.LOAD, trace.ACCESS_RAW, 0, 0, trace.NO_ID, size, addr)
    return rec


@pytest.mark.parametrize("inclusion", ["nine", "inclusive"])   # the fast chain walk, and the general path
def test_line_utilisation_by_hand(inclusion):
    m = Machine(nodes=1, node_mem="16M", caches={"levels": [
        {"name": "L1", "size": 64, "ways": 1}, {"name": "L2", "size": 256, "ways": 2, "inclusion": inclusion}]})
    m.track_line_use("cpu0/L1")
    # 16 bytes of line 0 (one access straddles into byte 15), then line 1 evicts it; 8 bytes of line 1 stay
    assert m.replay(_raw_loads((0, 8), (6, 10), (64, 8))).ok
    retired, resident = m.line_use("cpu0/L1")
    assert retired.tolist() == [0] * 16 + [1] + [0] * 48
    assert resident.tolist() == [0] * 8 + [1] + [0] * 56


def test_profiler_reports_line_utilisation():
    m = Machine(nodes=1, node_mem="16M", caches={"levels": LEVELS})
    prof = CacheProfiler(m, line_use=("cpu0/L1d",))
    replay_in_chunks(m, scan_and_chase(), chunk=4000, observers=[prof])
    use = prof.result()["line_utilisation"]["cpu0/L1d"]
    assert use["mean_bytes_used"] == 8.0     # one 8-byte load per 64-byte object, one object per line
    assert sum(use["retired_lines_by_bytes_used"]) > 0


CONFIG = [{"name": "L1d", "size": "32K", "ways": 8}, {"name": "L1i", "size": "32K", "ways": 8},
          {"name": "L2", "size": "256K", "ways": 8}, {"name": "L3", "size": "1M", "ways": 16}]


def _counters(stride: int, rounds: int = 10):
    """Two CPUs incrementing their own counters of one structure, `stride` bytes apart (at 8 and
    8 + stride), then the total at 0: CPU 0, CPU 1, CPU 0."""
    from sim.workloads.script import Workload
    w = Workload(cpus=2)
    obj = w.kmalloc(8 + 2 * stride, site="alloc_stats")
    for _ in range(rounds):
        w.modify(obj, 8, cpu=0, site="inc_a")
        w.modify(obj, 8 + stride, cpu=1, site="inc_b")
    w.modify(obj, 0, cpu=0, site="inc_total")
    w.modify(obj, 0, cpu=1, site="inc_total")
    w.modify(obj, 0, cpu=0, site="inc_total")
    return w.trace()


def test_false_sharing_lines_sides_and_fix():
    m = Machine(nodes=1, node_mem="16M", cpus_per_node=2, caches={"levels": CONFIG, "coherence": True})
    prof = CacheProfiler(m)
    replay_in_chunks(m, _counters(8), chunk=7, observers=[prof])
    coh = prof.result()["coherence"]
    json.dumps(coh)
    # Each CPU misses in rounds 2-10 on the copy the other's store to its own counter took: 18 false
    # sharing; CPU 0's first total misses on the copy CPU 1's last counter store took (false), then
    # each total misses on the copy the other's total store took: the same bytes, true sharing.
    assert (coh["coherence_misses"], coh["false_sharing"], coh["true_sharing"]) == (21, 19, 2)
    [line] = coh["lines"]
    assert line["kind"] == "false and true sharing" and line["line_addr"] % 64 == 0
    fields = {(s["cpu"], s["site"]): s["offsets"] for s in line["sides"]}
    assert fields == {(0, "inc_a"): [8, 16], (1, "inc_b"): [16, 24], (0, "inc_total"): [0, 8],
                      (1, "inc_total"): [0, 8]}
    assert all(s["alloc_site"] == "alloc_stats" for s in line["sides"])
    # the total (both CPUs), inc_a (CPU 0), inc_b (CPU 1) each on its own line: 56 + 56 bytes
    assert line["pad_bytes"] == 112 and "insert 56 bytes before offset 8" in line["fix"]
    assert "56 bytes before offset 16" in line["fix"] and "true sharing of offset 0" in line["fix"]
    padded = Machine(nodes=1, node_mem="16M", cpus_per_node=2, caches={"levels": CONFIG, "coherence": True})
    prof = CacheProfiler(padded)
    replay_in_chunks(padded, _counters(64), chunk=7, observers=[prof])
    coh = prof.result()["coherence"]
    assert (coh["false_sharing"], coh["true_sharing"]) == (0, 1)
    assert coh["lines"][0]["fix"].startswith("true sharing: the CPUs write the same bytes")


def test_amat_per_cpu_site_and_object_by_hand():
    """One CPU: a cold kmalloc-64 object, read twice at one site and written once at another, with
    L1 1 ns, L2 2 ns, L3 4 ns and memory 10 ns (one node)."""
    from sim.workloads.script import Workload
    m = Machine(nodes=1, node_mem="16M", caches={"levels": CONFIG, "latency": {
        "L1d": 1, "L1i": 1, "L2": 2, "L3": 4, "memory": 10}})
    prof = CacheProfiler(m)
    w = Workload()
    obj = w.kmalloc(64, site="alloc")
    w.load(obj, 0, site="reader")       # memory: 1 + 2 + 4 + 10 = 17 ns
    w.load(obj, 8, site="reader")       # L1: 1 ns
    w.store(obj, 16, site="writer")     # L1: 1 ns
    replay_in_chunks(m, w.trace(), chunk=2, observers=[prof])
    lat = prof.result()["latency"]
    assert lat["amat_ns"] == pytest.approx(19 / 3) and lat["cpus"]["0"]["amat_ns"] == pytest.approx(19 / 3)
    assert lat["served"] == {"L1d": 2 / 3, "L2": 0.0, "L3": 0.0, "memory": 1 / 3}
    assert lat["amat_by_level_ns"] == pytest.approx({"L1d": 2 / 3, "L2": 0.0, "L3": 0.0, "memory": 17 / 3})
    assert [(s["site"], s["accesses"], s["amat_ns"]) for s in lat["call_sites"]] == [("reader", 2, 9.0),
                                                                                     ("writer", 1, 1.0)]
    [o] = lat["objects"]
    assert (o["id"], o["alloc_site"], o["accesses"], o["amat_ns"]) == (obj, "alloc", 3, pytest.approx(19 / 3))
    assert dict(zip(lat["histogram"]["floor_ns"], lat["histogram"]["accesses"], strict=True)) == \
        {1.0: 2, **{f: 0 for f in lat["histogram"]["floor_ns"][1:-1]}, 16.0: 1}


def test_memory_latency_from_hmat_or_the_config():
    from kernel_model import Topology
    topo = Topology.from_slit([[10, 20], [20, 10]], "16M", latency=[[80, 150], [150, 80]])
    m = Machine(topology=topo, caches={"levels": CONFIG, "latency": {}})
    assert m.cache_memory_latency_ns() == [[80, 150], [150, 80]]
    m = Machine(nodes=2, node_mem="16M", caches={"levels": CONFIG, "latency": {"memory": 90}})
    assert m.cache_memory_latency_ns() == [[90, 180], [180, 90]]        # remote: x distance / 10
    with pytest.raises(ValueError, match="latency.memory conflicts with the topology's HMAT"):
        Machine(topology=topo, caches={"levels": CONFIG, "latency": {"memory": 90}})


def test_alignment_advice_by_hand():
    """A 40-byte kmem_cache without alignment: objects at 0, 40, 80, 120 ... of a slab. Reading
    each whole, the objects at 40 (bytes 40-79) and 120 (120-159) straddle a line, those at 0 and 80
    do not; padding the slot to 64 bytes (SLAB_HWCACHE_ALIGN) fixes it."""
    from sim.workloads.script import Workload
    m = Machine(nodes=1, node_mem="16M", caches={"levels": CONFIG})
    prof = CacheProfiler(m, alignment=True)
    w = Workload()
    cache = w.kmem_cache_create("obj40", 40)
    objs = [w.kmem_cache_alloc(cache, site="alloc40") for _ in range(4)]
    for o in objs:
        w.load(o, 0, 40, site="copy")
        w.load(o, 0, 8, site="field")
    replay_in_chunks(m, w.trace(), chunk=5, observers=[prof])
    al = prof.result()["alignment"]
    [c] = al["classes"]
    assert (c["cache"], c["slot"], c["placements"], c["straddling"], c["affected"], c["split"]) == \
        ("obj40", 40, 4, 2, 4, 2)
    assert (c["fixed_slot"], c["pad_bytes"], c["field_split"]) == (64, 24, 0)
    assert "pad the slot from 40 to 64 bytes" in c["fix"] and "SLAB_HWCACHE_ALIGN" in c["fix"]
    assert sorted((o["line_offset"], o["lines"], o["need"]) for o in al["objects"]) == [(40, 2, 1), (56, 2, 1)]
    assert {o["alloc_site"] for o in al["objects"]} == {"alloc40"}
