"""Allocation-pattern analyzer: what a trace allocates, where, for how long, and what it wastes.

Reads the trace's allocation events (never the model): size histogram, per call-site counts,
bytes, live and peak, lifetimes, temporaries, bursts and phases, kmalloc rounding waste, and
recommendations with their evidence. Vectorised with numpy, so it is cheap on large traces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from kernel_model.machine import LINUX_KMALLOC_CLASSES
from kernel_model.mm import PAGE_SIZE
from kernel_model.trace import Op, Trace, phases, site_name
from sim.profilers.registry import BarChart, Column, Fact, Figure, Profiler, Section, Table, register

VERSION = 1

_ALLOC = (Op.PAGE_ALLOC, Op.KMALLOC, Op.CACHE_ALLOC)
_FREE = (Op.PAGE_FREE, Op.KFREE, Op.CACHE_FREE)


def kmalloc_size_roundup(size: np.ndarray, classes: Sequence[int] = LINUX_KMALLOC_CLASSES) -> np.ndarray:
    """Bytes kmalloc hands out for each request on a machine with these kmalloc classes (Linux's
    kmalloc_size_roundup: the smallest class that holds it, pages above the largest; 0 stays 0)."""
    size = np.asarray(size, dtype=np.int64)
    cls = np.asarray(classes, dtype=np.int64)
    small = cls[np.minimum(np.searchsorted(cls, size), len(cls) - 1)]
    pages = PAGE_SIZE << np.ceil(np.log2(np.maximum(size, 1) / PAGE_SIZE)).clip(0).astype(np.int64)
    return np.where(size == 0, 0, np.where(size <= cls[-1], small, pages))


def _log2_buckets(values: np.ndarray) -> dict[str, int]:
    """Counts per power-of-two bucket, keyed "<=2^k" by its upper bound (values >= 1)."""
    if not len(values):
        return {}
    k = np.ceil(np.log2(np.maximum(values, 1))).astype(np.int64)
    ks, counts = np.unique(k, return_counts=True)
    return {f"<={1 << int(b)}": int(c) for b, c in zip(ks, counts, strict=True)}


def analyze(trace: Trace, temporary_within: int = 16, window: int = 1000, top: int = 10,
            kmalloc_classes: Sequence[int] = LINUX_KMALLOC_CLASSES) -> dict:
    """The allocation patterns of a trace. A temporary is freed before `temporary_within` other
    allocations; a burst is a `window`-record span with at least twice the median allocations;
    kmalloc rounding is to the machine's kmalloc classes."""
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
    handed[km] = kmalloc_size_roundup(size[km], kmalloc_classes)

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
    recommendations = _recommend(size, km, per_site, kmalloc_classes)
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


def _recommend(size: np.ndarray, km: np.ndarray, per_site: list[dict], classes: Sequence[int]) -> list[dict]:
    """Rules with evidence: a hot kmalloc size wasting a quarter of its class wants its own cache;
    a site whose allocations are mostly temporaries wants a per-CPU buffer or a mempool."""
    out = []
    if km.any():
        sizes, counts = np.unique(size[km], return_counts=True)
        for s, c in zip(sizes.tolist(), counts.tolist(), strict=True):
            cls = int(kmalloc_size_roundup(np.array([s]), classes)[0])
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


class PatternAnalysis:
    """The analyzer as a profiler: it reads the variant's workload, and of the machine only its
    kmalloc classes (what the rounding is to)."""

    def __init__(self, trace: Trace, kmalloc_classes: Sequence[int]) -> None:
        self.trace, self.kmalloc_classes = trace, kmalloc_classes

    def result(self) -> dict:
        return analyze(self.trace, kmalloc_classes=self.kmalloc_classes)


def _summary(r: dict) -> str:
    return f"temporaries {r['temporaries']:,} of {r['allocs']:,}, {len(r['recommendations'])} recommendations"


TEMPORARIES = ("A temporary is freed before {n} other allocations are made; a burst is a {w}-record window with "
               "at least twice the median allocations per window. Sizes are the requested bytes (pages by order, "
               "cache objects by their cache's object size); kmalloc rounding waste is what the size classes add.")


def _recommendation_row(rec: dict) -> dict:
    e = rec["evidence"]
    return {"recommendation": rec["recommendation"], "allocs": e.get("count", e.get("allocs")),
            "share": e.get("share"), "temporaries": e.get("temporaries"), "bytes_saved": e.get("bytes_saved")}


