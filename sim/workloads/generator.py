"""A workload generator's declaration: its scenario name, the function and its typed parameters.

Each generator module declares one (GENERATOR at its end); sim.workloads.GENERATORS collects
them, and the scenario loader checks [workload] keys against the parameters before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kernel_model import Trace
from kernel_model._core import MAX_CPUS
from sim.fields import Field, Float, Int, Kind

MAX_OPS = 1 << 28            # records a generator may be asked for (24 B each: 6 GiB)
MAX_COUNT = 1 << 26          # objects, pages, tables ... a generator keeps live


@dataclass(frozen=True)
class Param(Field):
    arg: str = ""            # the generator function's argument (default: the same name)


@dataclass(frozen=True)
class Generator:
    name: str
    fn: Callable[..., Trace]
    params: tuple[Param, ...]
    doc: str = ""

    def __call__(self, settings: Mapping[str, Any], seed: int) -> Trace:
        """The trace for checked settings (scenario keys -> values)."""
        args = {p.arg or p.name: settings[p.name] for p in self.params if p.name in settings}
        return self.fn(**args, seed=seed)


def ops(arg: str = "n_ops", min: int = 0) -> Param:
    return Param("ops", Int(min, MAX_OPS), arg=arg, doc="records to generate")


def count(name: str, arg: str = "", min: int = 1, max: int = MAX_COUNT, doc: str = "") -> Param:
    return Param(name, Int(min, max), arg=arg, doc=doc)


def fraction(name: str, doc: str = "") -> Param:
    return Param(name, Float(0.0, 1.0), doc=doc)


def cpus() -> Param:
    return Param("cpus", Int(1, MAX_CPUS), doc="CPUs issuing the records (numbered 0..cpus-1)")


def param(name: str, kind: Kind, doc: str = "") -> Param:
    return Param(name, kind, doc=doc)
