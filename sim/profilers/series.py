"""A bounded time series: samples at record counts, halved when it outgrows max_points, so a
profiler's result has the same size for a 100 M-record run as for a 1 M-record one.

Columns are of two kinds. A state column (free pages, a free-area snapshot) keeps the later
sample of each merged pair; a sum column (misses in a window) adds the pair, so totals survive.
A merged pair is stamped with its later record count. An unpaired last sample stays as it is:
the latest state is never dropped.
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
        self.records: list[int] = []
        self.columns: dict[str, list[Any]] = {name: [] for name in (*states, *sums)}
        self._sums = frozenset(sums)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, name: str) -> list[Any]:
        return self.columns[name]

    def append(self, records: int, **values: Any) -> None:
        self.records.append(records)
        for name, column in self.columns.items():
            column.append(values[name])
        self._bound()

    def extend(self, records: Iterable[int], **values: Iterable[Any]) -> None:
        """Many samples at once (a batch of snapshots): each column gets one value per record."""
        self.records.extend(records)
        for name, column in self.columns.items():
            column.extend(values[name])
        self._bound()

    def _bound(self) -> None:
        while len(self.records) > self.max_points:
            self.records = self.records[1::2] + self.records[len(self.records) - len(self.records) % 2:]
            for name, column in self.columns.items():
                if name in self._sums:
                    self.columns[name] = [_add(column[i], column[i + 1]) if i + 1 < len(column) else column[i]
                                          for i in range(0, len(column), 2)]
                else:
                    self.columns[name] = column[1::2] + column[len(column) - len(column) % 2:]


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
