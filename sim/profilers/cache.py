"""Cache profiler: hit/miss over time per cache, a set-by-time miss heatmap, misses by call site
and by allocation site, and strided call sites (prefetch opportunities).

It only reads counters: the caller replays in chunks and calls observe() between them.
Every series is bounded (sim.profilers.series): past max_points, neighbouring windows merge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kernel_model import Machine
from sim.profilers.registry import Context, Profiler, Section, register
from sim.profilers.series import Series

VERSION = 1


@dataclass
class CacheProfiler:
    machine: Machine
    heatmap: tuple[str, ...] = ()      # cache instances to map, e.g. ("cpu0/L1d", "node0/L3")
    line_use: tuple[str, ...] = ()     # first-level instances whose line utilisation to record
    max_points: int = 200
    set_bins: int = 64
    top: int = 10
    _series: Series = field(init=False)
    _last: dict[str, tuple[int, int]] = field(default_factory=dict)
    _maps: dict[str, np.ndarray] = field(default_factory=dict)
    _last_sets: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
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
        for name in self._caches:
            points = self._series[name]
            hits = sum(h for h, _ in points)
            misses = sum(m for _, m in points)
            caches[name] = {
                "hits": int(hits), "misses": int(misses),
                "miss_ratio": misses / (hits + misses) if hits + misses else 0.0,
                "miss_ratio_over_time": [m / (h + m) if h + m else 0.0 for h, m in points],
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
    return CacheProfiler(ctx.machine, heatmap=(f"cpu0/{first}",), line_use=(f"cpu0/{first}",))


def _summary(r: dict) -> str:
    parts = [f"{k} miss {c['miss_ratio']:.1%}" for k, c in r["caches"].items() if c["hits"] + c["misses"]][:3]
    parts += [f"prefetchable: {p['call_site']}" for p in r["prefetch_candidates"][:1]]
    return "; ".join(parts)


def _section(r: dict) -> Section:
    return Section([], [("Per cache", [{"cache": k, **x} for k, x in r["caches"].items()]),
                        ("Prefetch candidates", r["prefetch_candidates"])])


def _metrics(r: dict) -> dict[str, float]:
    out = {}
    for name, c in r["caches"].items():
        out[f"{name}.miss_ratio"] = round(c["miss_ratio"], 6)
        out[f"{name}.misses"] = c["misses"]
    out["prefetch_candidates"] = len(r["prefetch_candidates"])
    return out


PROFILER = register(Profiler(
    "cache", "Caches", _build, requires=("caches",),
    doc="hit/miss over time per cache, a set-by-time miss heatmap, misses by call and allocation site, "
        "line utilisation, prefetch candidates",
    metrics=_metrics, summary=_summary, section=_section))
