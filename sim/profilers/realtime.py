"""Real-time tracker: snapshots every interval (records replayed, or simulated time when the
trace carries TIME ops) in a bounded ring buffer; allocation and free rates, free memory against
the watermarks (pressure), a trend and time-to-exhaustion estimate, and threshold alerts."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from kernel_model import Machine
from kernel_model.snapshot import Snapshots
from sim.fields import Field, Float
from sim.profilers.registry import Column, Fact, Figure, LineChart, Marker, Profiler, Section, Table, register
from sim.profilers.sampling import Sampling

VERSION = 1


@dataclass
class RealtimeTracker(Sampling):
    machine: Machine
    capacity: int = 512                  # ring buffer length (snapshots)
    alert_free_fraction: float = 0.10    # alert when free memory falls below this share
    trend_points: int = 16               # the trend fits the last this many snapshots
    _ring: deque = field(default_factory=deque)
    _alerts: list[dict] = field(default_factory=list)
    _below: bool = False
    _failing: bool = False

    def __post_init__(self) -> None:
        self._ring = deque(maxlen=self.capacity)
        marks = self.machine.watermarks()
        self._low = [marks[n]["low"] for n in range(self.machine.nodes)]
        self._min = [marks[n]["min"] for n in range(self.machine.nodes)]
        self._total = sum(self.machine.node_pages)

    def take(self, snaps: Snapshots) -> None:
        """Add snapshots to the ring and raise alerts (the trend waits until latest() or result())."""
        rows = zip(snaps.records.tolist(), snaps.now_ns.tolist(), snaps.free_pages.tolist(),
                   snaps.pgalloc.sum(axis=1).tolist(), snaps.pgfree.sum(axis=1).tolist(),
                   snaps.alloc_fail.sum(axis=1).tolist(), strict=True)
        for records, now, free_by_node, pgalloc, pgfree, fail in rows:
            self._add(records, now, free_by_node, pgalloc, pgfree, fail)

    def _add(self, records: int, now: int, free_by_node: list[int], pgalloc: int, pgfree: int, fail: int) -> None:
        free = sum(free_by_node)
        if self._ring and self._ring[-1]["records"] == records:
            self._ring.pop()             # a second look at the same point (end of run) replaces the first
        prev = self._ring[-1] if self._ring else None
        span = records - prev["records"] if prev else records
        snap = {"records": records, "time_ns": now, "free_pages": free, "pgalloc": pgalloc, "pgfree": pgfree,
                "alloc_fail": fail,
                "below_low": [n for n, f in enumerate(free_by_node) if f <= self._low[n]],
                "below_min": [n for n, f in enumerate(free_by_node) if f <= self._min[n]],
                "alloc_rate": (pgalloc - (prev["pgalloc"] if prev else 0)) / span if span else 0.0,
                "free_rate": (pgfree - (prev["pgfree"] if prev else 0)) / span if span else 0.0}
        self._ring.append(snap)
        low = free < self.alert_free_fraction * self._total
        if low and not self._below:
            self._alerts.append({"records": records, "alert": "free memory below "
                                 f"{self.alert_free_fraction:.0%}", "free_pages": free})
        if snap["below_min"] and (not prev or not prev["below_min"]):
            self._alerts.append({"records": records, "alert": f"nodes {snap['below_min']} at the min watermark"})
        failing = fail > (prev["alloc_fail"] if prev else 0)
        if failing and not self._failing:
            self._alerts.append({"records": records, "alert": "allocations failing",
                                 "failures": fail - (prev["alloc_fail"] if prev else 0)})
        self._below, self._failing = low, failing

    @property
    def alerts(self) -> list[dict]:
        """The alerts raised so far, oldest first."""
        return self._alerts

    def latest(self) -> dict:
        """The last snapshot with its trend and time to exhaustion: what `memsim monitor` prints."""
        return self._with_trend(len(self._ring) - 1)

    def _with_trend(self, i: int) -> dict:
        """Snapshot i of the ring with the trend over it and the trend_points - 1 before it."""
        window = list(itertools.islice(self._ring, max(0, i - self.trend_points + 1), i + 1))
        snap = dict(window[-1])
        snap["trend"], snap["records_to_exhaustion"] = self._trend(window, "records")
        snap["ns_to_exhaustion"] = self._trend(window, "time_ns")[1]
        return snap

    @staticmethod
    def _trend(window: list[dict], x: str) -> tuple[float, float | None]:
        """Free pages per unit of x (records, or simulated time_ns) over the window (least squares),
        and the units of x until none are left at that rate."""
        points = [(s[x], s["free_pages"]) for s in window]
        if len(points) < 2:
            return 0.0, None
        n = len(points)
        mx = sum(x for x, _ in points) / n
        my = sum(y for _, y in points) / n
        var = sum((x - mx) ** 2 for x, _ in points)
        slope = sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0
        return slope, (window[-1]["free_pages"] / -slope if slope < 0 else None)

    def result(self) -> dict:
        """The ring's snapshots, each with its trend (computed here, not while replaying), and the alerts."""
        return {"version": VERSION, "unit": "pages, pages per record, simulated ns",
                "snapshots": [self._with_trend(i) for i in range(len(self._ring))],
                "alerts": self._alerts}


