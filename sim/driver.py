"""Replay a trace in chunks, letting observers (profilers) read the machine between chunks.

Two kinds of observer. A sampling one has take(snapshots): it reads only counters, which
the replay loop samples itself without stopping (kernel_model.snapshot); it is handed them
in batches, a replay call per million records or so. Any other has observe(records_done):
it reads the machine (caches, object memory) or prints as it goes, so the replay stops at
every interval for it, and the sampling observers then get one snapshot per stop.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from kernel_model import Machine, Op, ReplayResult, Trace
from kernel_model.machine import MAX_IDS
from kernel_model.snapshot import Snapshots

SAMPLED_CALL = 1 << 20   # records per replay call when every observer samples


def too_many_ids(trace: Trace) -> str | None:
    """Why the model cannot replay a trace's ids (its header's nr_ids), or None."""
    if (trace.nr_ids or 0) > MAX_IDS:
        return f"the header declares {trace.nr_ids:,} object ids; the model holds at most {MAX_IDS:,}"
    return None


def cpus_used(trace: Trace) -> int:
    """CPUs a trace's records run on (the highest CPU number + 1)."""
    return int(trace.records["cpu"].max()) + 1 if len(trace) else 0


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


def observe_now(machine: Machine, observers: Iterable, records_done: int) -> None:
    """Every observer looks at the machine as it is: one snapshot for the sampling ones."""
    observers = list(observers)
    sampling = [o for o in observers if hasattr(o, "take")]
    if sampling:
        snap = machine.snapshot()
        snap.rows[:, 0] = records_done
        for obs in sampling:
            obs.take(snap)
    for obs in observers:
        if not hasattr(obs, "take"):
            obs.observe(records_done)


def replay_in_chunks(machine: Machine, trace: Trace, chunk: int | None = None, observers: Iterable = (),
                     every_ns: int | None = None) -> list[ReplayResult]:
    """Replay trace, the observers looking every `chunk` records, or every `every_ns` of simulated
    time, and at the end. Returns the replay results."""
    if every_ns is not None:
        if every_ns <= 0:
            raise ValueError("every_ns must be positive")
        ends = time_boundaries(trace, every_ns)
    else:
        if not chunk or chunk <= 0:
            raise ValueError("chunk must be positive")
        ends = np.append(np.arange(chunk, len(trace), chunk), len(trace)) if len(trace) else np.zeros(0, np.int64)
    observers = list(observers)
    if observers and all(hasattr(o, "take") for o in observers):
        return _sampled(machine, trace, ends, observers)
    results, start = [], 0
    for end in ends.tolist():
        results.append(machine.replay(Trace(trace.records[start:end], trace.sites, trace.nr_ids)))
        start = end
        observe_now(machine, observers, end)
    return results


def _sampled(machine: Machine, trace: Trace, ends: np.ndarray, observers: list) -> list[ReplayResult]:
    """Replay in calls of about SAMPLED_CALL records, the loop sampling at `ends`."""
    offset = machine.records_replayed()
    results, start = [], 0
    while start < len(trace):
        first = int(np.searchsorted(ends, start, side="right"))                 # the next sample point
        last = max(int(np.searchsorted(ends, start + SAMPLED_CALL, side="right")), first + 1)
        stop = int(ends[last - 1])
        res = machine.replay(Trace(trace.records[start:stop], trace.sites, trace.nr_ids),
                             snapshot_at=ends[first:last] + offset)
        results.append(res)
        snaps: Snapshots = res.snapshots
        snaps.rows[:, 0] -= np.uint64(offset)
        for obs in observers:
            obs.take(snaps)
        start = stop
    return results
