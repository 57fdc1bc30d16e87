"""Allocation-pattern analyzer: what a trace allocates, where, for how long, and what it wastes.

Reads the trace's allocation events (never the model): size histogram, per call-site counts,
bytes, live and peak, lifetimes, temporaries, bursts and phases, kmalloc rounding waste, and
recommendations with their evidence. Vectorised with numpy, so it is cheap on large traces."""

from __future__ import annotations

import numpy as np
from kernel_model._core import KMALLOC_SIZES

from kernel_model.mm import PAGE_SIZE
from kernel_model.trace import Op, Trace, phases, site_name

VERSION = 1
# Linux 6.1 kmalloc classes with KMALLOC_MIN_SIZE 8 (kmalloc-8 .. kmalloc-8k, incl. 96 and 192)
KMALLOC_CLASSES = np.array(KMALLOC_SIZES)

_ALLOC = (Op.PAGE_ALLOC, Op.KMALLOC, Op.CACHE_ALLOC)
_FREE = (Op.PAGE_FREE, Op.KFREE, Op.CACHE_FREE)


def kmalloc_size_roundup(size: np.ndarray) -> np.ndarray:
    """Bytes kmalloc hands out for each request (Linux's kmalloc_size_roundup; 0 stays 0)."""
    size = np.asarray(size, dtype=np.int64)
    small = KMALLOC_CLASSES[np.minimum(np.searchsorted(KMALLOC_CLASSES, size), len(KMALLOC_CLASSES) - 1)]
    pages = PAGE_SIZE << np.ceil(np.log2(np.maximum(size, 1) / PAGE_SIZE)).clip(0).astype(np.int64)
    return np.where(size == 0, 0, np.where(size <= KMALLOC_CLASSES[-1], small, pages))


def _log2_buckets(values: np.ndarray) -> dict[str, int]:
    """Counts per power-of-two bucket, keyed "<=2^k" by its upper bound (values >= 1)."""
    if not len(values):
        return {}
    k = np.ceil(np.log2(np.maximum(values, 1))).astype(np.int64)
    ks, counts = np.unique(k, return_counts=True)
    return {f"<={1 << int(b)}": int(c) for b, c in zip(ks, counts, strict=True)}


