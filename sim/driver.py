"""Replay a trace in chunks, letting observers (profilers) read the machine between chunks."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from kernel_model import Machine, Op, ReplayResult, Trace


def time_boundaries(trace: Trace, every_ns: int) -> np.ndarray:
    """Record counts at which simulated time (the TIME records' sum) first reaches each multiple
    of every_ns, and the end of the trace."""
    rec = trace.records
    now = np.cumsum(np.where(rec["op"] == Op.TIME, rec["arg1"], 0).astype(np.uint64))
    if not len(now):
        return np.zeros(0, np.int64)
    marks = np.arange(every_ns, int(now[-1]) + 1, every_ns, dtype=np.uint64)
    ends = np.searchsorted(now, marks, side="left") + 1
    return np.unique(np.append(ends, len(rec)))


def replay_in_chunks(machine: Machine, trace: Trace, chunk: int | None = None, observers: Iterable = (),
                     every_ns: int | None = None) -> list[ReplayResult]:
    """Replay trace `chunk` records at a time, or up to each `every_ns` of simulated time; after
    each chunk every observer's observe(records_done) runs. Returns the chunks' results."""
    if every_ns is not None:
        if every_ns <= 0:
            raise ValueError("every_ns must be positive")
        ends = time_boundaries(trace, every_ns)
    else:
        if not chunk or chunk <= 0:
            raise ValueError("chunk must be positive")
        ends = np.append(np.arange(chunk, len(trace), chunk), len(trace)) if len(trace) else np.zeros(0, np.int64)
    observers = list(observers)
    results, start = [], 0
    for end in ends.tolist():
        part = Trace(trace.records[start:end], trace.sites, trace.nr_ids)
        results.append(machine.replay(part))
        start = end
        for obs in observers:
            obs.observe(end)
    return results
