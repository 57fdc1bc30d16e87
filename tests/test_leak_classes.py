"""The seed's leak classes and kmemleak's false positives: NOT_LEAK and CACHE_DESTROY in the
replay, Resource and Fragmentation leaks and false-positive rates per site by hand, the objects a
kmem_cache has in use against a count of them under random streams, and the leak-classes scenario."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scenarios import validate_report

from kernel_model import Machine, Op, Trace
from sim.profilers.leaks import LeakDetector
from sim.scenario import run_scenario
from sim.workloads.script import Workload

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def replay_in_parts(m: Machine, det: LeakDetector, w: Workload, cuts: list[int]) -> None:
    """Replay w's trace cut at the record counts in `cuts`, a leak scan after each part."""
    t = w.trace()
    start = 0
    for end in [*cuts, len(t)]:
        m.replay(Trace(t.records[start:end], t.sites, t.nr_ids))
        det.observe(end)
        start = end


def test_false_positives_per_site_by_hand():
    m = Machine(nodes=1, node_mem="16M")
    w = Workload()
    x, y = w.kmalloc(64, site="s1"), w.kmalloc(64, site="s1")
    z = w.kmalloc(64, site="s2")
    v = w.kmalloc(64, site="s3")
    w.kmalloc(64, site="s3")                # reported, never contradicted: a leak
    stash = w.kmalloc(64, site="s4")
    w.not_leak(stash)                       # marked when allocated: never reported...
    kept = w.kmalloc(64, site="s5")
    w.ref(stash, kept)                      # ...and scanned: what it points to is referenced
    first = len(w)
    w.time(1)
    second = len(w)                         # after two scans x, y, z, v and u are reported
    w.free(x)                               # freed: the report was false
    w.root(y)                               # referenced again
    w.not_leak(z)                           # marked not a leak after the report
    third = len(w)
    w.free(v)
    det = LeakDetector(m, w.trace(), min_age=0)
    replay_in_parts(m, det, w, [first, second, third])
    assert det.kinds()[kept] == "still_reachable" and det.kinds()[stash] == "still_reachable"
    fp = det.result()["false_positives"]
    assert (fp["reports"], fp["false_positives"], fp["rate"]) == (5, 4, 0.8)
    assert fp["by_reason"] == {"freed": 2, "referenced": 1, "not_leak": 1}
    assert fp["marked_not_leak"] == 2
    rows = {r["site"]: (r["reports"], r["freed"], r["referenced"], r["not_leak"], r["rate"]) for r in fp["by_site"]}
    assert rows == {"s1": (2, 1, 1, 0, 1.0), "s2": (1, 0, 0, 1, 1.0), "s3": (2, 1, 0, 0, 0.5)}
    assert [(c["site"], c["reason"], c["contradicted_at"]) for c in fp["contradicted"]] == [
        ("s1", "freed", third), ("s1", "referenced", third), ("s2", "not_leak", third), ("s3", "freed", len(w))]


def test_resource_leaks_by_hand():
    m = Machine(nodes=1, node_mem="16M")
    w = Workload()
    for _ in range(2):
        w.alloc_pages(0, site="never")
    keep = w.alloc_pages(1, site="sometimes")
    w.free_pages(w.alloc_pages(1, site="sometimes"))
    c1 = w.kmem_cache_create("c1", 100)
    w.free(w.kmem_cache_alloc(c1))
    w.kmem_cache_destroy(c1)                # empty: destroyed
    w.kmem_cache_create("c2", 100)          # never destroyed
    c3 = w.kmem_cache_create("c3", 2000)
    w.kmem_cache_alloc(c3, site="c3:obj")
    w.kmem_cache_destroy(c3)                # objects in use: refused, the cache stays
    det = LeakDetector(m, w.trace(), min_age=0)
    res = m.replay(w.trace())
    assert res.error_counts == {"cache_busy": 1} and keep is not None
    det.observe(len(w))
    r = det.result()["resource"]
    assert r["page_sites"] == [{"site": "never", "allocations": 2, "pages": 2, "bytes": 8192}]
    order = m.slab_stats("c3")["order"]
    assert r["caches"] == [{"cache": "c2", "objects_in_use": 0, "slabs": 0, "pages": 0, "bytes": 0},
                           {"cache": "c3", "objects_in_use": 1, "slabs": 1, "pages": 1 << order,
                            "bytes": 4096 << order}]
    assert det.result()["classes"]["resource"] == {"objects": 4, "bytes": 8192 + (4096 << order)}
    assert [c.name for c in m.caches()][-2:] == ["c2", "c3"] and "c1" not in m.slabinfo()


