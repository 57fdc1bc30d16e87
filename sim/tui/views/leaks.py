"""6 leaks: the latest scan's memcheck categories and the seed's leak classes (direct,
indirect, resource, fragmentation), the lost objects by allocation site, kmemleak's reports so
far with their false positives per site, and the growth suspects (shown when the leak detector
is on)."""

from __future__ import annotations

from textual.app import ComposeResult

from sim.profilers.leaks import KINDS
from sim.tui.frame import Frame
from sim.tui.views.base import Sort, View
from sim.tui.widgets import Heading, Plain, RowTable


class LeaksView(View):
    key, name_, title, section, profiler = "6", "leaks", "Leaks", "leaks", "leaks"
    sorts = (Sort("bytes", lambda r: (r["bytes"], r["objects"])),
             Sort("objects", lambda r: (r["objects"], r["bytes"])),
             Sort("site", lambda r: (r["site"], r["kind"]), descending=False))

    def compose(self) -> ComposeResult:
        yield Plain(id="leaks-scan")
        yield RowTable(id="leaks-kinds")
        yield Heading("Leak classes")
        yield RowTable(id="leaks-classes")
        yield Heading("Lost objects by allocation site")
        yield RowTable(id="leaks-sites")
        yield Heading("Growth suspects (live objects only grow)")
        yield RowTable(id="leaks-growth")
        yield Heading("kmemleak false positives by site (reports later contradicted)")
        yield RowTable(id="leaks-false")

    def draw(self, frame: Frame) -> None:
        r = frame.leaks
        if r is None:
            return
        at = r.get("scanned_at")
        self.query_one("#leaks-scan", Plain).update(
            (f"scan at record {at:,}" if at is not None else "at the end of the run") +
            f"   kmemleak reported {r['kmemleak']['reported']:,} (older than {r['kmemleak']['min_age_records']:,} "
            f"records, unreferenced in two scans in a row), "
            f"{(r.get('false_positives') or {'rate': 0.0})['rate']:.0%} of them false so far"
            f"   sorted by {self.sort_label}")
        self.query_one("#leaks-kinds", RowTable).show_rows(
            ("category", "objects", "bytes"),
            [(k.replace("_", " "), f"{r['summary'][k]['objects']:,}", f"{r['summary'][k]['bytes']:,}")
             for k in KINDS])
        self.rows = self.sort(self.keep(r["by_site"], lambda x: x["site"]))
        self.query_one("#leaks-sites", RowTable).show_rows(
            ("allocation site", "kind", "objects", "bytes"),
            [(x["site"], x["kind"].replace("_", " "), f"{x['objects']:,}", f"{x['bytes']:,}") for x in self.rows])
        self.query_one("#leaks-growth", RowTable).show_rows(
            ("allocation site", "live first", "live last", "objects per 1k records"),
            [(g["site"], f"{g['live_first']:,}", f"{g['live_last']:,}", str(g["objects_per_1k_records"]))
             for g in self.keep(r["growth_suspects"], lambda x: x["site"])])
        self.query_one("#leaks-classes", RowTable).show_rows(
            ("class", "objects", "bytes"),
            [(c, f"{x['objects']:,}", f"{x['bytes']:,}") for c, x in r.get("classes", {}).items()])
        fp = r.get("false_positives") or {"by_site": [], "rate": 0.0}
        self.query_one("#leaks-false", RowTable).show_rows(
            ("allocation site", "reports", "false", "freed", "referenced", "not a leak", "rate"),
            [(x["site"], f"{x['reports']:,}", f"{x['false_positives']:,}", f"{x['freed']:,}",
              f"{x['referenced']:,}", f"{x['not_leak']:,}", f"{x['rate']:.0%}")
             for x in self.keep(fp["by_site"], lambda x: x["site"])])
