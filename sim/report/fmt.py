"""How every number in a report is shown: one function per unit (sim/profilers/views.py lists
them), used by every section, table, chart tooltip and answer. A table cell also gets the exact
value (its tooltip) and a sort key, so sorting a column of "1.2 MiB" and "512 B" is by bytes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

COUNTS = ("count", "pages", "blocks", "records", "objects")
_BINARY = (("GiB", 30), ("MiB", 20), ("KiB", 10))
_TIME = (("s", 10**9), ("ms", 10**6), ("us", 10**3))


@dataclass(frozen=True)
class Cell:
    """A formatted value: its text, the exact value ("" when the text is exact) and a sort key
    (a number, or None to sort by text)."""
    text: str
    exact: str = ""
    sort: float | None = None


def count(n: float) -> str:
    return f"{n:,}" if isinstance(n, int) else number(n)


def number(x: float) -> str:
    """Any other quantity: integers with thousands separators, else 3 significant digits."""
    if isinstance(x, bool):
        return flag(x)
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return f"{int(x):,}"
    if not math.isfinite(x):
        return "-" if math.isnan(x) else ("∞" if x > 0 else "-∞")
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) >= 1e-3 else f"{x:.2e}"


def compact(x: float) -> str:
    """A short axis tick: 950, 12k, 1.5M, 2G."""
    for unit, scale in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{unit}"
    return number(int(x) if float(x).is_integer() else x)


def size(n: float) -> str:
    """Bytes: "512 B", "1.5 KiB", "12.3 MiB" (binary units, as Linux and slabinfo count)."""
    for unit, shift in _BINARY:
        if abs(n) >= 1 << shift:
            v = n / (1 << shift)
            return f"{v:,.1f} {unit}" if abs(v) < 1000 and not v.is_integer() else f"{v:,.0f} {unit}"
    return f"{number(n)} B"


def duration(ns: float) -> str:
    """Nanoseconds: "812 ns", "47.5 ms" (3 significant digits)."""
    for unit, scale in _TIME:
        if abs(ns) >= scale:
            v = ns / scale
            return f"{v:,.3g} {unit}" if abs(v) < 1000 else f"{v:,.0f} {unit}"
    return f"{number(ns)} ns"


def percent(ratio: float) -> str:
    """A share 0..1 as a percentage: 1 decimal, more for a small non-zero share."""
    p = 100 * ratio
    if p == 0 or abs(p) >= 0.1:
        return f"{p:.1f}%"
    return f"{p:.2g}%"


def thousandths(n: float) -> str:
    """Linux's fragmentation indices, printed by the kernel as n / 1000 ("0.679"; -1 = no index)."""
    return f"{n / 1000:.3f}"


def flag(b: object) -> str:
    return "yes" if b else "no"


def value(x: object, unit: str = "auto") -> str:
    """The text of a value in its unit."""
    return cell(x, unit).text


def cell(x: object, unit: str = "auto") -> Cell:
    """A value in its unit, with the exact value and a sort key."""
    if x is None:
        return Cell("–")
    if unit == "auto":
        unit = _unit_of(x)
    if unit == "text":
        return Cell(str(x))
    if unit == "flag":
        return Cell(flag(x), sort=float(bool(x)))
    if unit == "names":
        return Cell(", ".join(str(n) for n in x) if x else "–")
    if unit == "range":
        first, last = x
        return Cell(count(first) if first == last else f"{count(first)} – {count(last)}", sort=float(first))
    if unit == "dict":
        return Cell("; ".join(f"{str(k).replace('_', ' ')} {value(v)}" for k, v in x.items()))
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return cell(x, "auto")
    text = {"bytes": size, "ns": duration, "ratio": percent, "thousandths": thousandths,
            "score": lambda v: f"{v:.1f}", "number": number}.get(unit, count)(x)
    exact = _exact(x, unit)
    return Cell(text, exact if exact != text else "", float(x))


def _exact(x: float, unit: str) -> str:
    """The value with every digit that matters (a tooltip): 1,234,567 B; 98.4467%."""
    if unit == "ratio":
        return f"{100 * x:.6g}%"
    if unit == "thousandths":
        return ""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e18:
        x = int(x)
    digits = f"{x:,}" if isinstance(x, int) else f"{x:,.6g}"
    return digits + {"bytes": " B", "ns": " ns"}.get(unit, "")


def _unit_of(x: object) -> str:
    if isinstance(x, bool):
        return "flag"
    if isinstance(x, int):
        return "count"
    if isinstance(x, float):
        return "number"
    if isinstance(x, Mapping):
        return "dict"
    if isinstance(x, (list, tuple)):
        if len(x) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in x):
            return "range"
        return "names"
    return "text"
