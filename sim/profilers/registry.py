"""The profiler registry: each profiler module declares itself once, and everything that runs or
shows profilers (the scenario runner, the summary, the HTML report, the timeline, the live
monitor, the overhead benchmark) walks REGISTRY instead of naming profilers.

A declaration says:
- name (the key in [profile] profilers and in each variant of report.json) and title;
- options: typed [profile] keys with defaults (checked when the scenario loads);
- build(ctx) -> the observer for one variant's machine (sim.driver's take()/observe() protocol,
  or neither for a profiler that only analyses the workload), whose result() is plain data;
- summary(result) -> a fragment of the summary line; summary_head, when given, makes the
  fragment a fixed-width column of the summary table instead;
- section(result) -> the variant's report section (headline facts and tables as plain rows with
  units), and charts({variant: result}) -> chart descriptions (lines, bars, heatmaps) over all
  variants (sim/profilers/views.py); timeline(result, track) adds the result's counters and
  instants to a Perfetto track. The report layer formats, draws and lays out;
- live(observer) -> a short live figure while the run goes on (memsim monitor);
- metrics(result) -> its headline figures as named numbers ("health_score": 98.3), which run
  histories store and `memsim compare` compares as "<profiler>.<name>"; labels(result) -> named
  strings (the function with the largest frame); figures declares each name's unit and meaning
  (a scenario's [report] answer cites them, the report's figure table shows them).
Registration order is the order of sections in reports and of fragments in the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kernel_model import Machine, Trace
from sim.fields import Field
from sim.profilers.views import (  # noqa: F401  (re-exported: profilers declare views from here)
    BarChart,
    Chart,
    Column,
    Fact,
    Figure,
    Heatmap,
    LineChart,
    Marker,
    Section,
    Table,
)


@dataclass(frozen=True)
class Context:
    """What a profiler is built from: one variant's machine and workload, its checked options,
    and the scenario's [caches] section (or None)."""
    machine: Machine
    trace: Trace
    options: Mapping[str, Any]
    caches: Mapping | None = None


@dataclass(frozen=True)
class Profiler:
    name: str
    title: str
    build: Callable[[Context], Any]
    doc: str = ""
    options: tuple[Field, ...] = ()
    requires: tuple[str, ...] = ()                     # scenario sections it needs, e.g. ("caches",)
    always: bool = False                               # on in every scenario (fragmentation)
    summary: Callable[[dict], str | None] | None = None
    summary_head: str | None = None
    section: Callable[[dict], Section] | None = None
    charts: Callable[[Mapping[str, dict]], list[Chart]] | None = None
    timeline: Callable[[dict, Any], None] | None = None
    live: Callable[[Any], str] | None = None          # a live figure from the observer (memsim monitor)
    metrics: Callable[[dict], dict[str, float]] | None = None   # headline figures by name (history, compare)
    labels: Callable[[dict], dict[str, str]] | None = None      # headline names ("largest_frame": ...)
    figures: tuple[Figure, ...] = ()                            # what each metric and label is
    option_names: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        object.__setattr__(self, "option_names", frozenset(o.name for o in self.options))


REGISTRY: dict[str, Profiler] = {}


def register(profiler: Profiler) -> Profiler:
    """Add a profiler; its name and its option names must be new (options share [profile])."""
    if profiler.name in REGISTRY:
        raise ValueError(f"profiler {profiler.name!r} is already registered")
    taken = {o: p.name for p in REGISTRY.values() for o in p.option_names}
    for o in profiler.option_names & set(taken):
        raise ValueError(f"profiler {profiler.name!r}: option {o!r} is already {taken[o]!r}'s")
    REGISTRY[profiler.name] = profiler
    return profiler


def unregister(name: str) -> None:
    """Remove a profiler (tests that register their own)."""
    REGISTRY.pop(name, None)


def get(name: str) -> Profiler:
    return REGISTRY[name]


def option_fields() -> dict[str, tuple[str, Field]]:
    """Every profiler option: [profile] key -> (profiler name, field)."""
    return {o.name: (p.name, o) for p in REGISTRY.values() for o in p.options}
