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