def _summary(r: dict) -> str:
    alerts = r["alerts"]
    return f"alerts {len(alerts)}" + (f" (first at record {alerts[0]['records']:,}: {alerts[0]['alert']})"
                                      if alerts else "")


TREND = ("Trend: the least-squares slope of free pages over the last 16 snapshots; exhaustion: the records "
         "until no page is left at that slope. The dashed line is the trend fitted when the first low-memory alert "
         "fired (or at the last falling snapshot), drawn to its predicted exhaustion point.")
MAX_ALERT_MARKERS = 20


def _fit_at(r: dict) -> int | None:
    """The snapshot whose trend the chart draws: the first low-memory alert's, else the last falling one."""
    snaps = r["snapshots"]
    low = next((a["records"] for a in r["alerts"] if a["alert"].startswith("free memory below")), None)
    at = [i for i, s in enumerate(snaps) if s["records"] == low and s["records_to_exhaustion"]]
    if at:
        return at[0]
    falling = [i for i, s in enumerate(snaps) if s["records_to_exhaustion"]]
    return falling[-1] if falling else None


def _section(r: dict) -> Section:
    snaps = r["snapshots"]
    last = snaps[-1] if snaps else {}
    facts = [Fact("free pages at the end", last.get("free_pages", 0), "pages"),
             Fact("fewest free pages", min((s["free_pages"] for s in snaps), default=0), "pages"),
             Fact("allocation failures at the end", last.get("alloc_fail", 0), "count"),
             Fact("alerts", len(r["alerts"]), "count")]
    i = _fit_at(r)
    if i is not None:
        s = snaps[i]
        facts += [Fact("trend fitted at record", s["records"], "records"),
                  Fact("its free-page trend (pages per record)", s["trend"], "number"),
                  Fact("its predicted exhaustion (record)", round(s["records"] + s["records_to_exhaustion"]),
                       "records")]
    alerts = [{"records": a["records"], "alert": a["alert"],
               "detail": {k: x for k, x in a.items() if k not in ("records", "alert")} or None} for a in r["alerts"]]
    return Section(facts, [Table("Alerts", alerts, (
        Column("records", "record", "records"), Column("alert", "alert", "text"), Column("detail", "detail", "auto")))],
        [TREND])


