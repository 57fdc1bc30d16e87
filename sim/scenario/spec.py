"""Loading a scenario file into a checked, typed spec (docs/scenarios.md describes the format).

Every key of every section is checked here, once, with its type and range, before anything
runs: a bad value is one ScenarioError naming the file, line and key (`--set KEY` when the value
came from the command line). Variants are checked as completely as the base scenario, so a run
never fails on its second variant for a reason the first could have shown.
"""

from __future__ import annotations

import difflib
import inspect
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kernel_model import Machine, Topology, TopologyError
from kernel_model._core import MAX_CACHES as MAX_CACHE_INSTANCES
from kernel_model._core import MAX_CPUS, MAX_NODES, MM_THERMAL_STEPS, PAGE_DESCRIPTOR_BYTES, THERMAL_MAX
from kernel_model.caches import CacheConfigError, footprint, parse_config
from kernel_model.machine import BASE_PFN, THERMAL_DEFAULTS, check_kmalloc_classes
from kernel_model.mm import PAGE_SHIFT, PAGE_SIZE
from kernel_model.units import parse_duration, parse_size
from sim.experiments import EXPERIMENTS
from sim.fields import (
    Bool,
    Duration,
    Field,
    FieldError,
    Float,
    Int,
    Kind,
    ListOf,
    OneOf,
    Size,
    Str,
    Table,
    TableError,
    check_table,
    human_bytes,
    memory_budget,
)
from sim.guest.results import MAX_NODES as GUEST_MAX_NODES
from sim.profilers import REGISTRY
from sim.report import answer
from sim.report.directory import slug
from sim.workloads import GENERATORS

SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"
FILE_GENERATORS = ("trace", "ftrace")   # workload.file: a memsim trace, or Linux ftrace text (.txt/.txt.xz)
MIN_INTERVAL_NS, MAX_INTERVAL_NS = 1_000_000, 60_000_000_000   # time-based snapshot intervals: 1 ms..60 s
MAX_NODE_MEM = 1 << 40
MAX_VARIANTS = 256

SIZE = Size(PAGE_SIZE, MAX_NODE_MEM)
GUEST_SIZE = Size(1 << 20, 4 << 30)     # per node; sim.scenario.build checks whole MiB and the total
NODE_MEM = OneOf((SIZE, ListOf(Size(0, MAX_NODE_MEM), 1, MAX_NODES)))
DISTANCES = ListOf(ListOf(Int(0, 255), 1, MAX_NODES), 1, MAX_NODES)
HMAT = ListOf(ListOf(Int(1, (1 << 32) - 1), 1, MAX_NODES), 1, MAX_NODES)   # latency (ns), bandwidth (MB/s)

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


THERMAL = (Field("heat_per_access", Int(0, (1 << 32) - 1), THERMAL_DEFAULTS["heat_per_access"],
                 "millidegrees an access adds to the node it lands on"),
           Field("heat_per_page", Int(0, (1 << 32) - 1), THERMAL_DEFAULTS["heat_per_page"],
                 "millidegrees a page the node's allocator hands out adds"),
           Field("half_life", Duration(MM_THERMAL_STEPS, 1 << 62), THERMAL_DEFAULTS["half_life"],
                 f"simulated time in which a node's heat halves (a multiple of {MM_THERMAL_STEPS} ns)"),
           Field("throttle", Int(0, THERMAL_MAX - 1), THERMAL_DEFAULTS["throttle"],
                 "millidegrees above ambient beyond which a node is throttled"))


@dataclass(frozen=True)
class ThermalTable(Kind):
    """[machine] thermal: the thermal model's keys (kernel_model/core/thermal.h), checked here."""
    types = (dict,)
    expected = "a table of " + ", ".join(f.name for f in THERMAL)

    def check(self, value: Any) -> dict:
        try:
            out = check_table(value, THERMAL, "thermal")
        except TableError as e:
            raise FieldError(e.message.removeprefix("thermal.") + e.hint) from None
        if "half_life" in out and parse_duration(out["half_life"]) % MM_THERMAL_STEPS:
            raise FieldError(f"half_life {out['half_life']!r} is not a multiple of {MM_THERMAL_STEPS} ns "
                             f"(the model cools in {MM_THERMAL_STEPS} steps per half-life)")
        return out


