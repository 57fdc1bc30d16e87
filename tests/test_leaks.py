"""Leak detection: REF/ROOT ops in the replay, the scan of model memory, memcheck's categories
against a pure-Python reference, kmemleak's reporting rule, and the scripting API."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel_model import Machine
from kernel_model._core import leak_classify
from sim.driver import replay_in_chunks
from sim.profilers.leaks import KINDS, LeakDetector, classify
from sim.workloads.object_graph import object_graph, planted_leaks
from sim.workloads.script import Workload


def reference_kinds(n: int, edges: list[tuple[int, int, bool]], roots: set[int]) -> list[str]:
    """memcheck's categories, written the plain way."""
    out = {}

    def reach(start: set[int], starts_only: bool) -> set[int]:
        seen, todo = set(start), list(start)
        while todo:
            i = todo.pop()
            for s, d, interior in edges:
                if s == i and d not in seen and not (starts_only and interior):
                    seen.add(d)
                    todo.append(d)
        return seen

    reachable = reach(roots, True)
    anyway = reach(reachable, False)
    for i in range(n):
        out[i] = "still_reachable" if i in reachable else "possibly_lost" if i in anyway else None
    lost = [i for i in range(n) if out[i] is None]
    pointed = {d for s, d, _ in edges if s in lost and d in lost and s != d}
    leaders = [i for i in lost if i not in pointed]
    done: set[int] = set()
    for group in (leaders, lost):          # then the first of each remaining cycle
        for i in group:
            if i in done:
                continue
            below = reach({i}, False) - {i}
            out[i] = "definitely_lost"
            done.add(i)
            for j in sorted(below):
                if j in lost and j not in done:
                    out[j] = "indirectly_lost"
                    done.add(j)
    return [out[i] for i in range(n)]


def csr(n: int, edges: list[tuple[int, int, bool]]):
    edges = sorted(edges, key=lambda e: e[0])
    row = np.searchsorted(np.array([e[0] for e in edges], np.int64), np.arange(n + 1)).astype(np.uint32)
    return (row, np.array([e[1] for e in edges], np.uint32), np.array([e[2] for e in edges], np.uint8))


graphs = st.integers(1, 12).flatmap(lambda n: st.tuples(
    st.just(n),
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.booleans()), max_size=3 * n),
    st.sets(st.integers(0, n - 1), max_size=3)))


@settings(max_examples=500, deadline=None)
@given(graphs)
def test_classification_matches_the_reference(graph):
    n, edges, roots = graph
    root = np.array([i in roots for i in range(n)], np.uint8)
    kinds = [KINDS[k] for k in leak_classify(*csr(n, edges), root)]
    assert kinds == reference_kinds(n, edges, roots)


def test_classification_by_hand():
    # 0 root -> 1 (start) -> 2 (interior) ; 3 -> 4 ; 5 <-> 6 cycle ; 7 alone
    edges = [(0, 1, False), (1, 2, True), (3, 4, False), (5, 6, False), (6, 5, False)]
    kinds = leak_classify(*csr(8, edges), np.array([1, 0, 0, 0, 0, 0, 0, 0], np.uint8))
    assert [KINDS[k] for k in kinds] == ["still_reachable", "still_reachable", "possibly_lost", "definitely_lost",
                                         "indirectly_lost", "definitely_lost", "indirectly_lost", "definitely_lost"]


def _machine() -> Machine:
    m = Machine(nodes=1, node_mem="16M", cpus_per_node=2)
    m.enable_leak_tracking()
    return m


def test_references_are_real_words_in_model_memory():
    w = Workload()
    a, b = w.kmalloc(64), w.kmalloc(100)
    w.root(a)
    w.ref(a, b, offset=8, interior=40)
    m = _machine()
    res = m.replay(w.trace(), results=True)
    assert res.ok
    scan = m.leak_scan()
    addr = dict(zip(scan["id"].tolist(), scan["addr"].tolist(), strict=True))
    assert addr[b] == res.results[1]
    assert scan["src"].tolist() == [scan["id"].tolist().index(a)] and scan["value"].tolist() == [addr[b] + 40]
    assert [KINDS[k] for k in classify(scan)] == ["still_reachable", "possibly_lost"]


