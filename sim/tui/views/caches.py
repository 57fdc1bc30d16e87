"""5 caches: hit and miss counts and the miss ratio over time of every cache instance, and the
set-by-time miss heatmap of the mapped one in terminal blocks (shown when [caches] is set)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult

from sim.tui.frame import Frame
from sim.tui.views.base import Sort, View
from sim.tui.widgets import SHADES, Heading, Plain, RowTable, heatmap, ratio, spark


class CachesView(View):
    key, name_, title, section, profiler = "5", "caches", "Caches", "caches", "cache"
    sorts = (Sort("misses", lambda c: (c.misses, c.name)),
             Sort("miss ratio", lambda c: (c.miss_ratio, c.name)),
             Sort("name", lambda c: c.name, descending=False))

    def compose(self) -> ComposeResult:
        yield Heading("Per cache (miss ratio over time: one bar per window)")
        yield RowTable(id="caches-table")
        yield Heading("Misses per set over time", id="caches-heat-head")
        yield Plain(id="caches-heatmap")

    def draw(self, frame: Frame) -> None:
        c = frame.caches
        if c is None:
            return
        self.rows = self.sort(self.keep(c.levels, lambda x: x.name))
        self.query_one("#caches-table", RowTable).show_rows(
            ("cache", "hits", "misses", "miss ratio", "over time"),
            [(x.name, f"{x.hits:,}", f"{x.misses:,}", ratio(x.miss_ratio), spark(x.miss_ratio_history, 30, 1.0))
             for x in self.rows])
        self.query_one("#caches-heat-head", Heading).update(
            f"Misses per set of {c.heatmap_name} over time (sets top to bottom, time left to right; "
            f"'{SHADES[1]}' few .. '{SHADES[-1]}' most)   sorted by {self.sort_label}")
        lines = heatmap(c.heatmap, max(self.size.width - 6, 10), 16)
        self.query_one("#caches-heatmap", Plain).update(Text("\n".join(lines), "magenta") if lines else "no misses yet")
