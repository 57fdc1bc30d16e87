"""Loading a scenario file into a checked, typed spec (docs/scenarios.md describes the format).

Every key of every section is checked here, once, with its type and range, before anything
runs: a bad value is one ScenarioError naming the file, line and key (`--set KEY` when the value
came from the command line). Variants are checked as completely as the base scenario, so a run
never fails on its second variant for a reason the first could have shown.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kernel_model import Topology, TopologyError
from kernel_model._core import MAX_CPUS, MAX_NODES
from kernel_model.caches import CacheConfigError, parse_config
from kernel_model.machine import check_kmalloc_classes
from kernel_model.mm import PAGE_SIZE
from kernel_model.units import parse_duration
from sim.experiments import EXPERIMENTS
from sim.fields import (
    Bool,
    Duration,
    Field,
    FieldError,
    Float,
    Int,
    ListOf,
    OneOf,
    Size,
    Str,
    Table,
    TableError,
    check_table,
)
from sim.profilers import REGISTRY
from sim.report import answer
from sim.report.directory import slug
from sim.workloads import GENERATORS

SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"
FILE_GENERATORS = ("trace", "ftrace")   # workload.file: a memsim trace, or Linux ftrace text (.txt/.txt.xz)
MIN_INTERVAL_NS, MAX_INTERVAL_NS = 1_000_000, 60_000_000_000   # time-based snapshot intervals: 1 ms..60 s
MAX_NODE_MEM = 1 << 40
MAX_VARIANTS = 256
GUEST_MAX_NODES = 8                     # firmware/results.h FW_MAX_NODES

SIZE = Size(PAGE_SIZE, MAX_NODE_MEM)
NODE_MEM = OneOf((SIZE, ListOf(Size(0, MAX_NODE_MEM), 1, MAX_NODES)))
MATRIX = ListOf(ListOf(Int(0, 1 << 32), 1, MAX_NODES), 1, MAX_NODES)

SCENARIO = (Field("name", Str(max_len=100), doc="the report's title and default output directory name"),
            Field("description", Str()), Field("seed", Int(0, (1 << 64) - 1), 0, "workload generator seed"))


@dataclass(frozen=True)
class KmallocClasses(ListOf):
    """[machine] kmalloc_classes: what Machine takes (kernel_model.machine.check_kmalloc_classes)."""
    def check(self, value: Any) -> list:
        try:
            return list(check_kmalloc_classes(super().check(value)))
        except ValueError as e:
            raise FieldError(str(e)) from None


MACHINE = (Field("nodes", Int(1, MAX_NODES)), Field("node_mem", NODE_MEM),
           Field("cpus_per_node", Int(1, MAX_CPUS)), Field("pcp", Bool()), Field("mobility_grouping", Bool()),
           Field("min_free_kbytes", Int(0, (1 << 32) - 1), doc="0 or absent: derived as Linux does"),
           Field("kmalloc_classes", KmallocClasses(Int()), doc="kmalloc cache sizes (absent: Linux's)"))
TOPOLOGY = (Field("distances", MATRIX), Field("node_mem", NODE_MEM),
            Field("cpus", ListOf(ListOf(Int(0, MAX_CPUS - 1), 0, MAX_CPUS), 1, MAX_NODES)),
            Field("latency", MATRIX), Field("bandwidth", MATRIX))
PROFILE = (Field("interval", OneOf((Int(1, 1 << 62), Duration(MIN_INTERVAL_NS, MAX_INTERVAL_NS))), 10000),
           Field("profilers", ListOf(Str(), 0, 64), ["fragmentation"]),
           Field("experiments", ListOf(Str(), 0, 64), []))
VARIANT = (Field("name", Str(max_len=100)), Field("machine", Table()), Field("workload", Table()))
GUEST = (Field("nodes", Int(1, GUEST_MAX_NODES), 2),
         Field("mem", OneOf((SIZE, ListOf(SIZE, 1, GUEST_MAX_NODES))), "64M"),
         Field("distances", OneOf((Str(), MATRIX))), Field("machine", Str(("pc", "q35")), "pc"),
         Field("accel", Str(("tcg", "kvm")), "tcg"), Field("timeout", Float(0.001, 86400.0), 120),
         Field("leak_scan", Bool(), False))
OUTPUT = (Field("dir", Str()),)
REPORT = (Field("question", Str(), doc="the question the scenario answers (the report's first line)"),
          Field("answer", Str(), doc="the answer over named figures, {variant:profiler.figure} (sim/report/answer.py)"))
MAX_SEEDS = 1000
SWEEP = (Field("grid", Table(), doc="`--set` keys -> lists of values: memsim sweep runs their cartesian product"),
         Field("seeds", OneOf((Int(1, MAX_SEEDS), ListOf(Int(0, (1 << 64) - 1), 1, MAX_SEEDS))),
               doc="a count (scenario.seed, +1, ...) or a list of seeds"),
         Field("metrics", ListOf(Str(), 1, 16), doc="the metrics the sweep report charts"))
SECTIONS = ("scenario", "machine", "topology", "caches", "workload", "profile", "variant", "guest", "output",
            "report", "sweep")


class ScenarioError(ValueError):
    """A scenario that cannot run; the message names the file, line and key."""


@dataclass(frozen=True)
class MachineSpec:
    """[machine]: the keys given (None: Machine's default)."""
    nodes: int | None = None
    node_mem: int | str | list | None = None
    cpus_per_node: int | None = None
    pcp: bool | None = None
    mobility_grouping: bool | None = None
    min_free_kbytes: int | None = None
    kmalloc_classes: list | None = None

    def given(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def merged(self, over: MachineSpec) -> MachineSpec:
        return replace(self, **over.given())


@dataclass(frozen=True)
class WorkloadSpec:
    generator: str
    settings: Mapping[str, Any]         # the checked keys, generator excluded
    file: Path | None = None            # resolved against the scenario file (trace, ftrace)


@dataclass(frozen=True)
class ProfileSpec:
    interval_records: int | None
    interval_ns: int | None
    profilers: tuple[str, ...]          # registry order, the always-on ones included
    experiments: tuple[str, ...]
    options: Mapping[str, Mapping[str, Any]]   # every profiler -> option -> value (defaults filled in)


@dataclass(frozen=True)
class VariantSpec:
    name: str
    machine: MachineSpec                # the variant's overrides of [machine]
    workload: WorkloadSpec              # the workload it runs ([workload] with its overrides)
    workload_overrides: Mapping[str, Any] = field(default_factory=dict)



@dataclass(frozen=True)
class GuestSpec:
    nodes: int
    mem: int | str | list
    distances: str | list | None
    machine: str
    accel: str
    timeout: float
    leak_scan: bool


@dataclass(frozen=True)
class ReportSpec:
    """[report]: the question and the answer template (its figure names checked at load)."""
    question: str
    answer: str


@dataclass(frozen=True)
class SweepSpec:
    """[sweep]: what `memsim sweep` runs when the command line does not say (sim.sweep checks the
    grid's keys and values point by point)."""
    grid: Mapping[str, list]            # "section.key" -> values
    seeds: tuple[int, ...] | None
    metrics: tuple[str, ...]


@dataclass(frozen=True)
class ScenarioSpec:
    """A checked scenario. `data` is the TOML as loaded (overrides applied); everything else is
    derived from it, so with_overrides() re-checks from scratch."""
    path: Path
    text: str
    data: Mapping[str, Any]
    name: str
    description: str
    seed: int
    machine: MachineSpec
    topology: Topology | None
    caches: Mapping | None
    workload: WorkloadSpec
    profile: ProfileSpec
    variants: tuple[VariantSpec, ...]
    guest: GuestSpec | None
    output_dir: str | None
    overridden: frozenset[str] = frozenset()
    report: ReportSpec | None = None
    sweep: SweepSpec | None = None

    def with_overrides(self, overrides: Iterable[str]) -> ScenarioSpec:
        data, keys = apply_overrides(self.data, overrides)
        return _check(self.path, self.text, data, self.overridden | keys)

    def where(self, section: str, key: str | None = None, index: int = 0) -> str:
        """file:line of a key (of the index-th [[section]] for arrays of tables), or `--set KEY`."""
        return _Where(self.path, self.text, self.overridden)(section, key, index)

    def resolved(self) -> dict[str, Any]:
        """The scenario as it runs (overrides applied): what identifies a run, with the seed."""
        return {k: v for k, v in self.data.items() if k not in ("output", "sweep")}


def load(scenario: str | Path, overrides: Iterable[str] = ()) -> ScenarioSpec:
    """Read and check a scenario file (or a shipped scenario by name); overrides are
    "section.key=value" with TOML values (a bare word is a string)."""
    path = resolve(scenario)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ScenarioError(f"{path}: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ScenarioError(f"{path}:{line}: not UTF-8 text (byte {e.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: {e}") from None
    data, keys = apply_overrides(data, overrides)
    return _check(path, text, data, keys)


def resolve(scenario: str | Path) -> Path:
    """A path, or the name of a shipped scenario ("fragmentation")."""
    path = Path(scenario)
    if path.exists() or path.suffix or len(path.parts) > 1:
        return path
    if (SHIPPED / f"{path}.toml").exists():
        return SHIPPED / f"{path}.toml"
    names = shipped()
    close = difflib.get_close_matches(str(path), names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ScenarioError(f"{path}: no such scenario file or shipped scenario ({hint}shipped: {', '.join(names)})")


def shipped() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.toml"))


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str]) -> tuple[dict, frozenset[str]]:
    """A copy of data with "section.key=value" items applied, and the keys they set."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    keys = set()
    for item in overrides:
        key, eq, value = item.partition("=")
        section, _, name = key.partition(".")
        if not eq or not name or not section or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise ScenarioError(f"--set {item!r}: expected section.key=value")
        if section not in SECTIONS or section == "variant":
            raise ScenarioError(f"--set {key}: no section [{section}] to set "
                                f"(sections: {', '.join(s for s in SECTIONS if s != 'variant')})")
        try:
            parsed = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value   # a bare string
        table = out.setdefault(section, {})
        if not isinstance(table, dict):
            raise ScenarioError(f"--set {key}: [{section}] is not a table in the scenario")
        table[name] = parsed
        keys.add(key)
    return out, frozenset(keys)


class _Where:
    """file:line of a key for error messages, or `--set KEY` for a value from the command line."""

    def __init__(self, path: Path, text: str, overridden: frozenset[str]) -> None:
        self.path, self.lines, self.overridden = path, text.splitlines(), overridden

    def __call__(self, section: str, key: str | None = None, index: int = 0) -> str:
        if key is not None and f"{section}.{key}" in self.overridden:
            return f"--set {section}.{key}"
        headers = [i for i, line in enumerate(self.lines) if re.match(rf"\s*\[\[?{re.escape(section)}\]?\]", line)]
        start = headers[index] if index < len(headers) else (headers[0] if headers else None)
        if start is None:
            if key is not None:   # an inline table: `section = { key = ... }` or a dotted key
                for i, line in enumerate(self.lines):
                    if re.match(rf"\s*{re.escape(section)}\s*[.=]", line):
                        return f"{self.path}:{i + 1}"
            return f"{self.path}:1"
        if key is not None:
            for i in range(start + 1, len(self.lines)):
                if re.match(r"\s*\[", self.lines[i]):
                    break
                if re.match(rf"\s*{re.escape(key)}\s*=", self.lines[i]):
                    return f"{self.path}:{i + 1}"
        return f"{self.path}:{start + 1}"


def _key_error(where: _Where, section: str, key: str | None, message: str, index: int = 0) -> ScenarioError:
    """file:line: message, or `--set section.key: message` without repeating the key."""
    loc = where(section, key, index)
    if loc.startswith("--set ") and message.startswith(f"{section}.{key}: "):
        message = message[len(f"{section}.{key}: "):]
    return ScenarioError(f"{loc}: {message}")


def _table(where: _Where, data: Mapping, section: str, spec: Sequence[Field], index: int = 0,
           value: Any = None) -> dict[str, Any]:
    try:
        return check_table(data.get(section, {}) if value is None else value, spec, section)
    except TableError as e:
        raise _key_error(where, section, e.key, str(e), index) from None


def _check(path: Path, text: str, data: Mapping[str, Any], overridden: frozenset[str]) -> ScenarioSpec:
    where = _Where(path, text, overridden)
    for s in data:
        if s not in SECTIONS:
            raise ScenarioError(f"{where(s)}: unknown section [{s}] (known: {', '.join(sorted(SECTIONS))})")
    for s, value in data.items():
        if s != "variant" and not isinstance(value, dict):
            raise ScenarioError(f"{where(s)}: {s} must be a table ([{s}]), got {value!r:.40}")
    head = _table(where, data, "scenario", SCENARIO)
    name = head.get("name", path.stem)
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name) or ".." in name:
        raise ScenarioError(f"{where('scenario', 'name')}: scenario.name {name!r} must be a plain file name "
                            "(letters, digits, '_', '-', '.'): it names the output directory")
    machine = MachineSpec(**_table(where, data, "machine", MACHINE))
    topology = _topology(where, data) if "topology" in data else None
    caches = _caches(where, data) if "caches" in data else None
    workload = _workload(where, path, data.get("workload"), "workload")
    profile = _profile(where, data.get("profile", {}), caches is not None)
    variants = _variants(where, path, data, workload)
    guest = None
    if "guest" in data:
        given = _table(where, data, "guest", GUEST)
        guest = GuestSpec(**{f.name: given.get(f.name, f.default) for f in GUEST})
    out = _table(where, data, "output", OUTPUT)
    report = _report(where, data, variants, profile, overridden) if "report" in data else None
    sweep = _sweep(where, data, head.get("seed", 0)) if "sweep" in data else None
    return ScenarioSpec(path=path, text=text, data=data, name=name, description=head.get("description", ""),
                        seed=head.get("seed", 0), machine=machine, topology=topology, caches=caches,
                        workload=workload, profile=profile, variants=variants, guest=guest,
                        output_dir=out.get("dir"), overridden=overridden, report=report, sweep=sweep)


def _report(where: _Where, data: Mapping, variants: Sequence[VariantSpec], profile: ProfileSpec,
            overridden: frozenset[str]) -> ReportSpec:
    r = _table(where, data, "report", REPORT)
    if "guest" in data:
        raise ScenarioError(f"{where('report')}: [report] answers from the host's profilers: a [guest] scenario "
                            "has none (its result is guest.json)")
    for key in ("question", "answer"):
        if not r.get(key, "").strip():
            raise ScenarioError(f"{where('report', key)}: [report] needs {key} (a non-empty string)")
    try:
        # profilers chosen with --set may leave a cited figure out: then the run's answer says so
        answer.check(r["answer"], [v.name for v in variants],
                     None if "profile.profilers" in overridden else profile.profilers,
                     None if "profile.experiments" in overridden else profile.experiments)
    except answer.TemplateError as e:
        raise _key_error(where, "report", "answer", f"report.answer: {e}") from None
    return ReportSpec(r["question"], r["answer"])


def _sweep(where: _Where, data: Mapping, seed: int) -> SweepSpec:
    s = _table(where, data, "sweep", SWEEP)
    for key, values in s.get("grid", {}).items():
        if not isinstance(values, list) or not values:
            raise ScenarioError(f"{where('sweep', 'grid')}: sweep.grid.{key}: expected a non-empty list of values, "
                                f"got {values!r:.40}")
    seeds = s.get("seeds")
    if isinstance(seeds, int):
        seeds = range(seed, seed + seeds)
    return SweepSpec(dict(s.get("grid", {})), None if seeds is None else tuple(seeds), tuple(s.get("metrics", ())))


def _topology(where: _Where, data: Mapping) -> Topology:
    t = _table(where, data, "topology", TOPOLOGY)
    try:
        topology = Topology.from_dict(t, f"{where('topology')}: [topology]")
    except TopologyError as e:
        raise ScenarioError(f"{where('topology')}: {e}") from None
    if topology.nr_nodes > MAX_NODES or len(topology.cpu_to_node) > MAX_CPUS:
        raise ScenarioError(f"{where('topology')}: {topology.nr_nodes} nodes and {len(topology.cpu_to_node)} CPUs; "
                            f"the model handles at most {MAX_NODES} nodes and {MAX_CPUS} CPUs")
    return topology


def _caches(where: _Where, data: Mapping) -> Mapping:
    try:
        parse_config(data["caches"])
    except CacheConfigError as e:
        raise ScenarioError(f"{where('caches')}: {e}") from None
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        raise ScenarioError(f"{where('caches')}: [caches] is malformed ({e})") from None
    return data["caches"]


def _workload(where: _Where, path: Path, w: Any, section: str, index: int = 0) -> WorkloadSpec:
    gens = ", ".join(list(GENERATORS) + list(FILE_GENERATORS))
    if not isinstance(w, dict) or "generator" not in w:
        raise ScenarioError(f"{where(section, None, index)}: [workload] needs a generator ({gens})")
    gen = w["generator"]
    if gen in FILE_GENERATORS:
        unknown = sorted(set(w) - {"generator", "file"})
        if unknown:
            raise ScenarioError(f"{where(section, unknown[0], index)}: generator {gen!r} takes no key {unknown[0]!r}")
        if not isinstance(w.get("file"), str) or not w["file"]:
            raise ScenarioError(f"{where(section, 'generator', index)}: generator {gen!r} needs workload.file "
                                "(a path, relative to the scenario file)")
        file = Path(w["file"])
        return WorkloadSpec(gen, {}, file if file.is_absolute() else path.parent / file)
    if not isinstance(gen, str) or gen not in GENERATORS:
        raise ScenarioError(f"{where(section, 'generator', index)}: unknown generator {gen!r} ({gens})")
    params = GENERATORS[gen].params
    settings = {}
    for key, value in w.items():
        if key == "generator":
            continue
        p = next((p for p in params if p.name == key), None)
        if p is None:
            raise ScenarioError(f"{where(section, key, index)}: generator {gen!r} takes no key {key!r} "
                                f"(it takes: {', '.join(p.name for p in params)})")
        try:
            settings[key] = p.kind.check(value)
        except FieldError as e:
            raise _key_error(where, section, key, f"workload.{key}: {e}", index) from None
    return WorkloadSpec(gen, settings)


def _profile(where: _Where, p: Mapping, have_caches: bool) -> ProfileSpec:
    options = {name: (owner, f) for owner, prof in REGISTRY.items() for f in prof.options for name in [f.name]}
    own = {f.name: f for f in PROFILE}
    checked: dict[str, Any] = {}
    for key, value in p.items():
        f = own.get(key) or (options[key][1] if key in options else None)
        if f is None:
            raise ScenarioError(f"{where('profile', key)}: unknown key profile.{key} "
                                f"(known: {', '.join(sorted([*own, *options]))})")
        try:
            checked[key] = f.kind.check(value)
        except FieldError as e:
            raise _key_error(where, "profile", key, f"profile.{key}: {e}") from None
    interval = checked.get("interval", 10000)
    records, ns = (None, parse_duration(interval)) if isinstance(interval, str) else (interval, None)
    chosen = checked.get("profilers", ["fragmentation"])
    for name in chosen:
        if name in EXPERIMENTS:
            raise ScenarioError(f"{where('profile', 'profilers')}: {name!r} is an experiment (it re-runs the "
                                "workload itself): list it in profile.experiments")
        if name not in REGISTRY:
            raise ScenarioError(f"{where('profile', 'profilers')}: unknown profiler {name!r} "
                                f"(known: {', '.join(REGISTRY)})")
        if "caches" in REGISTRY[name].requires and not have_caches:
            raise ScenarioError(f"{where('profile', 'profilers')}: the {name} profiler needs a [caches] section")
    for name in checked.get("experiments", []):
        if name not in EXPERIMENTS:
            raise ScenarioError(f"{where('profile', 'experiments')}: unknown experiment {name!r} "
                                f"(known: {', '.join(EXPERIMENTS)})")
    profilers = tuple(n for n, prof in REGISTRY.items() if prof.always or n in chosen)
    opts = {n: {f.name: checked.get(f.name, f.default) for f in prof.options} for n, prof in REGISTRY.items()}
    return ProfileSpec(records, ns, profilers, tuple(dict.fromkeys(checked.get("experiments", []))), opts)


def _variants(where: _Where, path: Path, data: Mapping, workload: WorkloadSpec) -> tuple[VariantSpec, ...]:
    raw = data.get("variant")
    if raw is None:
        return (VariantSpec("base", MachineSpec(), workload),)
    if not isinstance(raw, list) or not raw or len(raw) > MAX_VARIANTS:
        raise ScenarioError(f"{where('variant')}: variants are [[variant]] tables (1..{MAX_VARIANTS} of them)")
    out, names = [], set()
    for i, v in enumerate(raw):
        checked = _table(where, data, "variant", VARIANT, i, v)
        name = checked.get("name", f"variant-{i}")
        if name in names or slug(name) in names:
            raise ScenarioError(f"{where('variant', 'name', i)}: two variants are named {name!r}"
                                + ("" if name in names else f" as files ({slug(name)!r})"))
        names |= {name, slug(name)}
        try:
            machine = MachineSpec(**check_table(checked.get("machine", {}), MACHINE, "machine"))
        except TableError as e:
            raise ScenarioError(f"{where('variant', 'machine', i)}: {e.message} in variant {name!r}{e.hint}") from None
        over = checked.get("workload", {})
        w = workload
        if over:
            w = _workload(where, path, {**data["workload"], **over}, "variant", i)
        out.append(VariantSpec(name, machine, w, over))
    return tuple(out)
