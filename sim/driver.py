"""Replay a trace in chunks, letting observers (profilers) read the machine between chunks."""

from __future__ import annotations

from collections.abc import Iterable

from kernel_model import Machine, ReplayResult, Trace


def replay_in_chunks(machine: Machine, trace: Trace, chunk: int, observers: Iterable = ()) -> list[ReplayResult]:
    """Replay trace `chunk` records at a time; after each chunk every observer's observe(records_done)
    runs. Returns the chunks' results."""
    if chunk <= 0:
        raise ValueError("chunk must be positive")
    observers = list(observers)
    results = []
    for start in range(0, len(trace), chunk):
        part = Trace(trace.records[start:start + chunk], trace.sites, trace.nr_ids)
        results.append(machine.replay(part))
        for obs in observers:
            obs.observe(start + len(part))
    return results