MACHINE = (Field("nodes", Int(1, MAX_NODES)), Field("node_mem", NODE_MEM),
           Field("cpus_per_node", Int(1, MAX_CPUS)), Field("pcp", Bool()), Field("mobility_grouping", Bool()),
           Field("min_free_kbytes", Int(0, (1 << 32) - 1), doc="0 or absent: derived as Linux does"),
           Field("kmalloc_classes", KmallocClasses(Int()), doc="kmalloc cache sizes (absent: Linux's)"),
           Field("thermal", ThermalTable(), doc="the per-node thermal model (absent: off)"),
           Field("state", Str(), doc="a Linux /proc + /sys snapshot directory (a capture's before/, relative to "
                                     "the scenario file) the machine starts from: it gives the layout"))
STATE_GIVES = ("nodes", "node_mem", "cpus_per_node", "min_free_kbytes")   # what machine.state decides
TOPOLOGY = (Field("distances", DISTANCES), Field("node_mem", NODE_MEM),
            Field("cpus", ListOf(ListOf(Int(0, MAX_CPUS - 1), 0, MAX_CPUS), 1, MAX_NODES)),
            Field("latency", HMAT), Field("bandwidth", HMAT))
PROFILE = (Field("interval", OneOf((Int(1, 1 << 62), Duration(MIN_INTERVAL_NS, MAX_INTERVAL_NS))), 10000),
           Field("profilers", ListOf(Str(), 0, 64), ["fragmentation"]),
           Field("experiments", ListOf(Str(), 0, 64), []))
