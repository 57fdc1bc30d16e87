"""Running a scenario: every variant's machine replays its workload with the chosen profilers
watching, then the experiments run, and the results (plain data) go to the report directory.

run_scenario() is the one way anything runs a scenario: the CLI, the monitor, guests (a scenario
with a [guest] section runs in QEMU through sim.scenario.guest), sweeps and the live UI all call it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel_model import Machine, Op, Trace, trace
from kernel_model._core import MAX_CPUS
from sim.driver import cpus_used, observe_now, replay_in_chunks
from sim.experiments import EXPERIMENTS, ExperimentContext
from sim.profilers import REGISTRY, Context
from sim.report.answer import answer
from sim.report.directory import ReportDirectory, ReportError
from sim.scenario.build import build_machine, build_workload, machine_kwargs
from sim.scenario.spec import ScenarioError, ScenarioSpec, VariantSpec, load
from sim.workloads import GENERATORS

VERSION = 1
MAX_PHASES = 1000    # PHASE markers kept per variant (report size stays bounded)
PARTIAL = "report.partial.json"   # the finished variants of a run that failed part-way

# An observer factory: called with (variant name, machine, workload) as each variant starts, it
# returns a watcher for sim.driver (observe(records_done) or take(snapshots)), or None.
ObserverFactory = Callable[[str, Machine, Trace], Any]


@dataclass
class RunResult:
    """What a run produced: report.json's content (plain data) and the files written."""
    report: dict
    out: Path | None
    files: list[Path] = field(default_factory=list)

    @property
    def variants(self) -> dict[str, dict]:
        return {v["name"]: v for v in self.report["variants"]}


def run_scenario(scenario: str | os.PathLike | ScenarioSpec, overrides: Iterable[str] = (), seed: int | None = None,
                 out: str | os.PathLike | None = None, observers: Sequence[ObserverFactory] = (),
                 variants: Sequence[str] | None = None, write: bool = True,
                 guest: Mapping[str, Any] | None = None) -> RunResult:
    """Run a scenario (a path, a shipped name or a loaded spec) with "section.key=value" overrides.
    The report goes to `out` (default: output.dir, or out/<name>) unless write is False;
    `variants` picks some variants by name (default: all). A scenario with a [guest] section runs
    in a QEMU guest and on its host twin (sim.scenario.guest; `guest` passes its options: nodes,
    mem, dist, timeout, accel, on_running); its report is guest.json's."""
    spec = scenario if isinstance(scenario, ScenarioSpec) else load(scenario)
    if overrides:
        spec = spec.with_overrides(overrides)
    seed = spec.seed if seed is None else seed
    if spec.guest is not None:
        from sim.scenario.guest import run_guest

        report = run_guest(spec, out, seed, **(guest or {}))
        out_dir = Path(report.pop("out_dir"))
        return RunResult(report, out_dir, [out_dir / "report.html", out_dir / "guest.json"])
    chosen = _chosen(spec, variants)
    # everything a variant needs is built before the first one runs: a bad variant fails the run early
    traces: dict[int, Trace] = {}
    for v in (None, *chosen):
        w = spec.workload if v is None else v.workload
        if id(w) not in traces:
            traces[id(w)] = build_workload(spec, w, seed)
    base = traces[id(spec.workload)]
    if spec.profile.interval_ns and not (base.records["op"] == Op.TIME).any():
        raise ScenarioError(f"{spec.where('profile', 'interval')}: profile.interval is simulated time, but the "
                            "workload has no TIME records: give a record count instead")
    for v in (*chosen, *((None,) if spec.profile.experiments else ())):
        _check_cpus(spec, v, traces[id(spec.workload if v is None else v.workload)], build_machine(spec, v))
    target = Path(out if out is not None else spec.output_dir or Path("out") / spec.name)
    directory = ReportDirectory(target) if write else None
    if directory is not None:
        directory.discard(PARTIAL)
    report: dict[str, Any] = {"version": VERSION, "scenario": spec.name, "description": spec.description,
                              "seed": seed, "records": len(base), "variants": []}
    for v in chosen:
        with _failing(directory, report, f"variant {v.name!r}"):
            workload = traces[id(v.workload)]
            machine = build_machine(spec, v)
            report["variants"].append(_run_variant(spec, v, machine, workload, observers))
            if directory is not None:
                directory.write_texts(v.name, machine)
    for name in spec.profile.experiments:
        with _failing(directory, report, f"experiment {name!r}"):
            report[name] = EXPERIMENTS[name].run(ExperimentContext(base, lambda: build_machine(spec),
                                                                  machine_kwargs(spec)))
    report = json.loads(json.dumps(report))   # plain JSON data, as report.json reads back (str keys, lists)
    if spec.report is not None:   # the scenario's question, answered from the figures (sim/report/answer.py)
        report["report"] = answer(spec.report.question, spec.report.answer, report)
    with _failing(directory, report, "writing the report"):
        files = directory.finish(report) if directory is not None else []
    return RunResult(report, target if write else None, files)


