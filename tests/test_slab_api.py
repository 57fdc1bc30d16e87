"""The slab allocator's API, its Linux fidelity (against a real 6.1 capture), stats, waste and replay."""

from __future__ import annotations

import lzma
import re
from collections import Counter

import numpy as np
import pytest

from kernel_model import Machine, Op, Trace, _core, trace
from kernel_model.reference.buddy import RefMachine
from kernel_model.reference.slab import RefSlabAllocator
from kernel_model.slabinfo import SLABINFO_HEADER, format_slabinfo_row, parse_slabinfo
from sim.workloads import LINUX_6_1_KMALLOC_MIX, kmalloc_churn


def test_slab_layout_matches_every_cache_of_a_real_kernel(linux_capture):
    """objperslab and pagesperslab of every cache follow from its size on a 2-CPU machine."""
    rows = parse_slabinfo((linux_capture / "after" / "slabinfo.txt").read_text())
    assert len(rows) > 100
    for r in rows:
        order = _core.slab_calculate_order(r["objsize"], 2)
        assert (1 << order, (4096 << order) // r["objsize"]) == (r["pagesperslab"], r["objperslab"]), r["name"]


def test_slabinfo_rows_print_like_the_kernel(linux_capture):
    text = (linux_capture / "after" / "slabinfo.txt").read_text()
    assert text.startswith(SLABINFO_HEADER)
    for line, r in zip(text.splitlines(keepends=True)[2:], parse_slabinfo(text), strict=True):
        assert format_slabinfo_row(r["name"], r["active_objs"], r["num_objs"], r["objsize"], r["objperslab"],
                                   r["pagesperslab"], r["num_slabs"]) == line


def test_kmalloc_mix_is_the_captures_histogram(linux_capture):
    with lzma.open(linux_capture / "trace.txt.xz", "rt") as f:
        sizes = Counter(int(m.group(1)) for line in f if " kmalloc: " in line
                        for m in [re.search(r"bytes_req=(\d+)", line)])
    assert dict(sizes) == LINUX_6_1_KMALLOC_MIX


def test_kmalloc_cache_lineup_and_size_classes():
    m = Machine(nodes=1, node_mem="16M", cpus_per_node=2)
    names = [c.name for c in m.caches()]
    assert names == ["kmalloc-8", "kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-96", "kmalloc-128",
                     "kmalloc-192", "kmalloc-256", "kmalloc-512", "kmalloc-1k", "kmalloc-2k", "kmalloc-4k",
                     "kmalloc-8k"]
    expect = {1: "kmalloc-8", 8: "kmalloc-8", 9: "kmalloc-16", 33: "kmalloc-64", 64: "kmalloc-64",
              65: "kmalloc-96", 96: "kmalloc-96", 97: "kmalloc-128", 129: "kmalloc-192", 192: "kmalloc-192",
              193: "kmalloc-256", 257: "kmalloc-512", 1025: "kmalloc-2k", 8192: "kmalloc-8k"}
    for size, name in expect.items():
        assert m.kmalloc_cache(size).name == name
    # newest first, as /proc/slabinfo lists them
    assert [line.split()[0] for line in m.slabinfo().splitlines()[2:]] == names[::-1]
    stats = m.slab_stats("kmalloc-8k")
    assert (stats["order"], stats["objs_per_slab"], stats["align"]) == (3, 4, 8192)
    assert m.slab_stats("kmalloc-96")["align"] == 8


def test_large_kmalloc_goes_to_the_page_allocator():
    m = Machine(nodes=1, node_mem="16M", pcp=False)
    free_before = m.nr_free_pages()
    addr = m.kmalloc(8193)
    assert addr % 16384 == 0 and m.nr_free_pages() == free_before - 4      # order 2, page aligned
    with pytest.raises(ValueError, match="kfree"):
        m.free_pages(addr >> 12, 2)
    w = m.slab_waste()["large_kmalloc"]
    assert w == {"calls": 1, "requested": 8193, "rounding": 16384 - 8193}
    m.kfree(addr)
    assert m.nr_free_pages() == free_before


def test_kmalloc_zero_and_null():
    m = Machine(nodes=1, node_mem="16M")
    assert m.kmalloc(0) == 16          # ZERO_SIZE_PTR
    m.kfree(16)
    m.kfree(0)


def test_waste_hand_computed():
    m = Machine(nodes=1, node_mem="16M")
    m.kmalloc(70)
    w = m.slab_waste()["caches"]["kmalloc-96"]
    # one order-0 slab of 42 96-byte objects. It is the CPU's active slab, which sysfs (and so
    # tools/mm/slabinfo) counts as fully in use: Loss = 4096 - 42 * 96. Rounding: 96 - 70.
    assert (w["loss"], w["kmalloc_rounding"], w["kmalloc_calls"], w["kmalloc_requested"]) == (64, 26, 1, 70)
    assert m.slab_waste()["total_kmalloc_rounding"] == 26


def test_sysfs_stats_hand_computed():
    m = Machine(nodes=1, node_mem="16M", cpus_per_node=2)
    c = m.kmem_cache_create("obj", 1000)
    st = m.slab_stats(c)
    # slot 1000; min_objects 4 * (fls(2) + 1) = 12 -> order 2 holds 16 with 384 <= 16384/16 left over
    assert (st["order"], st["objs_per_slab"], st["min_partial"], st["cpu_partial"]) == (2, 16, 5, 52)
    objs = [m.kmem_cache_alloc(c, cpu=0) for _ in range(20)]
    assert objs[:2] == [objs[0], objs[0] + 1000]            # the freelist starts in address order
    st = m.slab_stats(c)
    assert (st["slabs"], st["objects"], st["cpu_slabs"]) == (2, 32, 1)
    assert (st["alloc_fastpath"], st["alloc_slowpath"], st["alloc_slab"], st["deactivate_bypass"]) == (18, 2, 2, 1)
    for o in objs:
        m.kmem_cache_free(c, o, cpu=1)                      # every free is remote
    st = m.slab_stats(c)
    assert (st["free_slowpath"], st["cpu_partial_free"], st["free_frozen"], st["free_fastpath"]) == (20, 1, 19, 0)
    assert st["cpu_slabs"] == 2                             # cpu0's active slab + the one on cpu1's partial list


def test_slab_free_errors():
    m = Machine(nodes=1, node_mem="16M")
    a, b = m.kmem_cache_create("a", 64), m.kmem_cache_create("b", 64)
    x = m.kmem_cache_alloc(a)
    with pytest.raises(ValueError, match="another cache"):
        m.kmem_cache_free(b, x)
    with pytest.raises(ValueError, match="not an allocated object"):
        m.kfree(x + 8)
    page = m.alloc_pages(0)
    with pytest.raises(ValueError, match="alloc_pages"):
        m.kfree(page << 12)
    m.kfree(x)                                              # kfree works on any slab object
    with pytest.raises(ValueError, match="double free"):
        m.kmem_cache_free(a, x)
    with pytest.raises(ValueError, match="no kmem_cache"):
        m.slab_stats("nope")
    with pytest.raises(ValueError, match="align"):
        m.kmem_cache_create("bad", 64, align=24)


def test_reclaimable_cache_uses_reclaimable_pageblocks():
    m = Machine(nodes=1, node_mem="16M", pcp=False)
    c = m.kmem_cache_create("dentry", 192, reclaimable=True)
    m.kmem_cache_alloc(c)
    assert m.pageblock_counts(0)[2] > 0                     # a pageblock was claimed for reclaimable


def rows(*recs):
    out = trace.empty(len(recs))
    for i, (op, ident, arg0, arg1, cpu) in enumerate(recs):
        out[i] = (op, 0, cpu, 3 if op == Op.CACHE_CREATE else 0, ident, arg0, arg1)
    return out


def test_replay_of_slab_ops_and_their_errors():
    K, F, C, CA, CF, PA, PF = Op.KMALLOC, Op.KFREE, Op.CACHE_CREATE, Op.CACHE_ALLOC, Op.CACHE_FREE, \
        Op.PAGE_ALLOC, Op.PAGE_FREE
    NN = trace.NO_NODE
    recs = rows(
        (C, 10, 200, 0, 0),        # 0 cache "inode" (site 3), id 10
        (CA, 1, 0, 10, 0),         # 1 object of it
        (K, 2, 100, NN, 1),        # 2 kmalloc(100)
        (K, 3, 20000, NN, 0),      # 3 large kmalloc
        (PA, 4, 0, NN, 0),         # 4 a page (flags 0: unmovable)
        (CF, 2, 0, 10, 0),         # 5 kmalloc object freed to "inode": wrong cache
        (F, 4, 0, 0, 0),           # 6 kfree of a page allocation: wrong kind
        (PF, 2, 0, 0, 0),          # 7 free_pages of a kmalloc object: wrong kind
        (CA, 5, 0, 11, 0),         # 8 alloc from a cache id that names nothing
        (CF, 1, 0, 10, 1),         # 9 ok
        (CF, 1, 0, 10, 1),         # 10 double free
        (F, 2, 0, 0, 0),           # 11 ok
        (F, 3, 0, 0, 1),           # 12 ok (large)
        (F, 9, 0, 0, 0),           # 13 unknown id
    )
    m = Machine(nodes=2, node_mem="16M")
    res = m.replay(Trace(recs, ["", "", "", "inode"], nr_ids=12), results=True)
    assert [(e.record, e.kind) for e in res.errors] == [
        (5, "wrong_cache"), (6, "wrong_kind"), (7, "wrong_kind"), (8, "unknown_cache"), (10, "double_free"),
        (13, "unknown_id")]
    assert "inode" in m.slabinfo() and m.slab_stats("inode")["object_size"] == 200
    assert res.results[2] >> 12 >= m.base_pfn and res.results[3] % 4096 == 0
    assert m.slab_stats("inode")["objects"] == m.slab_stats("inode")["total_objects"]   # cpu slab counts as active


def test_replay_matches_reference_and_the_api():
    t = kmalloc_churn(30000, 2000, cpus=4, seed=5)
    m = Machine(nodes=2, node_mem="32M", cpus_per_node=2)
    ref = RefSlabAllocator(RefMachine.like(m), 2)
    res = m.replay(t, results=True)
    assert res.ok
    expected = [a if a is not None else res.FAILED for a in ref.replay_kmalloc(t.records)]
    assert expected == res.results[t.records["op"] == Op.KMALLOC].tolist()
    # chunked replay gives the same addresses
    m2 = Machine(nodes=2, node_mem="32M", cpus_per_node=2)
    parts = [m2.replay(t.records[i:i + 4999], results=True).results for i in range(0, len(t), 4999)]
    assert np.array_equal(np.concatenate(parts), res.results)
    assert m.slabinfo() == m2.slabinfo()


def test_slab_pages_is_the_sum_over_caches_of_slabs_by_order():
    from sim.workloads import kmalloc_churn

    m = Machine(nodes=2, node_mem="64M", cpus_per_node=1)
    assert m.slab_pages() == 0
    m.replay(kmalloc_churn(20_000, 2_000, cpus=2, seed=4))
    expect = sum(m.slab_stats(c)["slabs"] << m.slab_stats(c)["order"] for c in m.caches())
    assert m.slab_pages() == expect > 0
