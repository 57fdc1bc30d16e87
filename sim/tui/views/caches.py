"""5 caches: hit and miss counts and the miss ratio over time of every cache instance, and the
set-by-time miss heatmap of the mapped one in terminal blocks (shown when [caches] is set). With
coherence, MESI traffic per CPU and the lines with coherence misses (false or true sharing, and
the fix); with latencies, AMAT per CPU and the latency histogram; with cache_alignment, the size
classes whose objects straddle lines."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult

from sim.tui.frame import Caches, Frame
from sim.tui.views.base import Sort, View
from sim.tui.widgets import BARS, SHADES, Heading, Plain, RowTable, heatmap, ratio, spark


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
        yield Heading("Coherence per CPU (MESI)", id="caches-coh-head")
        yield RowTable(id="caches-coherence")
        yield Heading("Lines with coherence misses: false or true sharing, and the fix", id="caches-lines-head")
        yield RowTable(id="caches-lines")
        yield Heading("Average memory access time per CPU", id="caches-amat-head")
        yield RowTable(id="caches-amat")
        yield Plain(id="caches-histogram")
        yield Heading("Size classes whose objects straddle cache lines", id="caches-align-head")
        yield RowTable(id="caches-alignment")

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
        self._extras(c)

    def _show(self, ids: tuple[str, ...], shown: bool) -> None:
        for i in ids:
            self.query_one(f"#{i}").display = shown

    def _extras(self, c: Caches) -> None:
        self._show(("caches-coh-head", "caches-coherence", "caches-lines-head", "caches-lines"), bool(c.coherence))
        if c.coherence:
            self.query_one("#caches-coherence", RowTable).show_rows(
                ("cpu", "coherence misses", "false sharing", "true sharing", "transfers in", "upgrades",
                 "invalidations sent"),
                [(str(x["cpu"]), f"{x['coherence_misses']:,}", f"{x['false_sharing']:,}", f"{x['true_sharing']:,}",
                  f"{x['transfers']:,}", f"{x['upgrades']:,}", f"{x['invalidations_sent']:,}") for x in c.coherence])
            self.query_one("#caches-lines", RowTable).show_rows(
                ("line", "coherence misses", "false", "true", "fix"),
                [(f"{x['line_addr']:#x}", f"{x['coherence_misses']:,}", f"{x['false_sharing']:,}",
                  f"{x['true_sharing']:,}", x["fix"]) for x in c.shared_lines[:5]])
        self._show(("caches-amat-head", "caches-amat", "caches-histogram"), bool(c.amat))
        if c.amat:
            self.query_one("#caches-amat", RowTable).show_rows(
                ("cpu", "accesses", "AMAT (ns)", "lookups served by"),
                [(str(x["cpu"]), f"{x['accesses']:,}", f"{x['amat_ns']:.2f}",
                  ", ".join(f"{k} {v:.1%}" for k, v in x["served"].items() if v)) for x in c.amat])
            self.query_one("#caches-histogram", Plain).update(_histogram(c.latency_histogram))
        self._show(("caches-align-head", "caches-alignment"), bool(c.alignment))
        if c.alignment:
            self.query_one("#caches-alignment", RowTable).show_rows(
                ("cache", "objects", "straddling", "accesses to them", "fix"),
                [(x["cache"], f"{x['placements']:,}", f"{x['straddling']:,}", f"{x['affected']:,}", x["fix"])
                 for x in c.alignment])


def _histogram(buckets: tuple[tuple[float, int], ...]) -> str:
    """Accesses by latency: one line per bucket that has any, a bar scaled to the largest."""
    used = [(ns, n) for ns, n in buckets if n]
    if not used:
        return "no timed accesses yet"
    top = max(n for _, n in used)
    return "\n".join(f"{ns:>8g} ns+ {BARS[-1] * max(int(30 * n / top), 1):<30} {n:,}" for ns, n in used)