def _check_cpus(spec: ScenarioSpec, v: VariantSpec | None, workload: Trace, machine: Machine) -> None:
    """A workload on CPUs the machine lacks would have its records rejected: refuse it before
    anything runs, with the counts and the settings that fix it."""
    used, have = cpus_used(workload), len(machine.cpu_to_node)
    if used <= have:
        return
    label = f" of variant {v.name!r}" if v is not None and v.machine.given() else ""
    fixes = [] if used > MAX_CPUS else [f"[topology] cpus for {used} CPUs" if spec.topology is not None else
                                        f"machine.cpus_per_node = {-(-used // machine.nodes)}"]
    w = spec.workload if v is None else v.workload
    if any(p.name == "cpus" for p in getattr(GENERATORS.get(w.generator), "params", ())):
        fixes.append(f"workload.cpus = {have}")
    fix = f"set {' or '.join(fixes)} (e.g. --set {fixes[-1].replace(' = ', '=')})" if fixes else \
        f"the model has at most {MAX_CPUS}"
    raise ScenarioError(f"{spec.where('workload')}: the workload runs on {used} CPUs, the machine{label} has {have}: "
                        f"{fix}")


@contextlib.contextmanager
def _failing(directory: ReportDirectory | None, report: dict, what: str) -> Iterator[None]:
    """A failure (or an interrupt) part-way keeps what finished: the variants done so far go to
    report.partial.json, never to report.json, and the error says what failed."""
    try:
        yield
    except BaseException as e:
        kept = ""
        if directory is not None and report["variants"]:
            partial = {**report, "complete": False, "failed": {"in": what, "error": f"{type(e).__name__}: {e}"}}
            try:
                path = directory.write(PARTIAL, json.dumps(json.loads(json.dumps(partial)), indent=1,
                                                           sort_keys=True) + "\n")
                done = ", ".join(repr(v["name"]) for v in report["variants"])
                kept = f" (the results of {done} are in {path})"
            except Exception:   # e.g. the disk that failed the run: the error says what failed, not this
                pass
        if isinstance(e, (ScenarioError, ReportError)):
            raise ScenarioError(f"{what} failed: {e}{kept}") from None
        if isinstance(e, MemoryError):
            raise ScenarioError(f"{what} failed: out of memory{kept}") from None
        # a bug shows its traceback with this note; an interrupt is one line (sim.cli prints the note)
        e.add_note(f"memsim: {what} failed{kept}" if isinstance(e, Exception) else f"in {what}{kept}")
        raise


def _chosen(spec: ScenarioSpec, names: Sequence[str] | None) -> tuple[VariantSpec, ...]:
    if names is None:
        return spec.variants
    known = {v.name: v for v in spec.variants}
    for n in names:
        if n not in known:
            raise ScenarioError(f"{spec.path}: no variant {n!r} (variants: {', '.join(known)})")
    return tuple(known[n] for n in names)


def _run_variant(spec: ScenarioSpec, v: VariantSpec, machine: Machine, workload: Trace,
                 observers: Sequence[ObserverFactory]) -> dict:
    profilers = {name: REGISTRY[name].build(Context(machine, workload, spec.profile.options[name], spec.caches))
                 for name in spec.profile.profilers}
    watching = [p for p in profilers.values() if hasattr(p, "take") or hasattr(p, "observe")]
    extra = [w for w in (f(v.name, machine, workload) for f in observers) if w is not None]
    results = replay_in_chunks(machine, workload, spec.profile.interval_records, watching + extra,
                               every_ns=spec.profile.interval_ns)
    machine.drain_pcp()
    observe_now(machine, watching, len(workload))
    return {"name": v.name, "machine": copy.deepcopy(spec.machine.merged(v.machine).given()),
            "replay": {"alloc_failed": sum(r.alloc_failed for r in results),
                       "errors": sum(r.nr_errors for r in results)},
            **{name: p.result() for name, p in profilers.items()},
            "phases": trace.phases(workload)[:MAX_PHASES]}
