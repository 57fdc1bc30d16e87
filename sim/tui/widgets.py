"""Widgets the views share: a table that updates in place, text sparklines and a heatmap in
terminal blocks."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

BARS = "▁▂▃▄▅▆▇█"
SHADES = " ░▒▓█"


def spark(values: Sequence[float], width: int, top: float | None = None) -> str:
    """values as a row of bars, `width` wide at most (the latest at the right; each bar the
    largest of the samples it covers); scaled to `top`, or to the largest value."""
    if not values or width <= 0:
        return ""
    step = max(len(values) / width, 1.0)
    cols = [max(values[int(i * step):max(int((i + 1) * step), int(i * step) + 1)])
            for i in range(min(width, len(values)))]
    hi = top if top is not None else max(cols)
    lo = min(0.0, min(cols))
    if hi <= lo:
        return BARS[0] * len(cols)
    return "".join(BARS[min(int((v - lo) / (hi - lo) * (len(BARS) - 1) + 0.5), len(BARS) - 1)] for v in cols)


def heatmap(rows: Sequence[Sequence[int]], width: int, height: int) -> list[str]:
    """damo-style: time runs left to right (the latest windows at the right), set bins top to
    bottom (merged to `height` lines), darker where more misses. One string per line."""
    if not rows or not rows[0]:
        return []
    rows = list(rows)[-width:]
    bins = len(rows[0])
    per = max(-(-bins // height), 1)
    cells = [[sum(r[b:b + per]) for b in range(0, bins, per)] for r in rows]
    top = max(max(c) for c in cells) or 1
    return ["".join(SHADES[min(int(col[y] / top * (len(SHADES) - 1) + 0.999), len(SHADES) - 1)] for col in cells)
            for y in range(len(cells[0]))]


def count(n: int | float | None) -> str:
    return "-" if n is None else f"{n:,}" if isinstance(n, int) else f"{n:,.0f}"


def ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


class RowTable(DataTable):
    """A DataTable fed whole rows at each frame: cells that differ are updated in place (the
    cursor and the scroll position stay), a new shape rebuilds it. `shown` keeps the rows as
    given, for the views' sort and filter and for tests."""

    DEFAULT_CSS = "RowTable { height: auto; max-height: 100%; }"
    can_focus = False          # the app's keys stay the app's: views scroll, tables do not take keys

    def __init__(self, **kwargs) -> None:
        super().__init__(zebra_stripes=True, cursor_type="none", **kwargs)
        self.shown: list[tuple] = []
        self._columns: tuple[str, ...] = ()

    def show_rows(self, columns: Sequence[str], rows: Sequence[Sequence[str | Text]]) -> None:
        rows = [tuple(r) for r in rows]
        if tuple(columns) != self._columns:
            self.clear(columns=True)
            self.add_columns(*columns)
            self._columns, self.shown = tuple(columns), []
        if len(rows) != len(self.shown):
            self.clear()
            self.add_rows(rows)
        else:
            for y, (old, new) in enumerate(zip(self.shown, rows, strict=True)):
                for x, (a, b) in enumerate(zip(old, new, strict=True)):
                    if a != b:
                        self.update_cell_at(Coordinate(y, x), b, update_width=True)
        self.shown = rows


class Plain(Static):
    """A Static whose strings are shown as they are: names from traces may hold "[...]"."""

    def __init__(self, text: str = "", **kwargs) -> None:
        super().__init__(text, markup=False, **kwargs)


class Heading(Plain):
    DEFAULT_CSS = "Heading { text-style: bold; margin-top: 1; color: $accent; }"
