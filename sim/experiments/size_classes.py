"""The kmalloc size-class optimiser, closed-loop: the cost model's exact optimum (class_dp) is a
proposal; every proposal is re-run on the workload, and what is reported as optimised is the best
set measured, never the best predicted.

The measured objective: the most pages the kmalloc caches' slabs held at once over the replay
(the core counts it exactly, in its slow paths), then the internal waste at that moment (bytes
given minus bytes requested by the objects live then), then fewer classes. The loop:
  1. measure Linux's classes (all of them, and those the workload uses), jemalloc-style four
     classes per doubling trimmed to K, and the model's optimum twice: ideally packed, and with a
     slab per CPU held by every class;
  2. improve the best measured set by local search on the measured objective (move a class
     boundary by one size, merge two classes, split one), the moves the model ranks best first,
     within the evaluation budget;
  3. report the best measured set. Linux's own classes (those the workload uses) are a candidate
     whenever they fit in K and the waste bound, so the result never measures worse than Linux's.
docs/optimize.md says what the model computes exactly and what it approximates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kernel_model._core import KMALLOC_MAX_SIZE, MAX_KMALLOC
from kernel_model.machine import LINUX_KMALLOC_CLASSES
from sim.experiments.class_dp import InfeasibleError, fewest_classes, minimal_classes, predict, range_costs, runs
from sim.experiments.kmalloc_profile import size_profile
from sim.experiments.registry import Experiment, ExperimentContext, register
from sim.experiments.rerun import Evaluations, Map, OptimiseError, Rerun, in_process
from sim.profilers.views import BarChart, Column, Fact, Figure, Section, Table

VERSION = 1
MAX_EVALS = 40
BATCH = 8                      # local-search moves measured per round (run at once on a parallel map)
OBJECTIVE = ("peak_slab_pages", "avg_slab_pages", "internal_waste_bytes", "tail_waste_bytes")
SETS = ("linux", "four_per_doubling", "optimised")
MODEL, MODEL_HELD = "model's optimum", "model's optimum, a slab per CPU held"


def four_per_doubling() -> tuple[int, ...]:
    """jemalloc's spacing: four classes per doubling (8-byte steps while a quarter is smaller),
    8 .. 8 KiB: 8 16 24 32 40 48 56 64 80 96 112 128 160 ... 7168 8192."""
    out, size = [8], 8
    while size < KMALLOC_MAX_SIZE:
        size += max((1 << (size.bit_length() - 1)) // 4, 8)
        out.append(size)
    return tuple(out)


def trimmed(classes: Sequence[int], requests: dict[int, int], k: int) -> tuple[int, ...]:
    """A class set cut to at most k classes for a workload: the classes no request uses go, then
    the used class with the fewest requests (never the last), its requests moving up to the next.
    requests: calls per class of the full set."""
    used = [c for c in classes if requests.get(c)]
    count = dict(requests)
    while len(used) > k:
        victim = min(used[:-1], key=lambda c: (count.get(c, 0), c))
        nxt = used[used.index(victim) + 1]
        count[nxt] = count.get(nxt, 0) + count.pop(victim, 0)
        used.remove(victim)
    return tuple(used)


def measure(rerun: Rerun, classes: tuple[int, ...]) -> dict:
    """Re-run the workload on a machine with these kmalloc classes: peak and average pages of the
    kmalloc slabs, internal waste and slab tail bytes at the peak, failures and rejected records."""
    m = rerun.build(kmalloc_classes=classes)
    res = m.replay(rerun.trace, results=True)
    u = m.slab_usage()["kmalloc"]
    life = rerun.lifetimes
    cls = np.asarray(classes, np.int64)
    got = res.results[life.record]
    live = life.live_after(u["peak_record"], (got != res.FAILED) & (got != res.ERROR)) & (life.size <= cls[-1])
    waste = int((cls[np.searchsorted(cls, life.size[live])] - life.size[live]).sum()) if u["peak_pages"] else 0
    return {"peak_slab_pages": int(u["peak_pages"]), "avg_slab_pages": round(u["avg_pages"], 3),
            "internal_waste_bytes": waste, "tail_waste_bytes": int(u["peak_tail_bytes"]),
            "alloc_failed": res.alloc_failed, "errors": res.nr_errors}


def _key(measured: dict, classes: Sequence[int]) -> tuple:
    return (measured["alloc_failed"], measured["errors"], measured["peak_slab_pages"],
            measured["internal_waste_bytes"], len(classes), tuple(classes))


def _padded(classes: tuple[int, ...], k: int) -> tuple[int, ...]:
    """With room left, a kmalloc-8k on top: requests the workload never makes up to 8 KiB stay on
    slabs, as on Linux (it holds no slab for this workload, so it changes nothing measured)."""
    return classes + (KMALLOC_MAX_SIZE,) if len(classes) < k and classes[-1] < KMALLOC_MAX_SIZE else classes


def _neighbours(parts: list[tuple[int, int]], n: int, k: int) -> list[list[tuple[int, int]]]:
    """Partitions of buckets 0..n-1 one move away: a boundary moved by a bucket, two runs merged,
    a run split (when there is room for another class)."""
    out = []
    for r in range(len(parts) - 1):
        (a, b), (c, d) = parts[r], parts[r + 1]
        if b > a:
            out.append(parts[:r] + [(a, b - 1), (b, d)] + parts[r + 2:])
        if d > c:
            out.append(parts[:r] + [(a, c), (c + 1, d)] + parts[r + 2:])
        out.append(parts[:r] + [(a, d)] + parts[r + 2:])
    if len(parts) < k:
        for r, (a, b) in enumerate(parts):
            out += [parts[:r] + [(a, s), (s + 1, b)] + parts[r + 1:] for s in range(a, b)]
    return out


def optimise(rerun: Rerun, k: int | None = None, max_waste: float | None = None, max_evals: int = MAX_EVALS,
             run: Map | None = None) -> tuple[dict, Evaluations]:
    """Fit kmalloc classes (at most k, default Linux's count; no request rounded up by more than
    max_waste of its class) to the workload, measuring every candidate. Returns the result (plain
    data) and the evaluations (count and time)."""
    k = len(LINUX_KMALLOC_CLASSES) if k is None else k
    if not 1 <= k <= MAX_KMALLOC:
        raise OptimiseError(f"--classes {k}: a machine has 1..{MAX_KMALLOC} kmalloc classes")
    if max_evals < 5:
        raise OptimiseError(f"--max-evals {max_evals}: at least 5 (Linux's classes, those the workload uses, "
                            "four per doubling, the model's two optima)")
    trace = rerun.trace
    profile = size_profile(rerun.lifetimes, len(trace))
    if not len(profile.buckets):
        raise OptimiseError("the workload makes no kmalloc call a slab serves (sizes 1..8192)")
    nr_cpus = len(rerun.build().cpu_to_node)
    costs = range_costs(profile, nr_cpus, max_waste=max_waste)
    need = fewest_classes(costs)
    if need > k:
        raise InfeasibleError(f"--max-waste {max_waste:.0%} needs at least {need} classes for this workload, "
                              f"--classes is {k}")
    # the same model with a slab per CPU and class held on top (each CPU's active slab): it ranks the
    # local search's moves and proposes a second set, with fewer classes where classes are small
    held = range_costs(profile, nr_cpus, max_waste=max_waste, overhead=nr_cpus)
    evals = Evaluations(measure, run or in_process(rerun))
    requests = {int(c): int(n) for c, n in zip(profile.buckets, profile.requests, strict=True)}

    def per_class(classes: Sequence[int]) -> dict[int, int]:
        cls = np.asarray(classes)
        out: dict[int, int] = {}
        for b, n in requests.items():
            c = int(cls[np.searchsorted(cls, b)])
            out[c] = out.get(c, 0) + n
        return out

    def fits(classes: Sequence[int]) -> bool:
        return len(classes) <= k and (max_waste is None or all(
            size - int(profile.buckets[i]) <= max_waste * size + 1e-9 for i, _, size in runs(profile, classes)))

    linux_used = trimmed(LINUX_KMALLOC_CLASSES, per_class(LINUX_KMALLOC_CLASSES), len(LINUX_KMALLOC_CLASSES))
    jemalloc = _padded(trimmed(four_per_doubling(), per_class(four_per_doubling()), k), k)
    proposals = {MODEL: _padded(minimal_classes(costs, k), k), MODEL_HELD: _padded(minimal_classes(held, k), k)}
    first = [LINUX_KMALLOC_CLASSES, jemalloc, *proposals.values(), linux_used]
    measured = dict(zip(first, evals(first), strict=True))
    origin = {linux_used: "Linux's classes (fallback)", jemalloc: "four per doubling",
              **{c: name for name, c in reversed(proposals.items())}}
    best = min((c for c in origin if fits(c)), key=lambda c: _key(measured[c], c))   # the model's sets fit
    found_by = origin[best]
    # local search from the best measured set, on the measured objective
    while evals.count < max_evals:
        parts = [(i, j) for i, j, _ in runs(profile, best)]
        moves = []
        for p in _neighbours(parts, len(profile.buckets), k):
            classes = _padded(tuple(int(held.size[i, j]) for i, j in p), k)
            if all(held.pages[i, j] >= 0 for i, j in p) and classes not in measured:
                moves.append((sum(int(held.pages[i, j]) for i, j in p), sum(int(held.waste[i, j]) for i, j in p),
                              classes))
        moves.sort()
        improved = False
        for at in range(0, len(moves), BATCH):
            batch = [m[2] for m in moves[at:at + BATCH]][:max_evals - evals.count]
            if not batch:
                break
            for classes, got in zip(batch, evals(batch), strict=True):
                measured[classes] = got
            top = min(batch, key=lambda c: _key(measured[c], c))
            if _key(measured[top], top) < _key(measured[best], best):
                best, found_by, improved = top, "local search on the measured objective", True
                break
        if not improved:
            break
    result = {
        "version": VERSION, "classes": list(best), "k": k, "max_waste": max_waste,
        "evaluations": evals.count, "max_evals": max_evals, "found_by": found_by,
        "workload": {"kmalloc_calls": int(profile.requests.sum()), "sizes": len(profile.buckets),
                     "largest_request": int(rerun.lifetimes.size.max()), "cpus": nr_cpus,
                     "exact_peaks": profile.exact, "events_per_window": profile.window},
        "sets": {"linux": list(LINUX_KMALLOC_CLASSES), "four_per_doubling": list(jemalloc), "optimised": list(best)},
        "predicted": {name: predict(profile, c, nr_cpus) for name, c in
                      (("linux", LINUX_KMALLOC_CLASSES), ("four_per_doubling", jemalloc), ("optimised", best))},
        "measured": {"linux": measured[LINUX_KMALLOC_CLASSES], "four_per_doubling": measured[jemalloc],
                     "optimised": measured[best]},
        "proposals": [{"name": name, "classes": list(c), "predicted": predict(profile, c, nr_cpus),
                       "measured": measured[c]} for name, c in proposals.items()],
        "evaluated": [{"classes": list(c), **m} for c, m in measured.items()],
    }
    result["verdict"] = _verdict(result, fits(linux_used))
    return result, evals


def _verdict(r: dict, linux_fits: bool) -> str:
    """How the optimised set measured against Linux's, and whether the model's picks held up."""
    lin, opt = r["measured"]["linux"]["peak_slab_pages"], r["measured"]["optimised"]["peak_slab_pages"]
    if opt < lin:
        head = f"optimised: {lin - opt:,} fewer peak slab pages than Linux's classes ({(lin - opt) / lin:.2%})"
    elif opt == lin:
        head = "optimised: the same peak slab pages as Linux's classes"
    else:
        head = (f"optimised: {opt - lin:,} more peak slab pages than Linux's classes"
                + ("" if linux_fits else ", which do not fit --classes / --max-waste"))
    parts = [head]
    for prop in r["proposals"]:
        got, said = prop["measured"]["peak_slab_pages"], prop["predicted"]["peak_slab_pages"]
        parts.append(f"{prop['name']} measured {got:,} pages, predicted {said:,}"
                     + (" (worse than Linux's: not kept)" if got > lin else ""))
    return "; ".join(parts)


def _rows(r: dict) -> list[dict]:
    """One row per class set: Linux's, four per doubling, the model's proposals, the optimised."""
    sets = [("linux", r["sets"]["linux"], r["predicted"]["linux"], r["measured"]["linux"]),
            ("four_per_doubling", r["sets"]["four_per_doubling"], r["predicted"]["four_per_doubling"],
             r["measured"]["four_per_doubling"])]
    sets += [(p["name"], p["classes"], p["predicted"], p["measured"]) for p in r["proposals"]]
    sets.append(("optimised", r["classes"], r["predicted"]["optimised"], r["measured"]["optimised"]))
    return [{"set": name, "classes": " ".join(map(str, classes)), **{f"predicted_{k}": p[k] for k in OBJECTIVE},
             **{f"measured_{k}": m[k] for k in OBJECTIVE}} for name, classes, p, m in sets]


def _summary(r: dict) -> list[str]:
    w = r["workload"]
    lines = [f"kmalloc size classes: at most {r['k']}, fitted to {w['kmalloc_calls']:,} kmalloc calls of "
             f"{w['sizes']} sizes on {w['cpus']} CPUs; {r['evaluations']} re-runs; found by {r['found_by']}",
             f"{'class set':<38} {'peak slab pages':>17} {'avg slab pages':>17} {'internal waste B':>21} "
             f"{'slab tail B':>19}",
             f"{'':<38} {'pred / measured':>17} {'pred / measured':>17} {'pred / measured':>21} "
             f"{'pred / measured':>19}"]
    for row in _rows(r):
        cells = [f"{row['predicted_' + k]:,.0f} / {row['measured_' + k]:,.0f}" for k in OBJECTIVE]
        lines.append(f"{row['set']:<38} {cells[0]:>17} {cells[1]:>17} {cells[2]:>21} {cells[3]:>19}")
    lines += ["optimised classes: " + " ".join(map(str, r["classes"])), r["verdict"]]
    return lines


COLUMNS = (Column("set", "class set", "text"),
           *(Column(f"{side}_{key}", f"{label}, {side}", unit) for key, label, unit in (
               ("peak_slab_pages", "peak slab pages", "pages"), ("avg_slab_pages", "average slab pages", "number"),
               ("internal_waste_bytes", "internal waste", "bytes"), ("tail_waste_bytes", "slab tail waste", "bytes"))
             for side in ("predicted", "measured")),
           Column("classes", "classes", "text"))
NOTE = ("Measured: the workload re-run on the machine with each class set: the most pages the kmalloc caches' slabs "
        "held at once, their average over the records, and at that peak the internal waste (bytes given minus bytes "
        "requested) and the slab tails (slab bytes past the last object). Predicted: the cost model, each class's "
        "slabs at its own peak ideally packed (docs/optimize.md says what it leaves out). The optimised set is the "
        "best measured; the model's optima are proposals.")


def _section(r: dict) -> Section:
    lin, opt = r["measured"]["linux"], r["measured"]["optimised"]
    return Section(
        [Fact("optimised classes", " ".join(map(str, r["classes"])), "text"),
         Fact("peak slab pages with Linux's classes (measured)", lin["peak_slab_pages"], "pages"),
         Fact("peak slab pages with the optimised classes (measured)", opt["peak_slab_pages"], "pages"),
         Fact("found by", r["found_by"], "text"), Fact("re-runs of the workload", r["evaluations"], "count")],
        [Table("Class sets: the cost model's prediction and the re-run's measurement", _rows(r), COLUMNS,
               note=r["verdict"])],
        [NOTE])


def _charts(r: dict) -> list[BarChart]:
    names = list(SETS)
    return [BarChart("size_classes.svg", "Waste at the peak of kmalloc slab pages (measured)", "class set", "bytes",
                     names, {"internal waste": [r["measured"][n]["internal_waste_bytes"] for n in names],
                             "slab tail waste": [r["measured"][n]["tail_waste_bytes"] for n in names]},
                     stacked=True, highlight=("optimised",), unit="bytes")]


def _metrics(r: dict) -> dict[str, float]:
    out = {f"{n}.{key}": r["measured"][n][key] for n in SETS for key in OBJECTIVE}
    lin = r["measured"]["linux"]["peak_slab_pages"]
    out["saving_vs_linux"] = round((lin - r["measured"]["optimised"]["peak_slab_pages"]) / lin, 6) if lin else 0.0
    out["evaluations"] = r["evaluations"]
    return out


FIGURES = (Figure("*.peak_slab_pages", "pages", "peak kmalloc slab pages with {} classes (measured)"),
           Figure("*.avg_slab_pages", "number", "average kmalloc slab pages with {} classes (measured)"),
           Figure("*.internal_waste_bytes", "bytes", "internal waste at the peak with {} classes (measured)"),
           Figure("*.tail_waste_bytes", "bytes", "slab tail waste at the peak with {} classes (measured)"),
           Figure("saving_vs_linux", "ratio", "peak slab pages the optimised classes save, a share of Linux's"),
           Figure("evaluations", "count", "re-runs of the workload"),
           Figure("classes", "text", "the optimised kmalloc classes"))


def _run(ctx: ExperimentContext) -> dict:
    return optimise(Rerun(ctx.trace, ctx.machine_kwargs))[0]


EXPERIMENT = register(Experiment(
    "size_classes", "kmalloc size classes, optimised and measured", _run, summary=_summary, metrics=_metrics,
    labels=lambda r: {"classes": " ".join(map(str, r["classes"]))}, figures=FIGURES, section=_section,
    charts=_charts, doc="kmalloc classes fitted to the workload, each candidate re-run: predicted vs measured"))
