"""Cache profiler: hit/miss over time per cache, the 3C split of the misses (levels with
classify_3c), a set-by-time miss heatmap, misses by call site and by allocation site, line
utilisation, page walks (with TLBs), and strided call sites (prefetch opportunities). With
coherence, MESI traffic and false sharing (sim/profilers/coherence.py); with latencies, AMAT and
a latency histogram (latency.py); with cache_alignment, alignment advice (alignment.py).

It only reads counters: the caller replays in chunks and calls observe() between them.
Every series is bounded (sim.profilers.series): past max_points, neighbouring windows merge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from kernel_model import Machine
from sim.fields import Bool, Field
from sim.profilers import alignment, coherence, latency
from sim.profilers.registry import (
    BarChart,
    Column,
    Context,
    Fact,
    Figure,
    Heatmap,
    LineChart,
    Profiler,
    Section,
    Table,
    register,
)
from sim.profilers.series import Series, windows

VERSION = 1
THREE_C = ("compulsory", "capacity", "conflict")
COHERENCE = ("coh_invalidations", "coh_misses")
EXTRAS = (coherence, latency, alignment)   # each: result key = module name, with views/charts/metrics/labels


@dataclass
class CacheProfiler:
    machine: Machine
    heatmap: tuple[str, ...] = ()      # cache instances to map, e.g. ("cpu0/L1d", "node0/L3")
    line_use: tuple[str, ...] = ()     # first-level instances whose line utilisation to record
    max_points: int = 200
    set_bins: int = 64
    top: int = 10
    levels: tuple[str, ...] = ()       # names of the levels a site's misses_per_level counts, first level first
    alignment: bool = False            # alignment advice (per-object placement records)
    _series: Series = field(init=False)
    _last: dict[str, tuple[int, int]] = field(default_factory=dict)
    _maps: dict[str, np.ndarray] = field(default_factory=dict)
    _last_sets: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        timed = self.machine.cache_options.latency_ns is not None
        if timed or self.alignment:
            self.machine.enable_cache_attribution(latency=timed, alignment=self.alignment)
        for name in self.line_use:
            self.machine.track_line_use(name)
        for name in self.heatmap:
            self._maps[name] = self.machine.track_set_misses(name)
            self._last_sets[name] = self._maps[name].copy()
        self._caches = [name for name, st in self.machine.cache_stats().items() if isinstance(st, dict)]
        # per window: (hits, misses) of every cache and the misses per set bin of every mapped one
        self._series = Series(sums=[*self._caches, *(f"map:{name}" for name in self.heatmap)],
                              max_points=self.max_points)

    def observe(self, records_done: int) -> None:
        """Take one window: counter deltas since the previous observe() (read from the caches)."""
        window = {}
        stats = self.machine.cache_stats()
        for name in self._caches:
            now = (stats[name]["hits"], stats[name]["misses"])
            before = self._last.get(name, (0, 0))
            window[name] = (now[0] - before[0], now[1] - before[1])
            self._last[name] = now
        for name, live in self._maps.items():
            delta = live - self._last_sets[name]
            self._last_sets[name] = live.copy()
            bins = min(self.set_bins, len(delta))
            edges = np.linspace(0, len(delta), bins + 1).astype(int)[:-1]
            window[f"map:{name}"] = np.add.reduceat(delta, edges)
        self._series.append(records_done, **window)

    def result(self) -> dict:
        """Plain, JSON-serialisable data (counts are accesses; ratios are misses / accesses)."""
        caches = {}
        stats = self.machine.cache_stats()
        coherent = bool(self.machine.coherence_stats())
        for name in self._caches:
            points = self._series[name]
            hits = sum(h for h, _ in points)
            misses = sum(m for _, m in points)
            caches[name] = {
                "hits": int(hits), "misses": int(misses),
                "miss_ratio": misses / (hits + misses) if hits + misses else 0.0,
                "miss_ratio_over_time": [m / (h + m) if h + m else 0.0 for h, m in points],
                # the 3C split of the misses (zero unless the level has classify_3c)
                **{k: int(stats[name][k]) for k in THREE_C},
                # copies other CPUs' stores invalidated here, and misses on them (with coherence)
                **({k: int(stats[name][k]) for k in COHERENCE} if coherent else {}),
            }
        by_site = self.machine.cache_misses_by_site()
        strides = self.machine.cache_strides()
        prefetch = [{"call_site": site, "stride_bytes": s["stride"], "strided_share": s["strided"] / s["accesses"],
                     "accesses": s["accesses"]}
                    for site, s in strides.items() if s["accesses"] >= 16 and s["strided"] >= 0.5 * s["accesses"]]
        return {
            "version": VERSION,
            "unit": "accesses",
            "records": [int(r) for r in self._series.records],
            "caches": caches,
            "heatmaps": {name: {"set_bins": int(len(rows[0])) if rows else 0,
                                "misses": [[int(x) for x in row] for row in rows]}
                         for name, rows in ((n, self._series[f"map:{n}"]) for n in self.heatmap)},
            "top_call_sites": _top(by_site["call_sites"], self.top),
            "top_alloc_sites": _top(by_site["alloc_sites"], self.top),
            "prefetch_candidates": sorted(prefetch, key=lambda p: -p["accesses"])[: self.top],
            "line_utilisation": {name: _utilisation(*self.machine.line_use(name)) for name in self.line_use},
            "levels": list(self.levels),
            "page_walks": {k.partition("/")[0]: int(v) for k, v in stats.items() if k.endswith("/page_walks")},
            # each extra analysis when the machine keeps its data (else None, and no key)
            **{_key(x): r for x in EXTRAS if (r := x.result(self.machine, self.top)) is not None},
        }


def _utilisation(retired: np.ndarray, resident: np.ndarray) -> dict:
    """Bytes touched per line before it left the cache (and for lines still in it)."""
    lines = int(retired.sum())
    return {
        "unit": "bytes per line",
        "retired_lines_by_bytes_used": [int(x) for x in retired],
        "resident_lines_by_bytes_used": [int(x) for x in resident],
        "mean_bytes_used": float((retired * np.arange(65)).sum() / lines) if lines else 0.0,
    }


def _top(sites: dict[str, list[int]], n: int) -> list[dict]:
    """Sites by first-level misses, with misses at every level."""
    ranked = sorted(sites.items(), key=lambda kv: (-kv[1][0], kv[0]))[:n]
    return [{"site": site, "misses_per_level": misses} for site, misses in ranked]


def _build(ctx: Context) -> CacheProfiler:
    """Heatmap and line utilisation of CPU 0's first data level (L1d when the config names one)."""
    levels = ctx.caches["levels"]
    first = "L1d" if any(lv.get("name") == "L1d" for lv in levels) else levels[0].get("name", "L1")
    # a site's misses count at the first data level, then at each level below it (L1i is beside L1d)
    below = [lv.get("name", f"L{i + 1}") for i, lv in enumerate(levels)][1:]
    path = (first, *(n for n in below if n not in ("L1i", first)))
    return CacheProfiler(ctx.machine, heatmap=(f"cpu0/{first}",), line_use=(f"cpu0/{first}",), levels=path,
                         alignment=ctx.options.get("cache_alignment", False))


