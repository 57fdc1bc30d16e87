"""A bounded time series: samples at record counts, merged when it outgrows max_points, so a
profiler's result has the same size for a 100 M-record run as for a 1 M-record one, and still
covers the whole run at an even spacing.

Each point stands for `stride` consecutive samples; when the points outgrow max_points,
neighbouring points merge pairwise and the stride doubles, so every point always covers the
same number of samples (however the samples arrive: one by one or in batches). The points being
filled (the latest samples, fewer than a stride) show as one last point: the latest state is
never dropped. Columns are of two kinds. A state column (free pages, a free-area snapshot) keeps
the latest sample a point covers; a sum column (misses in a window) adds them, so totals survive.
A point is stamped with the record count of its latest sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


class Series:
    """Parallel columns over one list of record counts; append() or extend() keep it bounded."""

    def __init__(self, states: Sequence[str] = (), sums: Sequence[str] = (), max_points: int = 200) -> None:
        if max_points < 2:
            raise ValueError("max_points must be at least 2")
        self.max_points = max_points
        self._names = (*states, *sums)
        self._sums = frozenset(sums)
        self._stride = 1                                  # samples per point
        self._records: list[int] = []                     # the full points
        self._columns: dict[str, list[Any]] = {name: [] for name in self._names}
        self._open: tuple[int, int, dict[str, Any]] | None = None   # (samples, record, values) being filled

    @property
    def records(self) -> list[int]:
        return self._records + ([self._open[1]] if self._open else [])

    @property
    def columns(self) -> dict[str, list[Any]]:
        return {name: self[name] for name in self._names}

    def __len__(self) -> int:
        return len(self._records) + (self._open is not None)

    def __getitem__(self, name: str) -> list[Any]:
        return self._columns[name] + ([self._open[2][name]] if self._open else [])

    def append(self, records: int, **values: Any) -> None:
        self.extend([records], **{name: [values[name]] for name in self._names})

    def extend(self, records: Iterable[int], **values: Iterable[Any]) -> None:
        """Many samples at once (a batch of snapshots): each column gets one value per record."""
        records = list(records)
        columns = {name: list(values[name]) for name in self._names}
        i = 0
        while i < len(records):
            filled = self._open[0] if self._open else 0
            take = min(self._stride - filled, len(records) - i)
            self._merge_open(take, records[i + take - 1], {n: c[i:i + take] for n, c in columns.items()})
            i += take
            if self._open[0] == self._stride:
                self._records.append(self._open[1])
                for name, value in self._open[2].items():
                    self._columns[name].append(value)
                self._open = None
            if len(self) > self.max_points:
                self._halve()

    def _merge_open(self, samples: int, record: int, chunk: dict[str, list[Any]]) -> None:
        """Add consecutive samples to the point being filled."""
        new = {n: _total(c) if n in self._sums else c[-1] for n, c in chunk.items()}
        if self._open is not None:
            new = {n: _add(self._open[2][n], v) if n in self._sums else v for n, v in new.items()}
            samples += self._open[0]
        self._open = (samples, record, new)

    def _halve(self) -> None:
        """Merge the full points pairwise and double the stride; an unpaired last full point goes
        back to being filled (it holds half of a new point's samples)."""
        odd = len(self._records) % 2
        last = (self._stride, self._records[-1], {n: c[-1] for n, c in self._columns.items()}) if odd else None
        pairs = len(self._records) - odd
        self._records = self._records[1:pairs:2]
        for name, column in self._columns.items():
            self._columns[name] = [_add(column[i], column[i + 1]) for i in range(0, pairs, 2)] \
                if name in self._sums else column[1:pairs:2]
        self._stride *= 2
        if last is not None:
            after, self._open = self._open, last
            if after is not None:
                self._merge_open(after[0], after[1], {n: [v] for n, v in after[2].items()})


def _total(values: list[Any]) -> Any:
    total = values[0]
    for v in values[1:]:
        total = _add(total, v)
    return total


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, np.ndarray):
        return a + b
    if isinstance(a, (tuple, list)):
        return type(a)(x + y for x, y in zip(a, b, strict=True))
    return a + b


def windows(records: Sequence[int], values: Sequence[Any]) -> tuple[list[int], list[Any]]:
    """A windowed column for a chart: a window that ends where the previous one did is empty (the
    end-of-run look at the machine adds one) and its ratio means nothing, so it is left out."""
    keep = [i for i in range(len(records)) if i == 0 or records[i] != records[i - 1]]
    return [records[i] for i in keep], [values[i] for i in keep]