def analyze(trace: Trace, temporary_within: int = 16, window: int = 1000, top: int = 10) -> dict:
    """The allocation patterns of a trace. A temporary is freed before `temporary_within` other
    allocations; a burst is a `window`-record span with at least twice the median allocations."""
    r = trace.records
    op = r["op"]
    idx = np.flatnonzero(np.isin(op, _ALLOC + _FREE))
    is_alloc = np.isin(op[idx], _ALLOC)
    a_idx, f_idx = idx[is_alloc], idx[~is_alloc]

    # requested size of each allocation: pages by order, kmalloc by arg0, cache objects by the
    # object size their CACHE_CREATE gave (unknown caches count 0)
    a_op = op[a_idx]
    size = np.where(a_op == Op.PAGE_ALLOC, PAGE_SIZE << r["arg0"][a_idx].astype(np.int64).clip(0, 20),
                    r["arg0"][a_idx].astype(np.int64))
    creates = np.flatnonzero(op == Op.CACHE_CREATE)
    cache_size = dict(zip(r["id"][creates].tolist(), r["arg0"][creates].tolist(), strict=True))
    obj = a_op == Op.CACHE_ALLOC
    size[obj] = [cache_size.get(int(c), 0) for c in r["arg1"][a_idx][obj]]
    handed = size.copy()
    km = a_op == Op.KMALLOC
    handed[km] = kmalloc_size_roundup(size[km])

    # pair each allocation with the next free of its id (ids are reused after a free)
    ids = r["id"][idx].astype(np.int64)
    order = np.lexsort((idx, ids))
    s_ids, s_alloc = ids[order], is_alloc[order]
    paired = np.zeros(len(idx), dtype=bool)
    paired[:-1] = s_alloc[:-1] & ~s_alloc[1:] & (s_ids[:-1] == s_ids[1:])
    alloc_pos = np.cumsum(is_alloc) - 1                      # position of each event among the allocs
    freed_at = np.full(len(a_idx), -1, dtype=np.int64)       # record index of the matching free
    a_of = alloc_pos[order[:-1][paired[:-1]]]
    freed_at[a_of] = idx[order[1:][paired[:-1]]]
    freed = freed_at >= 0

    # lifetimes in records and in allocations made meanwhile
    life_records = freed_at[freed] - a_idx[freed]
    allocs_between = np.searchsorted(a_idx, freed_at[freed]) - np.flatnonzero(freed) - 1
    temporary = np.zeros(len(a_idx), dtype=bool)
    temporary[np.flatnonzero(freed)] = allocs_between < temporary_within

    sites = r["site"][a_idx].astype(np.int64)
    per_site = []
    for s in np.unique(sites):
        mine = sites == s
        events = np.concatenate([a_idx[mine], freed_at[mine & freed]])
        delta = np.concatenate([size[mine], -size[mine & freed]])
        peak = int(np.cumsum(delta[np.argsort(events, kind="stable")]).max(initial=0))
        per_site.append({"call_site": site_name(trace, int(s)), "allocs": int(mine.sum()),
                         "bytes": int(size[mine].sum()), "live": int((mine & ~freed).sum()),
                         "live_bytes": int(size[mine & ~freed].sum()), "peak_bytes": peak,
                         "temporaries": int((mine & temporary).sum()),
                         "rounding_waste": int((handed - size)[mine].sum())})
    recommendations = _recommend(size, km, per_site)
    per_site.sort(key=lambda x: (-x["bytes"], x["call_site"]))

    exact, counts = np.unique(size, return_counts=True)
    top_sizes = sorted(zip(counts.tolist(), exact.tolist(), strict=True), key=lambda x: (-x[0], x[1]))[:top]

    # bursts: allocation counts per window against the median window
    per_window = np.bincount(a_idx // window, minlength=(len(r) + window - 1) // window) if len(r) else np.zeros(0)
    median = float(np.median(per_window)) if len(per_window) else 0.0
    bursts = [{"records": [int(w * window), int(min((w + 1) * window, len(r)))], "allocs": int(per_window[w])}
              for w in np.flatnonzero(per_window >= max(2 * median, 1))] if median else []

    # phases: PHASE markers split the trace
    marks = phases(trace)
    bounds = np.concatenate([[0], [m["record"] for m in marks], [len(r)]]).astype(np.int64)
    phase_names = ["start"] + [m["name"] for m in marks]
    phase_rows = []
    for name, lo, hi in zip(phase_names, bounds[:-1], bounds[1:], strict=True):
        inside = (a_idx >= lo) & (a_idx < hi)
        frees = int(((f_idx >= lo) & (f_idx < hi)).sum())
        if hi > lo:
            phase_rows.append({"phase": name, "records": [int(lo), int(hi)], "allocs": int(inside.sum()),
                           "frees": frees, "bytes": int(size[inside].sum())})

    waste_km = int((handed - size)[km].sum())
    result = {
        "version": VERSION, "unit": "bytes, records",
        "allocs": int(len(a_idx)), "frees": int(len(f_idx)), "bytes": int(size.sum()),
        "live": int((~freed).sum()), "live_bytes": int(size[~freed].sum()),
        "size_histogram": _log2_buckets(size[size > 0]), "zero_size": int((size == 0).sum()),
        "top_sizes": [{"size": s, "count": c} for c, s in top_sizes],
        "lifetime_records": _log2_buckets(life_records),
        "temporary_within": temporary_within, "temporaries": int(temporary.sum()),
        "kmalloc_rounding_waste": waste_km,
        "misaligned": int(((size % 8) != 0)[size > 0].sum()),
        "window": window, "median_allocs_per_window": median, "bursts": bursts[:top], "nr_bursts": len(bursts),
        "phases": phase_rows, "call_sites": per_site[:top],
    }
    result["recommendations"] = recommendations
    return result


def _recommend(size: np.ndarray, km: np.ndarray, per_site: list[dict]) -> list[dict]:
    """Rules with evidence: a hot kmalloc size wasting a quarter of its class wants its own cache;
    a site whose allocations are mostly temporaries wants a per-CPU buffer or a mempool."""
    out = []
    if km.any():
        sizes, counts = np.unique(size[km], return_counts=True)
        for s, c in zip(sizes.tolist(), counts.tolist(), strict=True):
            cls = int(kmalloc_size_roundup(np.array([s]))[0])
            if s and c >= 0.05 * km.sum() and (cls - s) * 4 >= cls:
                out.append({"recommendation": f"a dedicated kmem_cache for {s}-byte objects",
                            "evidence": {"size": s, "count": c, "share": round(c / int(km.sum()), 4),
                                         "kmalloc_class": cls, "bytes_saved": (cls - s) * c}})
    for site in per_site:
        name, n, t = site["call_site"], site["allocs"], site["temporaries"]
        if n >= 100 and t >= 0.8 * n:
            out.append({"recommendation": f"{name}: short-lived allocations, use a per-CPU buffer or a mempool",
                        "evidence": {"call_site": name, "allocs": n, "temporaries": t}})
    return out
