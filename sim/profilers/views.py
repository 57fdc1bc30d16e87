"""What a profiler (or an experiment) shows in a report, as plain data: sections of facts and
tables, charts, and its named headline figures. sim.report formats and draws them; nothing here
formats a number or draws a line.

Every value carries a unit name, which says how sim.report.fmt shows it:
  text, flag (yes/no), names (a list of strings), count (and its kinds: pages, blocks, records,
  objects), bytes (B, KiB, MiB...), ns (ns, us, ms, s), ratio (0..1, shown as a percentage),
  thousandths (Linux's fragmentation indices, shown as 0.679), score (0..100), number (any
  other quantity), range ([first, last] records).
Values of unit "auto" (tables given as plain dicts) are shown by their type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

UNITS = ("text", "flag", "names", "count", "pages", "blocks", "records", "objects", "bytes", "ns", "ratio",
         "thousandths", "score", "number", "range", "auto")


@dataclass(frozen=True)
class Fact:
    """One headline figure of a section: a label, the value and its unit."""
    label: str
    value: object
    unit: str = "auto"


@dataclass(frozen=True)
class Column:
    """A table column: the row key it shows, its heading and its unit."""
    key: str
    label: str
    unit: str = "auto"


@dataclass(frozen=True)
class Table:
    """Rows of a table (one dict per row). Without columns, every key is a column of unit "auto".
    The report shows at most its row limit (sim.report.html.MAX_ROWS) and says how many it left out."""
    caption: str
    rows: Sequence[Mapping]
    columns: tuple[Column, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Section:
    """A variant's part of the report: headline facts, then tables; notes define what they show.
    Facts and tables may also be given as tuples: (label, value) and (caption, rows)."""
    facts: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Marker:
    """A labelled vertical line on a time axis (a PHASE marker, the final pcp drain, an alert)."""
    x: float
    label: str
    variant: str | None = None          # the variant it belongs to (None: every variant)


@dataclass(frozen=True)
class LineChart:
    """One line per name over (x values, y values); the report draws it as charts/<file>.
    variants maps a series to the variant it shows (default: the series' own name when it is a
    variant's), so the page's variant selector can hide it. styles: "dashed", "dotted" or "point"
    (a single marked point, e.g. a predicted exhaustion). A chart with `variant` set shows one
    variant only (its file is charts/<variant>.<file>). Records on the x axis also get the
    variant's PHASE markers."""
    file: str
    title: str
    xlabel: str
    ylabel: str
    series: Mapping[str, tuple[list, list]]
    variants: Mapping[str, str] = field(default_factory=dict)
    styles: Mapping[str, str] = field(default_factory=dict)
    markers: tuple[Marker, ...] = ()
    hlines: tuple[tuple[float, str], ...] = ()     # labelled horizontal reference lines (a limit)
    xunit: str = "records"
    yunit: str = "count"
    variant: str | None = None


@dataclass(frozen=True)
class BarChart:
    """Bars per category, one per series (grouped), or the series stacked. highlight names
    categories to emphasise (a measured best). variants maps a category or a series to the
    variant it shows, for the page's variant selector."""
    file: str
    title: str
    xlabel: str
    ylabel: str
    categories: list[str]
    series: Mapping[str, list]
    stacked: bool = False
    highlight: tuple[str, ...] = ()
    variants: Mapping[str, str] = field(default_factory=dict)
    horizontal: bool = False                       # long category names (caches, functions)
    unit: str = "count"
    variant: str | None = None


@dataclass(frozen=True)
class Heatmap:
    """values[i][j]: the value at column x[i] (a time window) and row j (rows labels them)."""
    file: str
    title: str
    xlabel: str
    ylabel: str
    x: list
    rows: list[str]
    values: list[list]
    unit: str = "count"
    log: bool = False                              # colour on a log scale (counts over decades)
    variant: str | None = None


Chart = LineChart | BarChart | Heatmap


@dataclass(frozen=True)
class Figure:
    """A named headline figure (the metrics and labels hooks give its value): its unit and what
    it means. name may hold "*" for one part of a dotted name ("*.miss_ratio" matches
    "cpu0/L1d.miss_ratio"); the label's "{}" then shows that part."""
    name: str
    unit: str
    label: str

    def matches(self, name: str) -> str | None:
        """The part "*" stands for ("" for an exact name), or None when the name is not this figure."""
        if "*" not in self.name:
            return "" if name == self.name else None
        head, _, tail = self.name.partition("*")
        if len(name) > len(head) + len(tail) and name.startswith(head) and name.endswith(tail):
            part = name[len(head): len(name) - len(tail)]
            return part if "." not in part else None
        return None


def find_figure(figures: Sequence[Figure], name: str) -> tuple[Figure, str] | None:
    """The declaration of a figure name and the part its "*" matched."""
    for f in figures:
        part = f.matches(name)
        if part is not None:
            return f, part
    return None