def _summary(r: dict) -> str:
    parts = [f"{k} miss {c['miss_ratio']:.1%}" for k, c in r["caches"].items() if c["hits"] + c["misses"]][:3]
    parts += [f"prefetchable: {p['call_site']}" for p in r["prefetch_candidates"][:1]]
    return "; ".join(parts)


THREE_C_NOTE = ("3C: a compulsory miss is the first touch of a line; a capacity miss would also miss in a "
                "fully associative cache of the same size (LRU); a conflict miss would not (it comes from the "
                "set mapping). Counted on levels with classify_3c = true.")
UTIL_NOTE = ("Line utilisation: how many of a line's 64 bytes were touched before the line left the first level; "
             "few bytes per line means most of each fill is wasted bandwidth.")
MAX_LEVEL_CHARTS = 8       # miss-ratio charts: the most accessed cache instances


def _accesses(c: dict) -> int:
    return c["hits"] + c["misses"]


def _slug(instance: str) -> str:
    return instance.replace("/", "_")


def _site_rows(sites: list[dict], levels: list[str]) -> tuple[list[dict], tuple[Column, ...]]:
    n = len(levels) or max((len(s["misses_per_level"]) for s in sites), default=0)
    names = levels or [f"level {i + 1}" for i in range(n)]
    rows = [{"site": s["site"], **{f"l{i}": m for i, m in enumerate(s["misses_per_level"][:n])}} for s in sites]
    return rows, (Column("site", "site", "text"), *(Column(f"l{i}", f"{names[i]} misses", "count") for i in range(n)))


