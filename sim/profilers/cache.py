"""Cache profiler: hit/miss over time per cache, a set-by-time miss heatmap, misses by call site
and by allocation site, and strided call sites (prefetch opportunities).

It only reads counters: the caller replays in chunks and calls observe() between them.
Every series is bounded: when a series reaches max_points, neighbouring windows merge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

VERSION = 1


@dataclass
class CacheProfiler:
    machine: object
    heatmap: tuple[str, ...] = ()      # cache instances to map, e.g. ("cpu0/L1d", "node0/L3")
    line_use: tuple[str, ...] = ()     # first-level instances whose line utilisation to record
    max_points: int = 200
    set_bins: int = 64
    top: int = 10
    _records: list[int] = field(default_factory=list)
    _series: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    _last: dict[str, tuple[int, int]] = field(default_factory=dict)
    _maps: dict[str, np.ndarray] = field(default_factory=dict)
    _rows: dict[str, list[np.ndarray]] = field(default_factory=dict)
    _last_sets: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.line_use:
            self.machine.track_line_use(name)
        for name in self.heatmap:
            self._maps[name] = self.machine.track_set_misses(name)
            self._rows[name] = []
            self._last_sets[name] = self._maps[name].copy()

    def observe(self, records_done: int) -> None:
        """Take one window: counter deltas since the previous observe() (read from the caches)."""
        self._records.append(records_done)
        for name, st in self.machine.cache_stats().items():
            if not isinstance(st, dict):
                continue
            now = (st["hits"], st["misses"])
            before = self._last.get(name, (0, 0))
            self._series.setdefault(name, []).append((now[0] - before[0], now[1] - before[1]))
            self._last[name] = now
        for name, live in self._maps.items():
            delta = live - self._last_sets[name]
            self._last_sets[name] = live.copy()
            bins = min(self.set_bins, len(delta))
            edges = np.linspace(0, len(delta), bins + 1).astype(int)[:-1]
            self._rows[name].append(np.add.reduceat(delta, edges))
        if len(self._records) > self.max_points:
            self._halve()

    def _halve(self) -> None:
        """Merge neighbouring windows: the series keep their totals and end points."""
        def merge(seq):
            return [tuple(np.add(seq[i], seq[i + 1])) if i + 1 < len(seq) else seq[i] for i in range(0, len(seq), 2)]
        self._records = [self._records[min(i + 1, len(self._records) - 1)] for i in range(0, len(self._records), 2)]
        self._series = {k: merge(v) for k, v in self._series.items()}
        self._rows = {k: [v[i] + v[i + 1] if i + 1 < len(v) else v[i] for i in range(0, len(v), 2)]
                      for k, v in self._rows.items()}

    def result(self) -> dict:
        """Plain, JSON-serialisable data (counts are accesses; ratios are misses / accesses)."""
        caches = {}
        for name, points in self._series.items():
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
            "records": [int(r) for r in self._records],
            "caches": caches,
            "heatmaps": {name: {"set_bins": int(len(rows[0])) if rows else 0,
                                "misses": [[int(x) for x in row] for row in rows]}
                         for name, rows in self._rows.items()},
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