VARIANT = (Field("name", Str(max_len=100)), Field("machine", Table()), Field("workload", Table()))
GUEST = (Field("nodes", Int(1, GUEST_MAX_NODES), 2),
         Field("mem", OneOf((GUEST_SIZE, ListOf(GUEST_SIZE, 1, GUEST_MAX_NODES))), "64M"),
         Field("distances", OneOf((Str(), DISTANCES))), Field("machine", Str(("pc", "q35")), "pc"),
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
    thermal: dict | None = None
    state: str | None = None            # as written: build resolves it against the scenario file

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
        message = str(e)       # tomllib says where only in its message
        if at := re.search(r" \(at line (\d+), column (\d+)\)$", message):
            raise ScenarioError(f"{path}:{at[1]}:{at[2]}: {message[:at.start()]}") from None
        if message.endswith(" (at end of document)"):
            raise ScenarioError(f"{path}:{text.count(chr(10)) + 1}: {message.removesuffix(' (at end of document)')} "
                                "at the end of the file") from None
        raise ScenarioError(f"{path}: {message}") from None
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
    name = f"{section}.{key}"
    if loc.startswith("--set ") and message.startswith(name) and message[len(name):len(name) + 1] in (":", "[", "."):
        return ScenarioError(f"{loc}{message[len(name):]}")   # "--set topology.latency[0]: ..."
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
        raise _key_error(where, "scenario", "name", f"scenario.name: {name!r} must be a plain file name (letters, "
                         "digits, '_', '-', '.'): it names the output directory")
    machine = MachineSpec(**_table(where, data, "machine", MACHINE))
    topology = _topology(where, data) if "topology" in data else None
    _check_state(where, machine, "topology" in data, "guest" in data)
    caches = _caches(where, data) if "caches" in data else None
    workload = _workload(where, path, data.get("workload"), "workload")
    profile = _profile(where, data.get("profile", {}), caches is not None)
    variants = _variants(where, path, data, workload)
    for i, v in enumerate((None, *variants)):
        if v is None and not profile.experiments:
            continue          # [machine] alone is built only for experiments; variants merge it
        def loc(key: str | None, i=i, v=v) -> str:
            if key is None:
                return where("topology") if topology is not None else where("caches")
            if v is not None and key in v.machine.given():
                return where("variant", "machine", i - 1)
            return where("machine", key)
        check_machine(machine if v is None else machine.merged(v.machine), topology, caches, loc,
                      label=f" in variant {v.name!r}" if v is not None and "variant" in data else "")
    guest = None
    if "guest" in data:
        given = _table(where, data, "guest", GUEST)
        guest = GuestSpec(**{f.name: given.get(f.name, f.default) for f in GUEST})
    out = _table(where, data, "output", OUTPUT)
    if "dir" in out and (not out["dir"] or Path(out["dir"]).is_absolute() or ".." in Path(out["dir"]).parts):
        raise _key_error(where, "output", "dir", f"output.dir: {out['dir']!r} must be a relative path below the "
                         "working directory (give --out for any other place)")
    report = _report(where, data, variants, profile, overridden) if "report" in data else None
    sweep = _sweep(where, data, head.get("seed", 0)) if "sweep" in data else None
    return ScenarioSpec(path=path, text=text, data=data, name=name, description=head.get("description", ""),
                        seed=head.get("seed", 0), machine=machine, topology=topology, caches=caches,
                        workload=workload, profile=profile, variants=variants, guest=guest,
                        output_dir=out.get("dir"), overridden=overridden, report=report, sweep=sweep)


def _check_state(where: _Where, machine: MachineSpec, topology: bool, guest: bool, index: int | None = None) -> None:
    """machine.state lays the machine out: nothing else may (a variant's keys merged in)."""
    if machine.state is None:
        return
    clash = [k for k in STATE_GIVES if getattr(machine, k) is not None]
    if clash or topology or guest:
        what = f"machine.{clash[0]}" if clash else "[topology]" if topology else "[guest]"
        at = where("variant", "machine", index) if index is not None else \
            where("machine", clash[0]) if clash else where("topology" if topology else "guest")
        raise ScenarioError(f"{at}: machine.state describes the machine from a snapshot; {what} cannot be given "
                            "with it")


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
        topology = Topology.from_dict(t, "[topology]")
    except TopologyError as e:
        raise ScenarioError(f"{where('topology', e.key)}: {e}") from None
    if topology.nr_nodes > MAX_NODES or len(topology.cpu_to_node) > MAX_CPUS:
        raise ScenarioError(f"{where('topology')}: {topology.nr_nodes} nodes and {len(topology.cpu_to_node)} CPUs; "
                            f"the model handles at most {MAX_NODES} nodes and {MAX_CPUS} CPUs")
    return topology


_DEFAULTS = {k: p.default for k, p in inspect.signature(Machine).parameters.items()}


def _blame(where: str, name: str, message: str) -> ScenarioError:
    """where: name: message, without naming a key twice ("--set machine.node_mem: machine.node_mem: ...")."""
    return ScenarioError(f"{where}: {message}" if where in (name, f"--set {name}") else f"{where}: {name}: {message}")


def check_machine(m: MachineSpec, topology: Topology | None = None, caches: Mapping | None = None,
                  loc: Callable[[str | None], str] = lambda key: "machine",
                  name: Callable[[str], str] = lambda key: f"machine.{key}", label: str = "") -> None:
    """The machine is one the core can lay out and this host can hold: its CPUs, its nodes'
    sizes, its page descriptors and cache arrays within the memory budget. loc(key) says where
    a [machine] key was given (None: the [topology] or [caches] section), name(key) how to call it."""
    if topology is not None:     # the topology decides nodes, sizes and CPUs
        sizes = [topology.node_mem(i) for i in range(topology.nr_nodes)]
        cpu_to_node = topology.cpu_to_node
        where, what = loc(None), "[topology] node_mem"
    else:
        nodes = m.nodes if m.nodes is not None else _DEFAULTS["nodes"]
        per_node = m.cpus_per_node if m.cpus_per_node is not None else _DEFAULTS["cpus_per_node"]
        if nodes * per_node > MAX_CPUS:
            key = "cpus_per_node" if m.cpus_per_node is not None else "nodes"
            raise _blame(loc(key), name(key), f"{nodes} nodes x {per_node} cpus_per_node = "
                         f"{nodes * per_node} CPUs{label}; the model has at most {MAX_CPUS}")
        mem = m.node_mem if m.node_mem is not None else _DEFAULTS["node_mem"]
        key = "node_mem" if m.node_mem is not None else "nodes"
        where, what = loc(key), name(key)
        try:
            sizes = [parse_size(x) for x in ([mem] * nodes if isinstance(mem, (int, str)) else mem)]
        except ValueError as e:
            raise _blame(where, what, str(e)) from None
        if len(sizes) != nodes:
            raise _blame(where, what, f"{len(sizes)} sizes for {nodes} nodes{label}")
        cpu_to_node = [cpu // per_node for cpu in range(nodes * per_node)]
    for nid, size in enumerate(sizes):
        if size % PAGE_SIZE:
            raise _blame(where, what, f"node {nid}'s {size:,} bytes are not a multiple of the {PAGE_SIZE}-byte "
                         f"page{label}")
    total = sum(sizes)
    if BASE_PFN + (total >> PAGE_SHIFT) >= 1 << 32:
        raise _blame(where, what, f"{human_bytes(total)} in all{label}; the model's 32-bit pfns (from "
                     f"{human_bytes(BASE_PFN << PAGE_SHIFT)}) address less than "
                     f"{human_bytes(1 << (32 + PAGE_SHIFT))} - {human_bytes(BASE_PFN << PAGE_SHIFT)}")
    need = (total >> PAGE_SHIFT) * PAGE_DESCRIPTOR_BYTES
    parts = f"{human_bytes(need)} of page descriptors for {human_bytes(total)} of memory"
    if caches is not None:
        instances, cache_bytes = footprint(caches, cpu_to_node)
        if instances > MAX_CACHE_INSTANCES:
            raise ScenarioError(f"{loc(None)}: [caches] on {len(cpu_to_node)} CPUs makes {instances} cache and TLB "
                                f"instances{label}; the model has at most {MAX_CACHE_INSTANCES}")
        need += cache_bytes
        parts += f" and {human_bytes(cache_bytes)} of cache arrays for {len(cpu_to_node)} CPUs"
        where = loc(None) if cache_bytes > need - cache_bytes else where
    budget = memory_budget()
    if need > budget:
        raise ScenarioError(f"{where}: the machine needs {parts}{label}; this host allows a model "
                            f"{human_bytes(budget)} (half its memory)")


def _caches(where: _Where, data: Mapping) -> Mapping:
    try:
        parse_config(data["caches"])
    except CacheConfigError as e:
        message = str(e).replace("cache config.", "caches.", 1).replace("cache config: ", "[caches]: ", 1)
        key = re.match(r"(?:caches\.)?(levels|tlb|llc)\b", message)
        if key and not message.startswith("caches."):
            message = f"caches.{message}"
        raise _key_error(where, "caches", key and key[1], message) from None
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
            raise _key_error(where, section, key, e.named(f"workload.{key}"), index) from None
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
            raise _key_error(where, "profile", key, e.named(f"profile.{key}")) from None
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
    out, files = [], {}    # file-name prefix -> the variant that writes it
    for i, v in enumerate(raw):
        checked = _table(where, data, "variant", VARIANT, i, v)
        name = checked.get("name", f"variant-{i}")
        if slug(name) in files:
            other = files[slug(name)]
            raise ScenarioError(f"{where('variant', 'name', i)}: two variants are named {name!r}" if other == name else
                                f"{where('variant', 'name', i)}: variants {other!r} and {name!r} would write the "
                                f"same files ({slug(name)}.*): rename one")
        files[slug(name)] = name
        try:
            machine = MachineSpec(**check_table(checked.get("machine", {}), MACHINE, "machine"))
        except TableError as e:
            raise ScenarioError(f"{where('variant', 'machine', i)}: {e.message} in variant {name!r}{e.hint}") from None
        base = MachineSpec(**_table(where, data, "machine", MACHINE))
        _check_state(where, base.merged(machine), "topology" in data, "guest" in data, i)
        over = checked.get("workload", {})
        w = workload
        if over:
            w = _workload(where, path, {**data["workload"], **over}, "variant", i)
        out.append(VariantSpec(name, machine, w, over))
    return tuple(out)
