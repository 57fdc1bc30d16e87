"""Real-time tracker: snapshots every interval (records replayed, or simulated time when the
trace carries TIME ops) in a bounded ring buffer; allocation and free rates, free memory against
the watermarks (pressure), a trend and time-to-exhaustion estimate, and threshold alerts."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

VERSION = 1


@dataclass
class RealtimeTracker:
    machine: object
    capacity: int = 512                  # ring buffer length (snapshots)
    alert_free_fraction: float = 0.10    # alert when free memory falls below this share
    trend_points: int = 16               # the trend fits the last this many snapshots
    _ring: deque = field(default_factory=deque)
    _alerts: list[dict] = field(default_factory=list)
    _below: bool = False
    _failing: bool = False

    def __post_init__(self) -> None:
        self._ring = deque(maxlen=self.capacity)

    def observe(self, records_done: int) -> dict:
        """Take a snapshot; returns it (what `memsim monitor` prints)."""
        m = self.machine
        stats = m.zone_stats()
        marks = m.watermarks()
        free = m.nr_free_pages()
        total = sum(m.node_pages)
        if self._ring and self._ring[-1]["records"] == records_done:
            self._ring.pop()             # a second look at the same point (end of run) replaces the first
        snap = {"records": records_done, "time_ns": m.now_ns(), "free_pages": free,
                "pgalloc": sum(s["pgalloc"] for s in stats.values()),
                "pgfree": sum(s["pgfree"] for s in stats.values()),
                "alloc_fail": sum(s["alloc_fail"] for s in stats.values()),
                "below_low": [n for n in range(m.nodes) if m.nr_free_pages(n) <= marks[n]["low"]],
                "below_min": [n for n in range(m.nodes) if m.nr_free_pages(n) <= marks[n]["min"]]}
        prev = self._ring[-1] if self._ring else None
        span = records_done - prev["records"] if prev else records_done
        snap["alloc_rate"] = (snap["pgalloc"] - (prev["pgalloc"] if prev else 0)) / span if span else 0.0
        snap["free_rate"] = (snap["pgfree"] - (prev["pgfree"] if prev else 0)) / span if span else 0.0
        snap["trend"], snap["records_to_exhaustion"] = self._trend(snap, "records")
        snap["ns_to_exhaustion"] = self._trend(snap, "time_ns")[1]
        self._ring.append(snap)
        low = free < self.alert_free_fraction * total
        if low and not self._below:
            self._alerts.append({"records": records_done, "alert": "free memory below "
                                 f"{self.alert_free_fraction:.0%}", "free_pages": free})
        if snap["below_min"] and (not prev or not prev["below_min"]):
            self._alerts.append({"records": records_done, "alert": f"nodes {snap['below_min']} at the min watermark"})
        failing = snap["alloc_fail"] > (prev["alloc_fail"] if prev else 0)
        if failing and not self._failing:
            self._alerts.append({"records": records_done, "alert": "allocations failing",
                                 "failures": snap["alloc_fail"] - (prev["alloc_fail"] if prev else 0)})
        self._below, self._failing = low, failing
        return snap

    def _trend(self, snap: dict, x: str) -> tuple[float, float | None]:
        """Free pages per unit of x (records, or simulated time_ns) over the recent snapshots (least
        squares), and the units of x until none are left at that rate."""
        recent = list(self._ring)[-(self.trend_points - 1):] if self.trend_points > 1 else []
        points = [(s[x], s["free_pages"]) for s in recent] + [(snap[x], snap["free_pages"])]
        if len(points) < 2:
            return 0.0, None
        n = len(points)
        mx = sum(x for x, _ in points) / n
        my = sum(y for _, y in points) / n
        var = sum((x - mx) ** 2 for x, _ in points)
        slope = sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0
        return slope, (snap["free_pages"] / -slope if slope < 0 else None)

    def result(self) -> dict:
        return {"version": VERSION, "unit": "pages, pages per record, simulated ns", "snapshots": list(self._ring),
                "alerts": self._alerts}
