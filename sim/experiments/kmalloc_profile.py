"""What a workload asks of the kmalloc caches, read from its trace alone: each kmalloc call's
lifetime (the record that allocates it, the record that frees it), and the live objects of
every 8-byte size bucket over time. The size-class optimiser's cost model reads the buckets; its
measurements read the lifetimes.

Buckets: the request sizes rounded up to a multiple of 8. Every kmalloc class is a multiple of
8, so all the sizes of a bucket always share a class and a class is a run of adjacent buckets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from kernel_model import Op, Trace
from kernel_model._core import KMALLOC_MAX_SIZE

CELLS = 1 << 24           # bound of windows x buckets kept (int32: 64 MiB)
RANGE_WORK = 200_000_000 # bound of the per-range peak computation: windows x buckets^2 / 2


@dataclass(frozen=True)
class Lifetimes:
    """The kmalloc calls a slab can serve (0 < size <= KMALLOC_MAX_SIZE), in record order."""
    record: np.ndarray      # int64: the KMALLOC record
    freed: np.ndarray       # int64: the KFREE record that frees it, or the trace's length
    size: np.ndarray        # int64: bytes requested

    def live_after(self, record: int, ok: np.ndarray | None = None) -> np.ndarray:
        """Which calls hold an object once `record` has been replayed (ok: the calls that
        succeeded, when some failed)."""
        live = (self.record <= record) & (self.freed > record)
        return live & ok if ok is not None else live


def lifetimes(trace: Trace) -> Lifetimes:
    """Each slab-served kmalloc call paired with the next KFREE of its id (ids are reused after a
    free). A free of another kind of allocation, or of nothing, pairs with no call."""
    r = trace.records
    op = r["op"]
    events = np.flatnonzero((op == Op.KMALLOC) | (op == Op.KFREE))
    ids = r["id"][events].astype(np.int64)
    is_alloc = op[events] == Op.KMALLOC
    order = np.lexsort((events, ids))          # by id, then record
    s_ids, s_alloc, s_ev = ids[order], is_alloc[order], events[order]
    freed_by = np.full(len(events), len(r), np.int64)
    pair = s_alloc[:-1] & ~s_alloc[1:] & (s_ids[:-1] == s_ids[1:])
    freed_by[order[:-1][pair]] = s_ev[1:][pair]
    size = r["arg0"][events].astype(np.int64)
    keep = is_alloc & (size > 0) & (size <= KMALLOC_MAX_SIZE)
    return Lifetimes(events[keep].astype(np.int64), freed_by[keep], size[keep])


@dataclass(frozen=True)
class SizeProfile:
    """Live objects per 8-byte size bucket over the workload's kmalloc/kfree events, in windows
    of `window` events: live[w, k] is the most objects of bucket k live at once within window w.
    With one event per window (exact) every sum over buckets of those maxima is the exact most
    of them live at once; with longer windows it is an upper bound."""
    buckets: np.ndarray     # ascending bucket sizes (multiples of 8), those the workload asks for
    requests: np.ndarray    # calls per bucket
    mean_size: np.ndarray   # mean bytes requested per bucket
    live: np.ndarray        # int32 [windows, buckets]
    window: int             # events per window
    events: int

    @property
    def exact(self) -> bool:
        return self.window == 1

    @cached_property
    def range_peaks(self) -> tuple[np.ndarray, np.ndarray]:
        """For every run of buckets i..j: the most objects live at once (peak[i, j]) and the bytes
        they requested then (bytes[i, j], each object counted at its bucket's mean size)."""
        n = len(self.buckets)
        peak = np.zeros((n, n), np.int64)
        nbytes = np.zeros((n, n), np.float64)
        total = np.zeros((len(self.live), n + 1), np.int32)     # live objects of buckets 0..j-1
        np.cumsum(self.live, axis=1, out=total[:, 1:])
        for i in range(n):
            runs = total[:, i + 1:] - total[:, i:i + 1]          # buckets i..j for every j >= i
            at, diag = runs.argmax(axis=0), np.arange(n - i)
            peak[i, i:] = runs[at, diag]
            nbytes[i, i:] = np.cumsum(self.live[at, i:] * self.mean_size[i:], axis=1)[diag, diag]
        return peak, nbytes


def size_profile(life: Lifetimes, records: int) -> SizeProfile:
    """The buckets' live objects over time, from the calls' lifetimes (every call assumed to succeed)."""
    bucket_of = (life.size + 7) // 8 * 8
    buckets, index, requests = np.unique(bucket_of, return_inverse=True, return_counts=True)
    n = len(buckets)
    freed = life.freed < records
    # events in record order: +1 at the kmalloc, -1 at its kfree
    at = np.concatenate([life.record, life.freed[freed]])
    which = np.concatenate([index, index[freed]])
    delta = np.concatenate([np.ones(len(life.record), np.int32), -np.ones(int(freed.sum()), np.int32)])
    seq = np.argsort(at, kind="stable")
    which, delta = which[seq], delta[seq]
    events = len(seq)
    windows = max(1, min(events, CELLS // max(n, 1), RANGE_WORK * 2 // max(n * n, 1)))
    window = -(-events // windows) if events else 1
    windows = -(-events // window) if events else 0
    live = np.zeros((windows, n), np.int32)
    starts = np.arange(windows, dtype=np.int64) * window
    for k in range(n):
        mine = np.flatnonzero(which == k)
        count = np.cumsum(delta[mine], dtype=np.int32)           # live after each of its events
        np.maximum.at(live[:, k], mine // window, count)
        before = np.searchsorted(mine, starts) - 1               # its last event before each window
        live[:, k] = np.maximum(live[:, k], np.where(before >= 0, count[np.maximum(before, 0)], 0))
    mean = np.bincount(index, life.size, minlength=n) / np.maximum(requests, 1)
    return SizeProfile(buckets, requests, mean, live, window, events)