def test_fragmentation_by_hand():
    m = Machine(nodes=1, node_mem="16M")
    w = Workload()
    c = w.kmem_cache_create("frag", 256)    # 16 objects in an order-0 slab
    objs = [w.kmem_cache_alloc(c, site=f"slab{k // 16}") for k in range(48)]
    keep = {0, 16, 17, 33, 34, 35}          # slab 0 keeps 1, slab 1 keeps 2, slab 2 (the CPU's active one) 3
    for k, o in enumerate(objs):
        if k not in keep:
            w.free(o)
    det = LeakDetector(m, w.trace(), min_age=0, frag_use=0.25)
    assert m.replay(w.trace()).ok
    det.observe(len(w))
    assert m.cache_objects_in_use(m.caches()[-1]) == 6
    f = det.result()["fragmentation"]
    assert {k: f[k] for k in ("slabs", "pages", "objects", "bytes", "free_bytes")} == \
        {"slabs": 2, "pages": 2, "objects": 3, "bytes": 8192, "free_bytes": 8192 - 3 * 256}
    assert f["by_site"] == [{"site": "slab0", "slabs": 1, "objects": 1, "bytes_kept": 4096},
                            {"site": "slab1", "slabs": 1, "objects": 2, "bytes_kept": 4096}]
    strict = LeakDetector(m, w.trace(), min_age=0, frag_use=2 / 16)   # slab 1: 2/16 is not below 2/16
    strict.observe(len(w))
    assert strict.result()["fragmentation"]["slabs"] == 1


def test_cache_destroy_records():
    m = Machine(nodes=1, node_mem="16M")
    w = Workload()
    c = w.kmem_cache_create("c", 64)
    o = w.kmalloc(32)
    w._emit(Op.CACHE_DESTROY, o)            # not a cache
    w._emit(Op.CACHE_DESTROY, c)
    w._emit(Op.CACHE_DESTROY, c)            # twice
    w._emit(Op.CACHE_ALLOC, 7, arg1=c)      # from a destroyed cache
    w._emit(Op.CACHE_DESTROY, 9999)
    res = m.replay(Trace(w.trace().records, w.trace().sites, nr_ids=8))
    assert [e.kind for e in res.errors] == ["unknown_cache", "double_free", "unknown_cache", "id_range"]
    with pytest.raises(ValueError, match="kmalloc cache"):
        m.kmem_cache_destroy(m.kmalloc_cache(64))
    with pytest.raises(ValueError, match="destroyed"):
        m.slab_stats("c")


def test_destroy_gives_every_slab_page_back():
    m = Machine(nodes=1, node_mem="16M", pcp=False)
    free = m.nr_free_pages()
    cache = m.kmem_cache_create("x", 700)
    addrs = [m.kmem_cache_alloc(cache) for _ in range(100)]
    with pytest.raises(ValueError, match="100 objects in use"):
        m.kmem_cache_destroy(cache)
    for a in addrs:
        m.kmem_cache_free(cache, a)
    m.kmem_cache_destroy(cache)
    assert m.nr_free_pages() == free and m.slab_counts()[cache.index][1:] == (0, 0)
    assert cache.name not in [c.name for c in m.caches()]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 2), st.integers(0, 10_000)), max_size=300),
       st.sampled_from([24, 256, 1000, 5000]))
def test_objects_in_use_follow_allocations_and_frees(ops, size):
    """Whatever the CPUs' slabs and partial lists hold, the count of objects in use is the live
    objects', and a destroy succeeds exactly when there are none."""
    m = Machine(nodes=2, node_mem="16M", cpus_per_node=2)
    cache = m.kmem_cache_create("t", size)
    live: list[int] = []
    for alloc, cpu, pick in ops:
        if alloc or not live:
            live.append(m.kmem_cache_alloc(cache, cpu=cpu % 4))
        else:
            m.kmem_cache_free(cache, live.pop(pick % len(live)), cpu=cpu % 4)
        assert m.cache_objects_in_use(cache) == len(live)
    if live:
        with pytest.raises(ValueError):
            m.kmem_cache_destroy(cache)
        for a in live:
            m.kmem_cache_free(cache, a)
    m.kmem_cache_destroy(cache)
    assert m.slab_counts()[cache.index][1:] == (0, 0)


def test_the_leak_classes_scenario(tmp_path):
    report = run_scenario(SCENARIOS / "leak-classes.toml", out=tmp_path).report
    validate_report(report)
    leaks = report["variants"][0]["leaks"]
    assert report["variants"][0]["replay"]["errors"] == 1           # the busy destroy of req_cache
    classes = leaks["classes"]
    assert all(classes[c]["bytes"] > 0 for c in ("direct", "indirect", "resource", "fragmentation"))
    rates = {r["site"]: r for r in leaks["false_positives"]["by_site"]}
    assert rates["dma:desc"]["rate"] == 1.0 and rates["dma:desc"]["not_leak"] == rates["dma:desc"]["reports"]
    assert rates["req:alloc"]["rate"] == rates["req:buf"]["rate"] == 0.0
    # a quarter of defer:free objects and a fifth of queue:pending ones are real leaks
    assert rates["defer:free"]["freed"] == rates["defer:free"]["false_positives"]
    assert 0.70 <= rates["defer:free"]["rate"] <= 0.80 and 0.75 <= rates["queue:pending"]["rate"] <= 0.85
    assert {c["cache"] for c in leaks["resource"]["caches"]} == {"req_cache", "conn_cache"}
    assert [p["site"] for p in leaks["resource"]["page_sites"]] == ["fw:load_blob"]
    assert "percpu:stash" not in rates
    assert (tmp_path / "charts" / "leak_classes.svg").exists()
