"""3 slab: slabtop's table (objects, active, use, object size, slabs, objects per slab, pages)
with the layout loss of tools/mm/slabinfo, and slabtop's sort orders: `s` cycles them, and
slabtop's own letters pick one where they do not clash with the app's keys (o a b c l u)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult

from kernel_model.mm import PAGE_SIZE
from sim.tui.frame import Frame, SlabRow
from sim.tui.views.base import Sort, View
from sim.tui.widgets import Plain, RowTable, count, ratio, spark

COLUMNS = ("OBJS", "ACTIVE", "USE", "OBJ SIZE", "SLABS", "OBJ/SLAB", "PAGES", "LOSS", "NAME")


class SlabView(View):
    key, name_, title, section = "3", "slab", "Slab caches", "slab"
    sorts = (Sort("objects", lambda r: (r.objects or 0, r.cache), letter="o"),
             Sort("active objects", lambda r: (r.active, r.cache), letter="a"),
             Sort("object size", lambda r: (r.objsize, r.cache)),
             Sort("slabs", lambda r: (r.slabs, r.cache), letter="l"),
             Sort("pages (cache size)", lambda r: (r.pages or 0, r.cache), letter="c"),
             Sort("objects per slab", lambda r: (r.objs_per_slab or 0, r.cache), letter="b"),
             Sort("use", lambda r: (r.use or 0.0, r.cache), letter="u"),
             Sort("loss", lambda r: (r.loss or 0, r.cache)),
             Sort("name", lambda r: r.cache, descending=False))

    def compose(self) -> ComposeResult:
        yield Plain(id="slab-summary")
        yield RowTable(id="slab-table")

    def draw(self, frame: Frame) -> None:
        s = frame.slab
        if s is None:
            return
        rows = s.rows
        active, total = sum(r.active for r in rows), sum(r.objects or 0 for r in rows)
        pages = sum(r.pages or 0 for r in rows)
        loss = s.total_loss if s.total_loss is not None else sum(r.loss or 0 for r in rows)
        summary = Text(f" Active / Total Objects (% used)    : {active:,} / {count(total or None)} "
                       f"({ratio(active / total if total else None)})\n"
                       f" Active / Total Slabs               : {sum(r.slabs for r in rows):,}  caches {len(rows)}\n"
                       f" Total Size / Loss                  : {kb(pages * PAGE_SIZE if pages else None)} / "
                       f"{kb(loss)}\n")
        if s.pages_history:
            summary.append(" slab pages over time               : ")
            summary.append(spark(s.pages_history, max(self.size.width - 44, 8)), "cyan")
        if s.note:
            summary.append(f"\n {s.note}", "dim")
        summary.append(f"\n sorted by {self.sort_label}", "dim")
        self.query_one("#slab-summary", Plain).update(summary)
        self.rows = self.sort(self.keep(rows, lambda r: r.cache))
        self.query_one("#slab-table", RowTable).show_rows(COLUMNS, [_cells(r) for r in self.rows])


def kb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1024:,.1f}K"


def _cells(r: SlabRow) -> tuple:
    return (count(r.objects), f"{r.active:,}", "-" if r.use is None else f"{r.use:.0%}", f"{r.objsize / 1024:.2f}K",
            f"{r.slabs:,}", count(r.objs_per_slab), count(r.pages), kb(r.loss), r.cache)
