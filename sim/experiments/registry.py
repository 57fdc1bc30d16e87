"""Experiments: analyses that run the model again themselves (fresh machines, other policies,
other parameters) rather than watch one run. A scenario lists them in [profile] experiments;
each result is a top-level key of report.json. Sweeps and optimisers live beside them. Like a
profiler, an experiment declares its headline figures and its report section and charts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kernel_model import Machine, Trace
from sim.profilers.views import Chart, Figure, Section


@dataclass(frozen=True)
class ExperimentContext:
    trace: Trace                           # the scenario's workload (base parameters)
    make_machine: Callable[[], Machine]    # a fresh machine as [machine] describes it (no variant)
    machine_kwargs: Mapping[str, Any] = field(default_factory=dict)   # its Machine arguments, to change some


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    run: Callable[[ExperimentContext], dict]
    summary: Callable[[dict], list[str]] | None = None
    metrics: Callable[[dict], dict[str, float]] | None = None   # headline figures by name
    doc: str = ""
    labels: Callable[[dict], dict[str, str]] | None = None      # headline names (the best policy)
    figures: tuple[Figure, ...] = ()                            # what each metric and label is
    section: Callable[[dict], Section] | None = None            # as a profiler's (sim/profilers/views.py)
    charts: Callable[[dict], list[Chart]] | None = None


EXPERIMENTS: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    if experiment.name in EXPERIMENTS:
        raise ValueError(f"experiment {experiment.name!r} is already registered")
    EXPERIMENTS[experiment.name] = experiment
    return experiment
