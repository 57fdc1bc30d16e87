"""2 buddy: the free area of each node (orders x migratetypes, as /proc/pagetypeinfo), cells
that changed since the last refresh highlighted, the unusable free index per order, and the
free order >= 9 blocks over time."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult

from kernel_model.mm import MIGRATETYPE_NAMES, NR_PAGE_ORDERS
from sim.tui.frame import Frame
from sim.tui.views.base import View
from sim.tui.widgets import Heading, Plain, RowTable, spark

ORDERS = tuple(str(o) for o in range(NR_PAGE_ORDERS))


class BuddyView(View):
    key, name_, title, section = "2", "buddy", "Buddy allocator", "buddy"

    def __init__(self) -> None:
        super().__init__()
        self._last: tuple[str, tuple] | None = None    # (variant, free area) drawn last

    def compose(self) -> ComposeResult:
        yield Heading("Free blocks per order (free_area[order].nr_free per migratetype)", id="buddy-head")
        yield RowTable(id="buddy-free")
        yield Heading("Unusable free index per order (as debugfs extfrag/unusable_index: the share of free memory "
                      "in blocks too small for the order)")
        yield RowTable(id="buddy-unusable")
        yield Heading("Free blocks of order >= 9 over time")
        yield Plain(id="buddy-order9")

    def draw(self, frame: Frame) -> None:
        b = frame.buddy
        if b is None:
            return
        if b.free_area_note:
            self.query_one("#buddy-head", Heading).update(f"Free blocks per order {b.free_area_note}")
        rows = []
        before = self._last[1] if self._last and self._last[0] == frame.variant else None
        for n, per_mt in enumerate(b.free_area or ()):
            for mt, counts in enumerate(per_mt):
                was = before[n][mt] if before and n < len(before) else None
                cells = [Text(f"{c:,}", "bold reverse" if was is not None and was[o] != c else "")
                         for o, c in enumerate(counts)]
                rows.append((f"node {n} {MIGRATETYPE_NAMES[mt]}", *cells))
        self._last = (frame.variant, b.free_area)
        self.rows = self.keep(rows, lambda r: r[0])
        self.query_one("#buddy-free", RowTable).show_rows(("node, type", *ORDERS), self.rows)
        unusable = [(f"node {n}", *(f"{u / 1000:.3f}" for u in per_node)) for n, per_node in enumerate(b.unusable)]
        if b.extfrag:
            unusable += [(f"node {n} extfrag", *(f"{x / 1000:.3f}" for x in per_node))
                         for n, per_node in enumerate(b.extfrag)]
        self.query_one("#buddy-unusable", RowTable).show_rows(("node", *ORDERS), self.keep(unusable, lambda r: r[0]))
        history = frame.order9_history
        self.query_one("#buddy-order9", Plain).update(
            Text.assemble(f"{history[-1] if history else 0:>8,}  ",
                          (spark(history, max(self.size.width - 16, 8)), "cyan")))
