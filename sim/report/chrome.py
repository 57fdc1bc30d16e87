"""Chrome trace-event JSON of a run's timeline, for Perfetto (ui.perfetto.dev) or chrome://tracing.

One process per variant; counter tracks from the profilers' snapshots (free pages and order>=9
blocks per node, slab pages, allocation and free rates) and instant events for PHASE markers and
alerts. The time axis is records replayed: one record is shown as one microsecond. Its size is
bounded because the profilers' series are. Each profiler adds its own tracks (its timeline hook)."""

from __future__ import annotations

from sim.profilers import REGISTRY


class Track:
    """One variant's process in the trace: counters and instants (profilers' timeline hooks add them)."""

    def __init__(self, events: list[dict], pid: int) -> None:
        self.events, self.pid = events, pid

    def counter(self, name: str, ts: int, args: dict) -> None:
        self.events.append({"name": name, "ph": "C", "ts": ts, "pid": self.pid, "tid": 0, "args": args})

    def instant(self, name: str, ts: int, args: dict) -> None:
        self.events.append({"name": name, "ph": "i", "s": "p", "ts": ts, "pid": self.pid, "tid": 0, "args": args})


def timeline(report: dict) -> dict:
    events: list[dict] = []
    for pid, v in enumerate(report["variants"], start=1):
        events.append({"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": v["name"]}})
        track = Track(events, pid)
        for name, prof in REGISTRY.items():
            if name in v and prof.timeline is not None:
                prof.timeline(v[name], track)
        for p in v.get("phases", []):
            track.instant(f"phase {p['name']}", p["record"], {"phase": p["number"]})
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"scenario": report["scenario"], "seed": report["seed"], "time_unit": "1 us = 1 record"}}
