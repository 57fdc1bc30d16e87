"""A sweep's plan: the grid (the file's [sweep] grid with the command line's --grid on top) times
the seeds, every point checked as a scenario and given its run key before anything runs.

A bad grid is one SweepError naming the grid key (`--grid KEY=VALUE`, or the file and line of
[sweep]); the scenario's own checks (types, ranges, unknown keys) do the checking.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.experiments import EXPERIMENTS
from sim.history.key import code_version, input_hashes, run_key
from sim.profilers import REGISTRY
from sim.scenario import ScenarioError, ScenarioSpec, load
from sim.scenario.spec import MAX_SEEDS, SHIPPED, resolve
from sim.sweep.values import GridError, parse_grid, show, toml_value

SWEEPS = SHIPPED.parent / "sweeps"      # shipped sweep scenarios (sweeps/<name>.toml)
MAX_POINTS = 10_000
DEFAULT_METRICS = ("fragmentation.health_score",)
# keys a grid may not vary: the seed has --seeds; output and sweep do not change what runs
FORBIDDEN = {"scenario.seed": "vary the seed with --seeds or --seed-list"}
FORBIDDEN_SECTIONS = {"output": "it does not change what runs (each point has its own directory)",
                      "sweep": "a sweep does not sweep sweeps"}


class SweepError(ValueError):
    """A sweep that cannot run; one line naming the grid key, file or option."""


@dataclass(frozen=True)
class Point:
    params: dict[str, Any]              # grid key -> value
    seed: int
    overrides: tuple[str, ...]          # params as --set items
    key: str
    spec: ScenarioSpec = field(repr=False)
    inputs: dict[str, str] = field(default_factory=dict)   # input file -> sha256

    def label(self) -> str:
        return " ".join(f"{k.partition('.')[2]}={show(v)}" for k, v in self.params.items()) + f" seed={self.seed}"


@dataclass(frozen=True)
class Plan:
    sweep_id: str
    base: ScenarioSpec                  # the scenario with the fixed --set overrides
    grid: dict[str, list]
    seeds: tuple[int, ...]
    metrics: tuple[str, ...]
    points: list[Point]
    code: str
    warnings: list[str]


def resolve_scenario(name: str) -> Path:
    """A path, a shipped sweep (sweeps/NAME.toml) or a shipped scenario (scenarios/NAME.toml),
    made absolute so that workers elsewhere read the same files."""
    p = Path(name)
    if not p.exists() and not p.suffix and len(p.parts) == 1 and (SWEEPS / f"{name}.toml").exists():
        return SWEEPS / f"{name}.toml"
    return resolve(name).absolute()


def plan(scenario: str, grids: Sequence[str] = (), seeds: int | None = None, seed_list: Sequence[int] | None = None,
         fixed: Sequence[str] = (), metrics: Sequence[str] = (), name: str | None = None) -> Plan:
    try:
        base = load(resolve_scenario(scenario), fixed)
    except ScenarioError as e:
        raise SweepError(str(e)) from None
    if base.guest is not None:
        raise SweepError(f"{base.where('guest')}: a sweep runs host scenarios; this one runs in a QEMU guest")
    declared = base.sweep
    grid, origin = {}, {}
    for key, values in (declared.grid if declared else {}).items():
        grid[key], origin[key] = list(values), f"{base.where('sweep', 'grid')}: sweep.grid {key}"
    for arg in grids:
        try:
            key, values = parse_grid(arg)
        except GridError as e:
            raise SweepError(str(e)) from None
        if key in grid and origin[key].startswith("--grid"):
            raise SweepError(f"--grid {key}: given twice")
        grid[key], origin[key] = values, f"--grid {key}"
    _check_keys(grid, origin)
    if name is not None and (not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name) or ".." in name):
        raise SweepError(f"--name {name!r}: a sweep's name is a plain file name (letters, digits, '_', '-', '.')")
    chosen_seeds = _seeds(base, declared.seeds if declared else None, seeds, seed_list)
    chosen_metrics = tuple(metrics) or (declared.metrics if declared and declared.metrics else DEFAULT_METRICS)
    _check_metrics(base, chosen_metrics)
    n = len(chosen_seeds)
    for values in grid.values():
        n *= len(values)
    if n > MAX_POINTS:
        raise SweepError(f"the grid times the seeds is {n:,} points (at most {MAX_POINTS:,})")
    # each value alone first (an error names exactly one key), then every combination
    for key, values in grid.items():
        for v in values:
            _checked(base, {key: v}, origin)
    code = code_version()
    hashes: dict[str, str] = {}
    points, seen = [], {}
    for combo in itertools.product(*grid.values()):
        params = dict(zip(grid, combo, strict=True))
        spec = _checked(base, params, origin)
        inputs = input_hashes(spec, hashes)
        for seed in chosen_seeds:
            overrides = tuple(f"{k}={toml_value(v)}" for k, v in params.items())
            point = Point(params, seed, overrides, run_key(spec, seed, inputs, code), spec, inputs)
            if point.key in seen:
                raise SweepError(f"{seen[point.key].label()} and {point.label()} are the same run (key {point.key})")
            seen[point.key] = point
            points.append(point)
    sweep_id = name or _sweep_id(base, grid, chosen_seeds, fixed)
    return Plan(sweep_id, base, grid, chosen_seeds, chosen_metrics, points, code, _shadowed(base, grid))


def _check_keys(grid: Mapping[str, list], origin: Mapping[str, str]) -> None:
    for key, values in grid.items():
        section = key.partition(".")[0]
        if "." not in key or not all(re.fullmatch(r"[A-Za-z0-9_-]+", p) for p in key.split(".", 1)):
            raise SweepError(f"{origin[key]}: expected a section.key as --set takes it")
        if key in FORBIDDEN or section in FORBIDDEN_SECTIONS:
            raise SweepError(f"{origin[key]}: cannot be swept: {FORBIDDEN.get(key) or FORBIDDEN_SECTIONS[section]}")
        if not values:
            raise SweepError(f"{origin[key]}: no values")
        texts = [toml_value(v) for v in values]
        dup = next((t for i, t in enumerate(texts) if t in texts[:i]), None)
        if dup is not None:
            raise SweepError(f"{origin[key]}: the value {dup} is given twice")


def _checked(base: ScenarioSpec, params: Mapping[str, Any], origin: Mapping[str, str]) -> ScenarioSpec:
    """The point's spec, or a SweepError naming the grid key (and value) that broke it."""
    try:
        return base.with_overrides([f"{k}={toml_value(v)}" for k, v in params.items()])
    except (ScenarioError, GridError) as e:
        message = str(e)
        for key, value in params.items():
            if message.startswith(f"--set {key}:"):
                raise SweepError(f"{origin[key]}={show(value)}:{message[len(f'--set {key}:'):]}") from None
        which = ", ".join(f"{k}={show(v)}" for k, v in params.items())
        raise SweepError(f"the grid point {which}: {message}") from None


