"""Two runs side by side: every metric and timing, what changed, and the --fail-on thresholds a
change crosses. Simulated figures are deterministic, so equal means equal; wall-clock timings
differ from run to run and count as the same within a tolerance."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TIME = "time."      # timings compare as "time.<name>"
RUN = "-"           # the variant column of run-wide figures (timings)


class CompareError(ValueError):
    """A --fail-on that cannot be read or names no metric; the message says which."""


@dataclass(frozen=True)
class Threshold:
    """--fail-on [VARIANT/]METRIC:[+|-]PCT%: fail when the metric moves by more than pct percent
    (either way, or only up (+) or down (-))."""
    variant: str | None
    metric: str
    pct: float
    direction: int
    text: str

    def matches(self, row: Row) -> bool:
        return row.name == self.metric and (self.variant is None or row.variant == self.variant)

    def crossed_by(self, row: Row) -> bool:
        if row.pct is None:   # present in one run only
            return True
        return (abs(row.pct) if self.direction == 0 else row.pct * self.direction) > self.pct


@dataclass(frozen=True)
class Row:
    variant: str
    name: str
    a: float | None
    b: float | None
    verdict: str          # "=" equal, "~" a timing within the tolerance, "!=" different, "only A"/"only B"

    @property
    def change(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def pct(self) -> float | None:
        if self.a is None or self.b is None:
            return None
        if self.a == self.b:
            return 0.0
        return math.copysign(math.inf, self.b - self.a) if self.a == 0 else (self.b - self.a) / abs(self.a) * 100


def parse_fail_on(text: str) -> Threshold:
    m = re.fullmatch(r"(?:(?P<variant>[^/:]+)/)?(?P<metric>[^/:]+):(?P<sign>[+-]?)(?P<pct>[0-9.]+)%?", text.strip())
    try:
        pct = float(m["pct"]) if m else math.nan
    except ValueError:
        pct = math.nan
    if m is None or not math.isfinite(pct):
        raise CompareError(f"--fail-on {text!r}: expected [VARIANT/]METRIC:PCT% "
                           "(e.g. fragmentation.health_score:5%, or :-5% for drops only)")
    return Threshold(m["variant"], m["metric"], pct, {"": 0, "+": 1, "-": -1}[m["sign"]], text)


def compare(a: Mapping[str, Any], b: Mapping[str, Any], time_tolerance_pct: float = 10.0) -> list[Row]:
    """Rows for every metric of either run (history rows: "metrics" and "timings")."""
    rows = []
    variants = list(dict.fromkeys([*a["metrics"], *b["metrics"]]))
    for v in variants:
        ma, mb = a["metrics"].get(v, {}), b["metrics"].get(v, {})
        for name in dict.fromkeys([*ma, *mb]):
            rows.append(_row(v, name, ma.get(name), mb.get(name), None))
    for name in dict.fromkeys([*a["timings"], *b["timings"]]):
        rows.append(_row(RUN, TIME + name, a["timings"].get(name), b["timings"].get(name), time_tolerance_pct))
    return rows


def _row(variant: str, name: str, a: float | None, b: float | None, tolerance: float | None) -> Row:
    if a is None or b is None:
        return Row(variant, name, a, b, "only A" if b is None else "only B")
    if a == b:
        return Row(variant, name, a, b, "=")
    row = Row(variant, name, a, b, "!=")
    if tolerance is not None and abs(row.pct) <= tolerance:
        return Row(variant, name, a, b, "~")
    return row


def crossed(rows: Sequence[Row], thresholds: Sequence[Threshold]) -> list[tuple[Threshold, Row]]:
    """(threshold, row) for each threshold a row crosses; a threshold that names no metric of
    either run is an error (a typo must not pass a CI gate)."""
    out = []
    for t in thresholds:
        matching = [r for r in rows if t.matches(r)]
        if not matching:
            known = sorted({r.name for r in rows})
            listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
            raise CompareError(f"--fail-on {t.text}: no metric {t.metric!r}"
                               + (f" in variant {t.variant!r}" if t.variant else "")
                               + f" in either run (metrics: {listed})")
        out += [(t, r) for r in matching if t.crossed_by(r)]
    return out


def scenario_changes(a: Any, b: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Where two resolved scenarios differ: (dotted key, value in A, value in B)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in dict.fromkeys([*a, *b]):
            out += scenario_changes(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [c for i, (x, y) in enumerate(zip(a, b, strict=True)) for c in scenario_changes(x, y, f"{path}[{i}]")]
    return [] if a == b else [(path, a, b)]
