"""Dedicated caches, verified: for each "a dedicated kmem_cache for S-byte objects" recommendation
of the pattern analyzer (sim/profilers/patterns.py), the workload is re-run with that cache
created first and every kmalloc(S) allocated from it instead (their kfrees free them, as kfree
frees any slab object), and the slab pages it holds are measured against the unchanged run.

The analyzer's estimate counts each call's rounding once over the whole run ((class - S) x calls);
the measurement is what the slabs hold: the peak and the average of the pages of every slab cache
(the dedicated one included), over the records. A kmalloc record that asked for a node loses the
hint (a kmem_cache_alloc record carries none): the result counts them.
"""

from __future__ import annotations

import numpy as np

from kernel_model import Op, Trace
from kernel_model.mm import PAGE_SIZE
from kernel_model.trace import NO_NODE, empty
from sim.experiments.registry import Experiment, ExperimentContext, register
from sim.experiments.rerun import Evaluations, Map, Rerun, in_process
from sim.profilers.patterns import analyze
from sim.profilers.views import Column, Fact, Figure, Section, Table

VERSION = 1
ALIGN = 8     # the dedicated cache's alignment: ARCH_SLAB_MINALIGN, as the analyzer assumes


def redirected(trace: Trace, size: int) -> tuple[Trace, int]:
    """The trace with a kmem_cache of `size` bytes created first and every kmalloc(size) taken from
    it; and how many of those kmallocs asked for a node."""
    rec = trace.records.copy()
    cache_id = trace.nr_ids or 0
    hit = (rec["op"] == Op.KMALLOC) & (rec["arg0"] == size)
    hints = int((rec["arg1"][hit] != NO_NODE).sum())
    rec["op"][hit] = Op.CACHE_ALLOC
    rec["arg1"][hit] = cache_id
    create = empty(1)
    create["op"], create["id"], create["arg0"], create["arg1"] = Op.CACHE_CREATE, cache_id, size, ALIGN
    create["site"] = len(trace.sites)
    return Trace(np.concatenate([create, rec]), [*trace.sites, f"kmem_cache-{size}"], cache_id + 1), hints


def measure(rerun: Rerun, size: int | None) -> dict:
    """Re-run the workload (with the cache for `size`, or unchanged for None): pages of all slabs."""
    trace, hints = redirected(rerun.trace, size) if size is not None else (rerun.trace, 0)
    m = rerun.build()
    res = m.replay(trace)
    u = m.slab_usage()["all"]
    return {"peak_slab_pages": int(u["peak_pages"]), "avg_slab_pages": round(u["avg_pages"], 3),
            "node_hints_dropped": hints, "alloc_failed": res.alloc_failed, "errors": res.nr_errors}


def verify(rerun: Rerun, run: Map | None = None) -> tuple[dict, Evaluations]:
    """Every dedicated-cache recommendation for the workload on this machine, re-run and measured."""
    classes = rerun.build().kmalloc_classes
    recs = analyze(rerun.trace, kmalloc_classes=classes)["recommendations"]
    mine = [r for r in recs if "size" in r["evidence"]]
    evals = Evaluations(measure, run or in_process(rerun))
    got = evals([None, *(r["evidence"]["size"] for r in mine)])
    base, rows = got[0], []
    for rec, after in zip(mine, got[1:], strict=True):
        e = rec["evidence"]
        rows.append({"recommendation": rec["recommendation"], "size": e["size"], "kmalloc_class": e["kmalloc_class"],
                     "calls": e["count"], "estimated_bytes_saved": e["bytes_saved"],
                     "peak_slab_pages_before": base["peak_slab_pages"],
                     "peak_slab_pages_after": after["peak_slab_pages"],
                     "measured_peak_bytes_saved": (base["peak_slab_pages"] - after["peak_slab_pages"]) * PAGE_SIZE,
                     "avg_slab_pages_before": base["avg_slab_pages"], "avg_slab_pages_after": after["avg_slab_pages"],
                     "measured_avg_bytes_saved": round((base["avg_slab_pages"] - after["avg_slab_pages"]) * PAGE_SIZE),
                     "node_hints_dropped": after["node_hints_dropped"],
                     "alloc_failed": after["alloc_failed"], "errors": after["errors"]})
    return {"version": VERSION, "kmalloc_classes": list(classes), "baseline": base, "table": rows,
            "other_recommendations": len(recs) - len(mine), "evaluations": evals.count}, evals


def _summary(r: dict) -> list[str]:
    if not r["table"]:
        return ["dedicated caches: the pattern analyzer recommends none for this workload"]
    lines = [f"dedicated caches: {len(r['table'])} recommendation(s) re-run ({r['evaluations']} re-runs)",
             f"{'objects':>8} {'class':>6} {'calls':>10} {'estimate B':>12} {'peak pages':>16} {'saved at peak B':>16} "
             f"{'avg saved B':>12}"]
    for row in r["table"]:
        lines.append(f"{row['size']:>8} {row['kmalloc_class']:>6} {row['calls']:>10,} "
                     f"{row['estimated_bytes_saved']:>12,} "
                     f"{row['peak_slab_pages_before']:>7,} -> {row['peak_slab_pages_after']:<6,} "
                     f"{row['measured_peak_bytes_saved']:>16,} {row['measured_avg_bytes_saved']:>12,}")
    return lines


TABLE = (Column("recommendation", "recommendation", "text"), Column("calls", "kmalloc calls", "count"),
         Column("estimated_bytes_saved", "analyzer's estimate (rounding over the run)", "bytes"),
         Column("peak_slab_pages_before", "peak slab pages, as is", "pages"),
         Column("peak_slab_pages_after", "peak slab pages, with the cache", "pages"),
         Column("measured_peak_bytes_saved", "measured saving at the peak", "bytes"),
         Column("measured_avg_bytes_saved", "measured saving on average", "bytes"),
         Column("node_hints_dropped", "node hints dropped", "count"))


def _section(r: dict) -> Section:
    return Section([Fact("recommendations re-run", len(r["table"]), "count"),
                    Fact("peak slab pages as is", r["baseline"]["peak_slab_pages"], "pages")],
                   [Table("Dedicated kmem_caches: the analyzer's estimate and the re-run's measurement", r["table"],
                          TABLE)],
                   ["Each recommendation re-runs the workload with a kmem_cache of that size created first and "
                    "every kmalloc of that size allocated from it. Measured: the pages of all slab caches, at their "
                    "peak and on average over the records, against the run as is. The analyzer's estimate counts "
                    "each call's rounding once over the whole run, so it is not a size of memory held."])


def _metrics(r: dict) -> dict[str, float]:
    out: dict[str, float] = {"recommendations": len(r["table"])}
    for row in r["table"]:
        out[f"size{row['size']}.measured_peak_bytes_saved"] = row["measured_peak_bytes_saved"]
    return out


FIGURES = (Figure("recommendations", "count", "dedicated-cache recommendations re-run"),
           Figure("*.measured_peak_bytes_saved", "bytes", "measured saving at the peak of a dedicated cache for {}"))


def _run(ctx: ExperimentContext) -> dict:
    return verify(Rerun(ctx.trace, ctx.machine_kwargs))[0]


EXPERIMENT = register(Experiment(
    "dedicated_caches", "Dedicated kmem_caches, verified", _run, summary=_summary, metrics=_metrics,
    figures=FIGURES, section=_section,
    doc="the pattern analyzer's dedicated-cache recommendations re-run and measured"))