def _seeds(base: ScenarioSpec, declared: tuple[int, ...] | None, count: int | None,
           seed_list: Sequence[int] | None) -> tuple[int, ...]:
    if count is not None:
        if not 1 <= count <= MAX_SEEDS:
            raise SweepError(f"--seeds {count}: expected 1..{MAX_SEEDS}")
        return tuple(range(base.seed, base.seed + count))
    if seed_list is not None:
        if not seed_list or len(seed_list) > MAX_SEEDS or any(not 0 <= s < 1 << 64 for s in seed_list):
            raise SweepError(f"--seed-list: expected 1..{MAX_SEEDS} seeds in 0..2**64-1")
        if len(set(seed_list)) != len(seed_list):
            raise SweepError("--seed-list: a seed is given twice")
        return tuple(seed_list)
    if declared is not None:
        if len(set(declared)) != len(declared):
            raise SweepError(f"{base.where('sweep', 'seeds')}: sweep.seeds: a seed is given twice")
        return declared
    return (base.seed,)


def _check_metrics(base: ScenarioSpec, metrics: Sequence[str]) -> None:
    """A metric is "<profiler, experiment or replay>.<name>", of something this scenario runs
    (the name itself is known only once a run has reported its figures)."""
    sources = {"replay", *base.profile.profilers, *base.profile.experiments}
    for m in metrics:
        source = m.partition(".")[0]
        if "." not in m or source not in sources:
            hint = (f"the scenario does not run {source!r}" if source in REGISTRY or source in EXPERIMENTS
                    else f"known: {', '.join(sorted(sources))}")
            raise SweepError(f"--metric {m}: expected <source>.<name> of this scenario's figures ({hint})")


def _sweep_id(base: ScenarioSpec, grid: Mapping[str, list], seeds: Sequence[int], fixed: Sequence[str]) -> str:
    """<scenario>-<8 hex digits of what was swept>: the same sweep command names the same sweep."""
    blob = json.dumps({"grid": grid, "seeds": [str(s) for s in seeds], "set": list(fixed)}, sort_keys=True)
    return f"{base.name}-{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


def _shadowed(base: ScenarioSpec, grid: Mapping[str, list]) -> list[str]:
    """Warnings for machine keys every variant sets itself: sweeping them changes nothing."""
    out = []
    for key in grid:
        section, _, name = key.partition(".")
        if section == "machine" and base.variants and all(name in v.machine.given() for v in base.variants):
            out.append(f"--grid {key}: every variant sets machine.{name} itself "
                       f"({', '.join(v.name for v in base.variants)}), so its values change nothing but the run keys")
    return out
