"""7 stacks: per-CPU depth now and over time, high-water marks against the stack size,
overflows, the deepest chain and the largest frames (shown when the stack profiler is on)."""

from __future__ import annotations

from textual.app import ComposeResult

from sim.tui.frame import Frame
from sim.tui.views.base import Sort, View
from sim.tui.widgets import Heading, Plain, RowTable, spark


class StacksView(View):
    key, name_, title, section, profiler = "7", "stacks", "Stacks", "stacks", "stack"
    sorts = (Sort("high water", lambda c: (c["high_water"], -c["cpu"])),
             Sort("depth now", lambda c: (c["depth"], -c["cpu"])),
             Sort("overflows", lambda c: (c["overflows"], -c["cpu"])),
             Sort("cpu", lambda c: c["cpu"], descending=False))

    def compose(self) -> ComposeResult:
        yield Plain(id="stacks-head")
        yield RowTable(id="stacks-cpus")
        yield Heading("Deepest chain")
        yield Plain(id="stacks-chain")
        yield Heading("Largest frames")
        yield RowTable(id="stacks-frames")

    def draw(self, frame: Frame) -> None:
        s = frame.stacks
        if s is None:
            return
        self.query_one("#stacks-head", Plain).update(f"stack size {s.stack_size:,} bytes   "
                                                       f"sorted by {self.sort_label}")
        self.rows = self.sort(self.keep(s.cpus, lambda c: f"cpu{c['cpu']}"))
        self.query_one("#stacks-cpus", RowTable).show_rows(
            ("cpu", "depth", "high water", "of stack", "overflows", "calls", "depth over time"),
            [(f"cpu{c['cpu']}", f"{c['depth']:,}", f"{c['high_water']:,}", f"{c['high_water'] / s.stack_size:.0%}",
              f"{c['overflows']:,}", f"{c['calls']:,}",
              spark(s.depth_history[c["cpu"]] if c["cpu"] < len(s.depth_history) else (), 30, s.stack_size))
             for c in self.rows])
        d = s.deepest
        self.query_one("#stacks-chain", Plain).update(
            f"cpu{d['cpu']}, {d['bytes']:,} bytes: " + " > ".join(d["functions"]) if d and d["functions"] else "-")
        self.query_one("#stacks-frames", RowTable).show_rows(
            ("function", "bytes"), [(f["function"], f"{f['bytes']:,}")
                                    for f in self.keep(s.largest_frames, lambda f: f["function"])])
