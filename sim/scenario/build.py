"""From a checked spec to the things that run: the Machine (and the guest firmware's command line,
from the same [machine] keys, so every key reaches both), the workload's trace, the guest's topology.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel_model import Machine, Topology, TopologyError, Trace, trace
from kernel_model.caches import CacheConfigError
from kernel_model.machine import THERMAL_DEFAULTS
from kernel_model.trace import TraceFormatError
from kernel_model.units import parse_duration, parse_size
from sim.driver import too_many_ids
from sim.guest.results import MAX_NODES as GUEST_MAX_NODES
from sim.scenario.spec import GuestSpec, MachineSpec, ScenarioError, ScenarioSpec, VariantSpec, WorkloadSpec
from sim.workloads import GENERATORS
from sim.workloads.ftrace import FtraceFormatError, import_ftrace


def machine_spec(spec: ScenarioSpec, variant: VariantSpec | None = None) -> MachineSpec:
    """[machine] with the variant's overrides."""
    return spec.machine.merged(variant.machine) if variant is not None else spec.machine


def machine_kwargs(spec: ScenarioSpec, variant: VariantSpec | None = None) -> dict[str, Any]:
    """The Machine arguments of a variant (or of the scenario's [machine] alone); "state" is the
    snapshot directory, resolved against the scenario file."""
    kwargs = machine_spec(spec, variant).given()
    if "state" in kwargs:
        state = Path(kwargs["state"])
        kwargs["state"] = state if state.is_absolute() else spec.path.parent / state
    if spec.topology is not None:
        kwargs["topology"] = spec.topology
    if spec.caches is not None:
        kwargs["caches"] = spec.caches
    return kwargs


def build_machine(spec: ScenarioSpec, variant: VariantSpec | None = None) -> Machine:
    kwargs = machine_kwargs(spec, variant)
    state = kwargs.pop("state", None)
    try:
        return Machine.from_procfs(state, **kwargs) if state is not None else Machine(**kwargs)
    except (ValueError, TopologyError, CacheConfigError) as e:
        where = spec.where("variant", "machine", spec.variants.index(variant)) \
            if variant is not None and variant.machine.given() else \
            spec.where("machine", "state" if state is not None else None)
        raise ScenarioError(f"{where}: {e}") from None


def firmware_cmdline(spec: ScenarioSpec, variant: VariantSpec | None = None) -> str:
    """The guest firmware's command line for the same [machine] keys (firmware/main.c reads it).
    Keys that shape the host's machine (nodes, node_mem, cpus_per_node) are the guest's [guest]
    topology instead; a key the firmware cannot take is an error, not dropped."""
    m = machine_spec(spec, variant)
    if spec.caches is not None:
        raise ScenarioError(f"{spec.where('caches')}: guests do not model caches; remove [caches] to run in a guest")
    line = (f"pcp={int(m.pcp if m.pcp is not None else True)} "
            f"grouping={int(m.mobility_grouping if m.mobility_grouping is not None else True)} "
            f"min_free_kbytes={m.min_free_kbytes or 0}"
            + (f" kmalloc_classes={','.join(map(str, m.kmalloc_classes))}" if m.kmalloc_classes else ""))
    if m.thermal is not None:
        t = {**THERMAL_DEFAULTS, **m.thermal}
        half, where = parse_duration(t["half_life"]), spec.where("machine", "thermal")
        if half >= 1 << 32 or t["throttle"] >= 1 << 32:
            raise ScenarioError(f"{where}: the guest takes a thermal half_life under 4.29 s and a throttle under "
                                f"{1 << 32} millidegrees (32-bit command-line numbers)")
        line += (f" thermal_access={t['heat_per_access']} thermal_page={t['heat_per_page']} "
                 f"thermal_half_life={half} thermal_throttle={t['throttle']}")
    return line


def build_workload(spec: ScenarioSpec, workload: WorkloadSpec, seed: int) -> Trace:
    """The trace a workload spec describes (a generator run with the seed, or a file read)."""
    where = spec.where("workload", "file" if workload.file else None)
    if workload.file is not None:
        try:
            t = trace.load(workload.file) if workload.generator == "trace" else import_ftrace(workload.file)[0]
        except (TraceFormatError, FtraceFormatError) as e:
            raise ScenarioError(f"{where}: {e}") from None
    else:
        try:
            t = GENERATORS[workload.generator](workload.settings, seed)
        except (TypeError, ValueError) as e:   # a combination of settings the generator refuses
            raise ScenarioError(f"{where}: {e}") from None
    if (why := too_many_ids(t)) is not None:
        raise ScenarioError(f"{where}: {workload.file or workload.generator}: {why}")
    return t


def parse_distances(text: str) -> list[list[int]]:
    """ "10,21;21,10" -> [[10, 21], [21, 10]]."""
    try:
        return [[int(x) for x in row.split(",")] for row in text.split(";") if row.strip()]
    except ValueError:
        raise ValueError(f"distances {text!r}: expected rows of integers like \"10,21;21,10\"") from None


GUEST_MIN_MEM = 2 << 20      # the firmware loads at 1 MiB: a 1 MiB guest never boots
GUEST_MAX_MEM = 4 << 30      # a 32-bit guest: the firmware ignores memory above 4 GiB


def guest_topology(guest: GuestSpec, nodes: int | None = None, mem: str | None = None,
                   dist: str | None = None) -> Topology:
    """The topology to boot: the [guest] section with the command line's overrides."""
    nodes = guest.nodes if nodes is None else nodes
    if not 1 <= nodes <= GUEST_MAX_NODES:
        raise ValueError(f"guest nodes: {nodes}, the firmware handles 1..{GUEST_MAX_NODES}")
    distances = guest.distances
    if dist is not None:
        distances = parse_distances(dist)
    elif isinstance(distances, str):
        distances = parse_distances(distances)
    if distances is None:
        distances = [[10 if i == j else 20 for j in range(nodes)] for i in range(nodes)]
    if len(distances) != nodes:
        raise ValueError(f"{len(distances)} distance rows for {nodes} nodes")
    size = guest.mem if mem is None else mem
    try:
        sizes = [parse_size(s) for s in ([size] * nodes if isinstance(size, (int, str)) else list(size))]
    except ValueError as e:
        raise ValueError(f"guest memory: {e}") from None
    if any(s % (1 << 20) or not s for s in sizes):
        raise ValueError(f"guest memory {size!r}: every node needs whole MiB (at least 1M)")
    if not GUEST_MIN_MEM <= sum(sizes) <= GUEST_MAX_MEM:
        raise ValueError(f"guest memory {size!r} on {nodes} nodes: {sum(sizes) >> 20}M in all, the guest takes "
                         f"{GUEST_MIN_MEM >> 20}M..{GUEST_MAX_MEM >> 30}G")
    try:
        return Topology.from_slit(distances, sizes)
    except TopologyError as e:
        raise ValueError(str(e)) from None
