"""Re-running a workload many times, as the optimisers do: what a re-run needs (the trace and the
machine's arguments, shipped to each worker once) and how a batch of re-runs is run, counted and
timed. A batch runs in this process, or through the map the caller hands in (the CLI's Dask
engine, sim.sweep, for --jobs > 1): the functions run are module-level, so workers can import them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kernel_model import Machine, Trace
from sim.experiments.kmalloc_profile import Lifetimes, lifetimes


class OptimiseError(ValueError):
    """A bound or a workload an optimiser cannot work with (the user's to change); the message says why."""


@dataclass(frozen=True, eq=False)
class Rerun:
    """The workload and the machine it runs on ([machine] of a scenario, or a trace's machine)."""
    trace: Trace
    machine: Mapping[str, Any] = field(default_factory=dict)   # Machine keyword arguments

    def build(self, **over: Any) -> Machine:
        """A fresh machine with some arguments changed (kmalloc_classes=...)."""
        return Machine(**{**self.machine, **over})

    @cached_property
    def lifetimes(self) -> Lifetimes:
        """The trace's kmalloc calls with their frees: computed once per process."""
        return lifetimes(self.trace)


# run fn(rerun, item) for every item, results in the items' order
Map = Callable[[Callable[[Rerun, Any], Any], Sequence[Any]], list]


def in_process(rerun: Rerun) -> Map:
    return lambda fn, items: [fn(rerun, item) for item in items]


class Evaluations:
    """A measuring function run through a Map: every distinct item is run once (the batch's new
    items together, so that a parallel map runs them at once), and the runs and their wall time
    are counted."""

    def __init__(self, fn: Callable[[Rerun, Any], dict], run: Map) -> None:
        self.fn, self.run = fn, run
        self.results: dict[Hashable, dict] = {}
        self.count = 0
        self.seconds = 0.0

    def __call__(self, items: Sequence[Hashable]) -> list[dict]:
        new = list(dict.fromkeys(i for i in items if i not in self.results))
        if new:
            start = time.perf_counter()
            for item, result in zip(new, self.run(self.fn, new), strict=True):
                self.results[item] = result
            self.seconds += time.perf_counter() - start
            self.count += len(new)
        return [self.results[i] for i in items]

    def summary(self) -> dict[str, float]:
        return {"evaluations": self.count, "seconds": round(self.seconds, 3)}
