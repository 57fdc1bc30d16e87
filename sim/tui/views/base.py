"""A view: one screen of the app on a number key, drawn from frames.

Each view declares the frame section it needs, its sort orders (the `s` key cycles them; some
views also take single-key sorts, as slabtop does), and draws its main table through sort()
and keep(), so that sorting and the `/` filter work alike everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.containers import VerticalScroll

from sim.tui.frame import Frame


@dataclass(frozen=True)
class Sort:
    label: str
    key: Callable[[Any], Any]
    descending: bool = True
    letter: str = ""            # a single key that picks this order in the view (slabtop's)


class View(VerticalScroll):
    key: ClassVar[str]
    name_: ClassVar[str]
    title: ClassVar[str]
    section: ClassVar[str | None] = None           # the frame section drawn (None: the overview figures)
    profiler: ClassVar[str | None] = None          # shown only when the scenario has this profiler on
    sorts: ClassVar[tuple[Sort, ...]] = ()

    DEFAULT_CSS = "View { padding: 0 1; }"

    def __init__(self) -> None:
        super().__init__(id=f"view-{self.name_}")
        self.sort_index = 0
        self.filter = ""
        self.rows: list = []    # the main table's rows as drawn: sorted, filtered

    def sort(self, rows: Sequence) -> list:
        if not self.sorts:
            return list(rows)
        s = self.sorts[self.sort_index]
        return sorted(rows, key=s.key, reverse=s.descending)

    def keep(self, rows: Sequence, name: Callable[[Any], str]) -> list:
        """The rows whose name contains the filter (any case)."""
        f = self.filter.lower()
        return [r for r in rows if f in name(r).lower()] if f else list(rows)

    @property
    def sort_label(self) -> str:
        return self.sorts[self.sort_index].label if self.sorts else ""

    def draw(self, frame: Frame) -> None:
        """Draw the frame (the app calls it for the view on screen when a new frame comes)."""
        raise NotImplementedError