def test_objects_start_zeroed_so_stale_pointers_never_count():
    """A freed object's memory still holds its pointers; the next object there must not inherit them."""
    w = Workload()
    a, b = w.kmalloc(64), w.kmalloc(64)
    w.ref(a, b, offset=0)
    w.free(a)
    c = w.kmalloc(64)            # SLUB hands out a's memory again (LIFO freelist)
    m = _machine()
    res = m.replay(w.trace(), results=True)
    assert res.results[-1] == res.results[0]
    scan = m.leak_scan()
    assert len(scan["value"]) == 0 and sorted(scan["id"].tolist()) == sorted([b, c])


def test_ref_errors_are_reported_with_the_record():
    w = Workload()
    a, b = w.kmalloc(32), w.kmalloc(32)
    p = w.alloc_pages(0)
    w.ref(a, b, offset=4)        # unaligned
    w.ref(a, b, offset=32)       # past the 32-byte object
    w.ref(a, b, offset=0, interior=32)   # interior offset past the target
    w.ref(a, p)                  # a page allocation is not an object
    w.free(b)
    w.ref(a, b)                  # target freed
    res = _machine().replay(w.trace())
    assert [(e.record, e.kind) for e in res.errors] == [(3, "unaligned"), (4, "out_of_bounds"), (5, "out_of_bounds"),
                                                       (6, "wrong_kind"), (8, "use_after_free")]


def test_kmemleak_reports_after_two_scans_and_min_age_once():
    w = Workload()
    keep = w.kmalloc(64, site="keep")
    w.root(keep)
    for _ in range(10):
        w.time(1)
    lost = w.kmalloc(64, site="lost")
    for _ in range(40):
        w.time(1)
    t = w.trace()
    m = Machine(nodes=1, node_mem="16M")
    d = LeakDetector(m, t, min_age=15)
    # scans at 10 (lost not allocated yet), 20 (white, first time), 30 (white again, age 18 >= 15: reported),
    # 40 and 52 (already reported)
    replay_in_chunks(m, t, 10, [d])
    r = d.result()
    assert r["kmemleak"]["reported"] == 1
    assert [(x["id"], x["site"], x["reported_at"]) for x in r["kmemleak"]["reports"]] == [(lost, "lost", 30)]
    assert r["summary"]["definitely_lost"] == {"objects": 1, "bytes": 64}


def test_object_graph_plants_are_found_exactly():
    t = object_graph(6000, leaks=2, population=300, seed=5)
    m = Machine(nodes=1, node_mem="64M", cpus_per_node=2)
    d = LeakDetector(m, t)
    replay_in_chunks(m, t, 4000, [d])
    found = {k: {i for i, kk in d.kinds().items() if kk == k} for k in planted_leaks(t)}
    assert found == planted_leaks(t) and sum(map(len, found.values())) == 8


def test_script_api_builds_the_records_it_says():
    w = Workload(cpus=2)
    c = w.kmem_cache_create("dentry", 192, reclaimable=True)
    o = w.kmem_cache_alloc(c, cpu=1, site="d_alloc")
    w.call("vfs_read", 128)
    w.store(o, 8, 8, site="d_init")
    w.ret()
    w.free(o, cpu=1)
    p = w.alloc_pages(2, "movable")
    w.free_pages(p)
    w.phase("done")
    t = w.trace()
    assert [int(x) for x in t.records["op"]] == [5, 6, 12, 9, 13, 7, 1, 2, 21]
    assert t.sites[t.records["site"][1]] == "d_alloc" and t.records["arg1"][5] == c
    res = Machine(nodes=1, node_mem="16M", cpus_per_node=2).replay(t)
    assert res.ok and res.records == 9
    try:
        w.free(o)
    except ValueError as e:
        assert "not a live object" in str(e)
    else:
        raise AssertionError("double free accepted by the script")
