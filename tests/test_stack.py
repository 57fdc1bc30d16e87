"""The stack model: depth, high-water mark and chain, overflows, errors."""

from __future__ import annotations

from kernel_model import Machine, Op, Trace, trace
from sim.profilers.stack import StackProfiler


def calls(*rows):
    rec = trace.empty(len(rows))
    for i, (op, site, size) in enumerate(rows):
        rec[i] = (op, 0, 0, site, trace.NO_ID, size, 0)
    return Trace(rec, ["", "a", "b", "c"], nr_ids=0)


def test_high_water_chain_and_overflow_by_hand():
    m = Machine(nodes=1, node_mem="16M")
    prof = StackProfiler(m, stack_size=350)
    res = m.replay(calls((Op.CALL, 1, 100), (Op.CALL, 2, 200), (Op.RET, 0, 0), (Op.CALL, 3, 300),
                         (Op.RET, 0, 0), (Op.RET, 0, 0), (Op.RET, 0, 0)))
    assert [(e.record, e.kind) for e in res.errors] == [(6, "bad_arg")]        # a return without a call
    out = prof.result()
    assert out["cpus"][0] == {"cpu": 0, "high_water": 400, "overflows": 1, "calls": 3}
    assert out["deepest_chain"]["functions"] == ["a", "c"]
    assert out["largest_frames"][0] == {"function": "c", "bytes": 300}
    assert out["kstack_buckets"]["kstack_1k"] == 1


def test_frames_deeper_than_the_model_are_rejected():
    m = Machine(nodes=1, node_mem="16M")
    m.enable_stacks()
    res = m.replay(calls(*[(Op.CALL, 1, 8)] * 257))
    assert res.error_counts == {"bad_arg": 1} and m.stacks()[0][0]["high_water"] == 256 * 8
