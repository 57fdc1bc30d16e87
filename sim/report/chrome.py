"""Chrome trace-event JSON of a run's timeline, for Perfetto (ui.perfetto.dev) or chrome://tracing.

One process per variant; counter tracks from the profilers' snapshots (free pages and order>=9
blocks per node, slab pages, allocation and free rates) and instant events for PHASE markers and
alerts. The time axis is records replayed: one record is shown as one microsecond. Its size is
bounded because the profilers' series are."""

from __future__ import annotations


def timeline(report: dict) -> dict:
    events: list[dict] = []
    for pid, v in enumerate(report["variants"], start=1):
        events.append({"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": v["name"]}})

        def counter(name: str, ts: int, args: dict, pid: int = pid) -> None:
            events.append({"name": name, "ph": "C", "ts": ts, "pid": pid, "tid": 0, "args": args})

        def instant(name: str, ts: int, args: dict, pid: int = pid) -> None:
            events.append({"name": name, "ph": "i", "s": "p", "ts": ts, "pid": pid, "tid": 0, "args": args})

        frag = v["fragmentation"]
        for ts, snap in zip(frag["records"], frag["series"], strict=True):
            counter("free pages", ts, {f"node{n}": p["free_pages"] for n, p in enumerate(snap)})
            counter("free blocks order>=9", ts, {f"node{n}": p["free_blocks_order_ge_9"]
                                                    for n, p in enumerate(snap)})
        if "slab" in v:
            for ts, pages in zip(v["slab"]["records"], v["slab"]["slab_pages"], strict=True):
                counter("slab pages", ts, {"pages": pages})
        if "realtime" in v:
            for s in v["realtime"]["snapshots"]:
                counter("allocation rate (pages/record)", s["records"], {"alloc": s["alloc_rate"],
                                                                           "free": s["free_rate"]})
            for a in v["realtime"]["alerts"]:
                instant(a["alert"], a["records"], {k: x for k, x in a.items() if k not in ("alert", "records")})
        for p in v.get("phases", []):
            instant(f"phase {p['name']}", p["record"], {"phase": p["number"]})
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"scenario": report["scenario"], "seed": report["seed"], "time_unit": "1 us = 1 record"}}