def _section(r: dict) -> Section:
    return Section(
        [Fact("allocations", r["allocs"], "count"), Fact("bytes requested", r["bytes"], "bytes"),
         Fact("frees", r["frees"], "count"), Fact("live at the end", r["live"], "objects"),
         Fact("live bytes at the end", r["live_bytes"], "bytes"),
         Fact(f"temporaries (freed within {r['temporary_within']} allocations)", r["temporaries"], "count"),
         Fact("kmalloc rounding waste", r["kmalloc_rounding_waste"], "bytes"),
         Fact("sizes not a multiple of 8", r["misaligned"], "count"), Fact("bursts", r["nr_bursts"], "count")],
        [Table("Call sites by bytes", r["call_sites"], (
            Column("call_site", "call site", "text"), Column("allocs", "allocations", "count"),
            Column("bytes", "bytes", "bytes"), Column("live", "live at the end", "objects"),
            Column("live_bytes", "live bytes", "bytes"), Column("peak_bytes", "peak bytes", "bytes"),
            Column("temporaries", "temporaries", "count"), Column("rounding_waste", "rounding waste", "bytes"))),
         Table("Recommendations", [_recommendation_row(x) for x in r["recommendations"]], (
             Column("recommendation", "recommendation", "text"), Column("allocs", "allocations", "count"),
             Column("share", "share of kmalloc calls", "ratio"), Column("temporaries", "temporaries", "count"),
             Column("bytes_saved", "bytes it would save", "bytes"))),
         Table("Most frequent sizes", r["top_sizes"], (Column("size", "size", "bytes"),
                                                        Column("count", "allocations", "count"))),
         Table("Phases (split at PHASE records)", r["phases"], (
             Column("phase", "phase", "text"), Column("records", "records", "range"),
             Column("allocs", "allocations", "count"), Column("frees", "frees", "count"),
             Column("bytes", "bytes", "bytes"))),
         Table("Bursts", r["bursts"], (Column("records", "records", "range"), Column("allocs", "allocations", "count")),
               note=f"{r['nr_bursts']} bursts in all; median {r['median_allocs_per_window']} allocations per window.")],
        [TEMPORARIES.format(n=r["temporary_within"], w=r["window"])])


def _histogram_chart(file: str, title: str, xlabel: str, results: Mapping[str, dict], key: str) -> BarChart:
    buckets = sorted({k for r in results.values() for k in r[key]}, key=lambda k: int(k[2:]))
    return BarChart(file, title, xlabel, "allocations", [f"≤{k[2:]}" for k in buckets],
                    {name: [r[key].get(k, 0) for k in buckets] for name, r in results.items()})


def _charts(results: Mapping[str, dict]) -> list[BarChart]:
    return [_histogram_chart("alloc_sizes.svg", "Allocation sizes", "requested bytes (power-of-two buckets)",
                             results, "size_histogram"),
            _histogram_chart("lifetimes.svg", "Lifetimes of freed allocations", "records between alloc and free",
                             results, "lifetime_records")]


def _metrics(r: dict) -> dict[str, float]:
    return {"allocs": r["allocs"], "bytes": r["bytes"], "live_bytes": r["live_bytes"],
            "temporaries": r["temporaries"], "kmalloc_rounding_waste_bytes": r["kmalloc_rounding_waste"],
            "bursts": r["nr_bursts"], "recommendations": len(r["recommendations"]), "frees": r["frees"],
            "temporary_share": round(r["temporaries"] / r["allocs"], 6) if r["allocs"] else 0.0}


def _labels(r: dict) -> dict[str, str]:
    return {"top_site": r["call_sites"][0]["call_site"]} if r["call_sites"] else {}


FIGURES = (Figure("allocs", "count", "allocations"), Figure("bytes", "bytes", "bytes requested"),
           Figure("live_bytes", "bytes", "live bytes at the end"), Figure("temporaries", "count", "temporaries"),
           Figure("kmalloc_rounding_waste_bytes", "bytes", "kmalloc rounding waste"),
           Figure("bursts", "count", "allocation bursts"), Figure("recommendations", "count", "recommendations"),
           Figure("frees", "count", "frees"),
           Figure("temporary_share", "ratio", "share of allocations that are temporaries"),
           Figure("top_site", "text", "the call site allocating the most bytes"))


PROFILER = register(Profiler(
    "patterns", "Allocation patterns", lambda ctx: PatternAnalysis(ctx.trace, ctx.machine.kmalloc_classes),
    doc="the workload's allocation patterns: sizes, call sites, lifetimes, temporaries, bursts, phases, "
        "rounding waste, recommendations",
    metrics=_metrics, labels=_labels, figures=FIGURES, summary=_summary, section=_section, charts=_charts))