def _charts(results: Mapping[str, dict]) -> list:
    free, styles, of, markers = {}, {}, {}, []
    for name, r in results.items():
        snaps = r["snapshots"]
        free[name] = ([s["records"] for s in snaps], [s["free_pages"] for s in snaps])
        i = _fit_at(r)
        if i is not None:
            s = snaps[i]
            x0 = snaps[max(0, i - 15)]["records"]
            end = s["records"] + s["records_to_exhaustion"]
            trend, point = f"{name} trend at {s['records']:,}", f"{name} predicted exhaustion"
            free[trend] = ([x0, end], [s["free_pages"] + s["trend"] * (x0 - s["records"]), 0])
            free[point] = ([end], [0])
            styles[trend], styles[point] = "dashed", "point"
            of[trend] = of[point] = name
        markers += [Marker(a["records"], a["alert"], name) for a in r["alerts"][:MAX_ALERT_MARKERS]]
    rates = {}
    for name, r in results.items():
        snaps = r["snapshots"]
        xs = [s["records"] for s in snaps]
        rates[f"{name} alloc"] = (xs, [s["alloc_rate"] for s in snaps])
        rates[f"{name} free"] = (xs, [s["free_rate"] for s in snaps])
    return [LineChart("free_memory.svg", "Free memory, its trend and the alerts", "records replayed", "free pages",
                      free, variants=of, styles=styles, markers=tuple(markers), yunit="pages"),
            LineChart("page_rates.svg", "Pages allocated and freed per record", "records replayed", "pages per record",
                      rates, variants={k: k.rsplit(" ", 1)[0] for k in rates}, yunit="number")]


def _timeline(r: dict, track) -> None:
    for s in r["snapshots"]:
        track.counter("allocation rate (pages/record)", s["records"],
                      {"alloc": s["alloc_rate"], "free": s["free_rate"]})
    for a in r["alerts"]:
        track.instant(a["alert"], a["records"], {k: x for k, x in a.items() if k not in ("alert", "records")})


def _live(tracker: RealtimeTracker) -> str:
    s = tracker.latest()
    eta = f"{s['records_to_exhaustion']:,.0f} records" if s["records_to_exhaustion"] else "-"
    if s["ns_to_exhaustion"]:
        eta += f" ({s['ns_to_exhaustion'] / 1e9:,.3f} s)"
    return (f"free {s['free_pages']:>9,} pages  alloc {s['alloc_rate']:6.3f}/rec  free {s['free_rate']:6.3f}/rec  "
            f"trend {s['trend']:+8.4f}/rec  exhaustion in {eta}")


def _metrics(r: dict) -> dict[str, float]:
    snaps = r["snapshots"]
    out = {"alerts": len(r["alerts"]), "free_pages_min": min((s["free_pages"] for s in snaps), default=0),
           "free_pages_final": snaps[-1]["free_pages"] if snaps else 0,
           "alloc_fail_final": snaps[-1]["alloc_fail"] if snaps else 0}
    low = next((a["records"] for a in r["alerts"] if a["alert"].startswith("free memory below")), None)
    failing = next((a["records"] for a in r["alerts"] if a["alert"] == "allocations failing"), None)
    if low is not None:
        out["first_low_alert_record"] = low
    if failing is not None:
        out["first_failure_record"] = failing
    if low is not None and failing is not None:
        out["warning_records"] = failing - low
    i = _fit_at(r)
    if i is not None and snaps[i]["records"] == low:
        out["predicted_exhaustion_record"] = round(snaps[i]["records"] + snaps[i]["records_to_exhaustion"])
    return out


FIGURES = (Figure("alerts", "count", "alerts"), Figure("free_pages_min", "pages", "fewest free pages"),
           Figure("free_pages_final", "pages", "free pages at the end"),
           Figure("alloc_fail_final", "count", "allocation failures"),
           Figure("first_low_alert_record", "records", "record of the first low-memory alert"),
           Figure("first_failure_record", "records", "record of the first failing allocations (alert)"),
           Figure("warning_records", "records", "records between the low-memory alert and the first failures"),
           Figure("predicted_exhaustion_record", "records", "exhaustion record the trend predicted at the first alert"))


PROFILER = register(Profiler(
    "realtime", "Real-time tracker",
    lambda ctx: RealtimeTracker(ctx.machine, alert_free_fraction=ctx.options["alert_free_fraction"]),
    options=(Field("alert_free_fraction", Float(0.0, 1.0), 0.10, "alert when free memory falls below this share"),),
    doc="rates, free memory against the watermarks, trend, time to exhaustion and alerts",
    metrics=_metrics, figures=FIGURES, summary=_summary, section=_section, charts=_charts, timeline=_timeline,
    live=_live))
