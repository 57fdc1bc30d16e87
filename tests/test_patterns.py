"""Allocation-pattern analyzer against hand-computed cases, and kmalloc rounding against the model."""

from __future__ import annotations

import numpy as np

from kernel_model import Machine, Op, Trace, trace
from sim.profilers.patterns import analyze, kmalloc_size_roundup

SITES = ["", "net_rx", "ext4_inode", "phase_b", "dentry"]


def make(rows):
    rec = trace.empty(len(rows))
    for i, row in enumerate(rows):
        rec[i] = row
    return Trace(rec, SITES, nr_ids=16)


def test_kmalloc_rounding_matches_the_model_for_every_size():
    m = Machine(nodes=1, node_mem="16M")
    sizes = np.arange(1, 8193)
    ours = kmalloc_size_roundup(sizes)
    model = [m.slab_stats(m.kmalloc_cache(int(s)))["object_size"] for s in sizes]
    assert ours.tolist() == model
    large = [8193, 12288, 16385]               # the page allocator: PAGE_SIZE << get_order(size)
    assert kmalloc_size_roundup(np.array([0, *large])).tolist() == [0, 16384, 16384, 32768]
    for s in large:
        m.kmalloc(s)
    assert m.slab_waste()["large_kmalloc"]["rounding"] == 16384 + 16384 + 32768 - sum(large)


def test_hand_computed_trace():
    K, F, P, PF = Op.KMALLOC, Op.KFREE, Op.PAGE_ALLOC, Op.PAGE_FREE
    rows = [
        (K, 0, 0, 1, 0, 100, 0),              # 0: net_rx 100 B (kmalloc-128: 28 B waste)
        (K, 0, 0, 1, 1, 100, 0),              # 1
        (F, 0, 0, 0, 0, 0, 0),                # 2: id 0 freed, 0 allocations in between -> temporary
        (P, 0, 0, 2, 2, 1, 0),                # 3: ext4_inode order 1 = 8192 B
        (Op.PHASE, 0, 0, 3, trace.NO_ID, 1, 0),  # 4: phase "phase_b"
        (K, 0, 0, 1, 0, 3000, 0),             # 5: id 0 reused: 3000 B (kmalloc-4k: 1096 B waste)
        (F, 0, 0, 0, 1, 0, 0),                # 6: id 1 freed after 2 other allocations (3, 5)
        (PF, 0, 0, 0, 2, 1, 0),               # 7
        (Op.CACHE_CREATE, 0, 0, 4, 7, 192, 0),  # 8: cache 7, 192 B objects
        (Op.CACHE_ALLOC, 0, 0, 4, 3, 0, 7),   # 9: never freed
    ]
    a = analyze(make(rows), temporary_within=2, window=5)
    assert (a["allocs"], a["frees"], a["live"]) == (5, 3, 2)
    assert a["bytes"] == 100 + 100 + 8192 + 3000 + 192 and a["live_bytes"] == 3000 + 192
    assert a["size_histogram"] == {"<=128": 2, "<=256": 1, "<=4096": 1, "<=8192": 1}
    assert a["top_sizes"][0] == {"size": 100, "count": 2}
    assert a["kmalloc_rounding_waste"] == 28 + 28 + 1096
    assert a["lifetime_records"] == {"<=2": 1, "<=8": 1, "<=4": 1}   # lifetimes 2, 5, 4
    assert a["temporaries"] == 2              # id 0's first life (0 allocs between) and the page (1: record 5)
    assert a["misaligned"] == 2                                     # the two 100-byte requests
    assert [(p["phase"], p["allocs"], p["frees"]) for p in a["phases"]] == [("start", 3, 1), ("phase_b", 2, 2)]
    sites = {s["call_site"]: s for s in a["call_sites"]}
    assert sites["net_rx"] == {"call_site": "net_rx", "allocs": 3, "bytes": 3200, "live": 1, "live_bytes": 3000,
                               "peak_bytes": 3100, "temporaries": 1, "rounding_waste": 1152}
    assert sites["ext4_inode"]["peak_bytes"] == 8192 and sites["ext4_inode"]["live"] == 0
    assert sites["ext4_inode"]["temporaries"] == 1
    assert sites["dentry"]["live_bytes"] == 192


def test_bursts_and_recommendations():
    rows = []
    for _ in range(400):                       # a steady trickle of 40-byte kmallocs freed at once
        rows += [(Op.KMALLOC, 0, 0, 1, 0, 40, 0), (Op.KFREE, 0, 0, 0, 0, 0, 0), (Op.NOP, 0, 0, 0, 0, 0, 0),
                 (Op.NOP, 0, 0, 0, 0, 0, 0)]
    rows += [(Op.KMALLOC, 0, 0, 2, 1 + i, 64, 0) for i in range(12)]   # a burst at the end
    a = analyze(make(rows + [(Op.NOP, 0, 0, 0, 0, 0, 0)] * 3), window=20)
    assert a["median_allocs_per_window"] == 5 and a["nr_bursts"] == 1
    assert a["bursts"][0] == {"records": [1600, 1612 + 3], "allocs": 12}
    recs = [r["recommendation"] for r in a["recommendations"]]
    assert "a dedicated kmem_cache for 40-byte objects" in recs       # kmalloc-64: 24 of 64 bytes wasted
    assert "net_rx: short-lived allocations, use a per-CPU buffer or a mempool" in recs
    ev = a["recommendations"][0]["evidence"]
    assert ev == {"size": 40, "count": 400, "share": round(400 / 412, 4), "kmalloc_class": 64, "bytes_saved": 9600}
    assert not any("64-byte" in r for r in recs)                    # no waste, no recommendation