def _section(r: dict) -> Section:
    caches = r["caches"]
    used = {k: c for k, c in caches.items() if _accesses(c)}
    facts = [Fact(f"{k} miss ratio", c["miss_ratio"], "ratio") for k, c in list(used.items())[:6]]
    facts += [Fact(f"{k}: mean bytes used per line", u["mean_bytes_used"], "number")
              for k, u in r["line_utilisation"].items()]
    walks = r.get("page_walks", {})
    if any(k.endswith("tlb") for k in caches):
        facts.append(Fact("page walks (TLB misses at every level)", sum(walks.values()), "count"))
    facts.append(Fact("prefetch candidates", len(r["prefetch_candidates"]), "count"))
    per = [{"cache": k, "accesses": _accesses(c), **c} for k, c in caches.items()]
    has_3c = any(c.get("compulsory", 0) + c.get("capacity", 0) + c.get("conflict", 0) for c in caches.values())
    cols = (Column("cache", "cache", "text"), Column("accesses", "accesses", "count"), Column("hits", "hits", "count"),
            Column("misses", "misses", "count"), Column("miss_ratio", "miss ratio", "ratio"),
            *((Column("compulsory", "compulsory", "count"), Column("capacity", "capacity", "count"),
               Column("conflict", "conflict", "count")) if has_3c else ()),
            *((Column("coh_invalidations", "invalidated by others", "count"),
               Column("coh_misses", "coherence misses", "count")) if "coherence" in r else ()))
    levels = r.get("levels", [])
    calls, call_cols = _site_rows(r["top_call_sites"], levels)
    allocs, alloc_cols = _site_rows(r["top_alloc_sites"], levels)
    tables, notes = [], [THREE_C_NOTE, UTIL_NOTE] if has_3c else [UTIL_NOTE]
    for extra in EXTRAS:
        if _key(extra) in r:
            more_facts, more_tables, more_notes = extra.views(r[_key(extra)])
            facts += more_facts
            tables += more_tables
            notes += more_notes
    return Section(facts, [
        Table("Per cache instance", per, cols),
        Table("Call sites by first-level misses", calls, call_cols),
        Table("Allocation sites of the objects missed", allocs, alloc_cols),
        Table("Prefetch candidates: call sites walking with a constant stride", r["prefetch_candidates"], (
            Column("call_site", "call site", "text"), Column("stride_bytes", "stride", "bytes"),
            Column("strided_share", "accesses at that stride", "ratio"), Column("accesses", "accesses", "count")),
            note="The model has no prefetcher: these are the sites a hardware stride prefetcher could follow."),
        *tables], notes)


def _charts(results: Mapping[str, dict]) -> list:
    charts: list = [c for extra in EXTRAS for c in extra.charts(results)]
    instances: dict[str, int] = {}
    for r in results.values():
        for k, c in r["caches"].items():
            instances[k] = instances.get(k, 0) + _accesses(c)
    busiest = set(sorted((k for k, n in instances.items() if n), key=lambda k: -instances[k])[:MAX_LEVEL_CHARTS])
    for k in (k for k in instances if k in busiest):
        charts.append(LineChart(f"miss_ratio_{_slug(k)}.svg", f"{k} miss ratio", "records replayed", "miss ratio",
                                {name: windows(r["records"], r["caches"][k]["miss_ratio_over_time"])
                                 for name, r in results.items() if k in r["caches"]}, yunit="ratio"))
    for k in instances:
        split = {name: [r["caches"][k].get(c, 0) for c in THREE_C] for name, r in results.items() if k in r["caches"]}
        if any(sum(v) for v in split.values()):
            charts.append(BarChart(f"three_c_{_slug(k)}.svg", f"{k} misses by kind (3C)", "variant", "misses",
                                   list(split), {c: [v[i] for v in split.values()] for i, c in enumerate(THREE_C)},
                                   stacked=True, variants={name: name for name in split}))
    for name, r in results.items():
        for k, h in r["heatmaps"].items():
            if h["misses"]:
                charts.append(Heatmap(f"set_misses_{_slug(k)}.svg", f"{k} misses by set and time",
                                      "records replayed", f"set bin (of {h['set_bins']})", r["records"],
                                      [str(i) for i in range(h["set_bins"])], h["misses"], "misses", variant=name))
        for k, u in r["line_utilisation"].items():
            cats, retired = _line_buckets(u["retired_lines_by_bytes_used"])
            _, resident = _line_buckets(u["resident_lines_by_bytes_used"])
            charts.append(BarChart(f"line_use_{_slug(k)}.svg", f"{k}: bytes used per line", "bytes of the line used",
                                   "lines", cats, {"evicted lines": retired, "lines still cached": resident},
                                   stacked=True, variant=name))
    return charts


