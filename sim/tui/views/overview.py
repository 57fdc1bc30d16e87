"""1 overview: free memory per node against its watermarks (with its history), allocation
and free rates, the trend, alerts as they fire, records replayed, simulated time, progress."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult

from sim.tui.frame import Frame
from sim.tui.views.base import View
from sim.tui.widgets import Heading, Plain, RowTable, count, spark

STATE_STYLE = {"ok": "green", "below high": "yellow", "below low": "bold yellow", "below min": "bold red"}


class Overview(View):
    key, name_, title = "1", "overview", "Overview"

    def compose(self) -> ComposeResult:
        yield Plain(id="ov-progress")
        yield Heading("Free memory per node")
        yield Plain(id="ov-nodes")
        yield Heading("Rates")
        yield Plain(id="ov-rates")
        yield Heading("Alerts")
        yield RowTable(id="ov-alerts")

    def draw(self, frame: Frame) -> None:
        width = max(self.size.width - 4, 40)
        bar = max(width - 52, 10)
        done = int(frame.progress * bar)
        progress = Text.assemble(
            ("records ", "bold"), f"{frame.records:>12,} / {frame.total:,} ", f"{frame.progress:4.0%} ",
            ("█" * done, "green"), ("░" * (bar - done), "dim"))
        progress.append(f"\nsimulated time {frame.now_ns / 1e9:,.6f} s" if frame.now_ns else "\nsimulated time -")
        if frame.note:
            progress.append(f"\n{frame.note}")
        self.query_one("#ov-progress", Plain).update(progress)
        nodes = Text()
        for n in frame.nodes:
            share = n.free_pages / n.managed_pages if n.managed_pages else 0.0
            nodes.append(f"node {n.node}  free {n.free_pages:>10,} / {n.managed_pages:,} pages {share:6.1%}  ")
            nodes.append(f"{n.state:<10}", STATE_STYLE.get(n.state, ""))
            nodes.append(f"  {spark(n.free_history, max(width - 70, 8), n.managed_pages)}\n", "cyan")
            if n.watermarks:
                nodes.append(f"        watermarks min {n.watermarks[0]:,}  low {n.watermarks[1]:,}  "
                             f"high {n.watermarks[2]:,} pages\n", "dim")
        self.query_one("#ov-nodes", Plain).update(nodes)
        self.query_one("#ov-rates", Plain).update(_rates(frame, width))
        rows = [(f"{a['records']:,}", a["alert"], ", ".join(f"{k} {v}" for k, v in a.items()
                                                            if k not in ("records", "alert")))
                for a in self.keep(frame.alerts, lambda a: a["alert"])][::-1]
        self.rows = rows
        self.query_one("#ov-alerts", RowTable).show_rows(("record", "alert", "details"), rows)


def _rates(frame: Frame, width: int) -> Text:
    out = Text()
    r = frame.rates
    if r is not None:
        eta = f"{r['records_to_exhaustion']:,.0f} records" if r["records_to_exhaustion"] else "-"
        if r.get("ns_to_exhaustion"):
            eta += f" ({r['ns_to_exhaustion'] / 1e9:,.3f} s)"
        out.append(f"alloc {r['alloc_rate']:7.3f} pages/record   free {r['free_rate']:7.3f} pages/record   "
                   f"trend {r['trend']:+.4f} pages/record\nexhaustion in {eta}   "
                   f"allocation failures {r['alloc_fail']:,}\n")
    if frame.replay_rate is not None or frame.kind == "live":
        speed = "max" if frame.speed is None else f"{frame.speed:,.0f}"
        out.append(f"replay {count(frame.replay_rate)} records/s (pace {speed})\n")
    out.append(f"free blocks of order >= 9: {frame.order9_history[-1] if frame.order9_history else 0:,}  ")
    out.append(spark(frame.order9_history, max(width - 40, 8)), "cyan")
    return out
