"""Replay of page ops in C: results, chunking, and every kind of bad record."""

from __future__ import annotations

import numpy as np
import pytest

from kernel_model import Machine, Op, Trace, trace
from kernel_model.reference.buddy import RefMachine
from kernel_model.trace import NO_NODE


def ops(*rows) -> np.ndarray:
    """rows: (op, id, arg0[, flags[, cpu[, arg1]]])"""
    out = trace.empty(len(rows))
    for i, row in enumerate(rows):
        op, ident, arg0, flags, cpu, arg1 = (tuple(row) + (1, 0, NO_NODE))[:6] if len(row) == 3 else \
            (tuple(row) + (0, NO_NODE))[:6] if len(row) == 4 else (tuple(row) + (NO_NODE,))[:6]
        out[i] = (op, flags, cpu, 0, ident, arg0, arg1)
    return out


A, F = Op.PAGE_ALLOC, Op.PAGE_FREE


def test_replay_allocates_and_frees_like_the_api():
    m, api = Machine(nodes=2, node_mem="8M"), Machine(nodes=2, node_mem="8M")
    res = m.replay(ops((A, 0, 0), (A, 1, 3), (F, 0, 0), (A, 2, 1, 0, 1), (F, 1, 3)), results=True)
    assert res.ok and res.records == 5
    assert res.op_counts == {"page_alloc": 3, "page_free": 2}
    p0, p1 = api.alloc_pages(0), api.alloc_pages(3)
    api.free_pages(p0, 0)
    p2 = api.alloc_pages(1, "unmovable", cpu=1)
    api.free_pages(p1, 3)
    assert res.results.tolist() == [p0, p1, 0, p2, 0]
    assert (m.nr_free() == api.nr_free()).all()


@pytest.mark.parametrize("bad,kind", [
    ((F, 5, 0), "unknown_id"),
    ((A, 0, 0), "id_live"),
    ((F, 0, 2), "wrong_order"),
    ((A, 9, 11), "bad_arg"),              # order > MAX_PAGE_ORDER
    ((A, 9, 0, 3), "bad_arg"),            # highatomic is not requestable
    ((A, 9, 0, 1, 7), "bad_arg"),         # no such CPU
    ((A, 9, 0, 1, 0, 5), "bad_arg"),      # no such node
    ((Op.REF_SET, 9, 64), "unknown_id"),
    ((Op.LOAD, 0, 8, 0, 0, 4090), "out_of_bounds"),   # 8 bytes at 4090 of an order-0 page
    ((Op.LOAD, 9, 8, 0, 0, 0), "unknown_id"),
    ((200, 9, 0), "bad_op"),
    ((Op.ROOT_ADD, 0, 0), "wrong_kind"),      # a page allocation is not an object kmemleak tracks
    ((Op.KFREE, 0, 0), "wrong_kind"),      # kfree of an alloc_pages() allocation
    ((Op.CACHE_ALLOC, 9, 0, 0, 0, 1), "unknown_cache"),
])
def test_bad_records_are_reported_and_never_touch_the_model(bad, kind):
    good_before, good_after = [(A, 0, 0), (A, 1, 2)], [(F, 1, 2), (A, 2, 1)]
    m = Machine(nodes=2, node_mem="8M")
    res = m.replay(ops(*good_before, bad, *good_after), results=True)
    assert res.error_counts == {kind: 1}
    assert [(e.record, e.kind) for e in res.errors] == [(2, kind)]
    assert str(res.errors[0]).startswith("record 2: ")
    assert res.results[2] == res.ERROR
    clean = Machine(nodes=2, node_mem="8M")
    assert clean.replay(ops(*good_before, *good_after)).ok
    assert (m.nr_free() == clean.nr_free()).all()


def test_double_free_and_id_range():
    m = Machine(nodes=1, node_mem="8M")
    t = Trace(ops((A, 0, 0), (F, 0, 0), (F, 0, 0), (A, 3, 0)), nr_ids=3)
    res = m.replay(t)
    assert [(e.record, e.kind, e.id) for e in res.errors] == [(2, "double_free", 0), (3, "id_range", 3)]


def test_failed_allocation_then_free_is_skipped_not_an_error():
    m = Machine(nodes=1, node_mem="8M", pcp=False)
    rows = [(A, i, 10) for i in range(3)] + [(F, i, 10) for i in range(3)]
    res = m.replay(ops(*rows), results=True)
    # two order-10 blocks, but the watermark refuses to hand out the last one
    assert res.ok and res.alloc_failed == 2 and res.free_skipped == 2
    assert res.results[0] == m.base_pfn and res.results[1] == res.FAILED


def test_errors_log_is_bounded_but_counts_are_exact():
    m = Machine(nodes=1, node_mem="4M", max_logged_errors=10)
    res = m.replay(ops(*[(F, i, 0) for i in range(50)]))
    assert res.error_counts == {"unknown_id": 50} and len(res.errors) == 10
    assert res.errors[-1].record == 9


def test_chunked_replay_equals_one_shot():
    rng = np.random.default_rng(3)
    rows, live, nid = [], [], 0
    for _ in range(4000):
        if live and rng.random() < 0.5:
            i, o = live.pop(int(rng.integers(len(live))))
            rows.append((F, i, o, 0, int(rng.integers(2))))
        else:
            o = int(rng.choice([0, 0, 1, 2, 3]))
            rows.append((A, nid, o, int(rng.integers(3)), int(rng.integers(2))))
            live.append((nid, o))
            nid += 1
    records = ops(*rows)
    one, chunked = Machine(nodes=2, node_mem="8M"), Machine(nodes=2, node_mem="8M")
    r1 = one.replay(records, results=True)
    parts = [chunked.replay(records[i:i + 777], results=True) for i in range(0, len(records), 777)]
    assert np.concatenate([p.results for p in parts]).tolist() == r1.results.tolist()
    assert (one.nr_free() == chunked.nr_free()).all()
    # and the pure-Python reference returns the same pfns
    ref = RefMachine.like(Machine(nodes=2, node_mem="8M"))
    pfns = ref.replay_pages(records)
    alloc = records["op"] == A
    assert [p if p is not None else r1.FAILED for p in pfns] == r1.results[alloc].tolist()


def test_replay_rejects_wrong_dtype():
    with pytest.raises(TypeError):
        Machine(nodes=1, node_mem="4M").replay(np.zeros(3, np.uint64))