def _line_buckets(lines: list[int]) -> tuple[list[str], list[int]]:
    """Lines by bytes used (0..64) in eight-byte buckets."""
    cats = ["0"] + [f"{lo}-{lo + 7}" for lo in range(1, 65, 8)]
    return cats, [lines[0]] + [sum(lines[lo:lo + 8]) for lo in range(1, 65, 8)]


def _metrics(r: dict) -> dict[str, float]:
    out = {}
    for name, c in r["caches"].items():
        out[f"{name}.miss_ratio"] = round(c["miss_ratio"], 6)
        out[f"{name}.misses"] = c["misses"]
        split = [c.get(k, 0) for k in THREE_C]
        if sum(split):
            out |= {f"{name}.{k}": n for k, n in zip(THREE_C, split, strict=True)}
            out |= {f"{name}.{k}_share": round(n / sum(split), 6) for k, n in zip(THREE_C, split, strict=True)}
    out["prefetch_candidates"] = len(r["prefetch_candidates"])
    if "page_walks" in r:
        out["page_walks"] = sum(r["page_walks"].values())
    for name, u in r["line_utilisation"].items():
        out[f"{name}.mean_bytes_used"] = round(u["mean_bytes_used"], 3)
    for extra in EXTRAS:
        if _key(extra) in r:
            out |= extra.metrics(r[_key(extra)])
    return out


def _labels(r: dict) -> dict[str, str]:
    out = {"top_miss_site": r["top_call_sites"][0]["site"]} if r["top_call_sites"] else {}
    if r["prefetch_candidates"]:
        out["prefetch_site"] = r["prefetch_candidates"][0]["call_site"]
    for extra in EXTRAS:
        if _key(extra) in r:
            out |= extra.labels(r[_key(extra)])
    return out


def _key(extra) -> str:
    """The result key of an extra analysis: its module's name."""
    return extra.__name__.rpartition(".")[2]


FIGURES = (Figure("*.miss_ratio", "ratio", "{} miss ratio"), Figure("*.misses", "count", "{} misses"),
           *(Figure(f"*.{k}", "count", f"{{}} {k} misses") for k in THREE_C),
           *(Figure(f"*.{k}_share", "ratio", f"{{}} share of misses that are {k}") for k in THREE_C),
           Figure("*.mean_bytes_used", "number", "{} mean bytes used per line"),
           Figure("prefetch_candidates", "count", "prefetch candidates"),
           Figure("page_walks", "count", "page walks"),
           Figure("top_miss_site", "text", "the call site missing most"),
           Figure("prefetch_site", "text", "the first prefetch candidate"),
           *(f for extra in EXTRAS for f in extra.FIGURES))


# (every report shows the doc: the coherence, latency and alignment parts explain themselves in
# their own notes, so that reports without them stay as they were)
PROFILER = register(Profiler(
    "cache", "Caches", _build, requires=("caches",),
    options=(Field("cache_alignment", Bool(), False,
                   "alignment advice: slab objects whose accessed bytes straddle cache lines, and the padding "
                   "that fixes their size class"),),
    doc="hit/miss over time per cache, a set-by-time miss heatmap, misses by call and allocation site, "
        "line utilisation, prefetch candidates",
    metrics=_metrics, labels=_labels, figures=FIGURES, summary=_summary, section=_section, charts=_charts))
