"""A scenario in a guest: its workload replayed by the firmware on the scenario's NUMA
topology in QEMU, then by the host model laid out as the guest found its machine.

A scenario's [guest] section: nodes, mem (per node), distances (a matrix, or rows separated by
";"), machine ("pc" or "q35"), accel ("tcg" or "kvm"), timeout (seconds), leak_scan (scan guest
memory for leaks after the replay). memsim guest run overrides nodes, mem, distances and accel.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kernel_model import Topology
from sim.driver import cpus_used
from sim.guest import leaks, qemu
from sim.guest.differential import compare
from sim.guest.results import MAX_CPUS as GUEST_MAX_CPUS
from sim.report import guest as guest_page
from sim.report.directory import ReportDirectory
from sim.scenario.build import build_workload, firmware_cmdline, guest_topology, machine_kwargs
from sim.scenario.spec import ScenarioError, ScenarioSpec
from sim.workloads import GENERATORS

VERSION = 1


def run_guest(spec: ScenarioSpec, out_dir: str | os.PathLike | None = None, seed: int | None = None,
              nodes: int | None = None, mem: str | None = None, dist: str | None = None,
              timeout: float | None = None, accel: str | None = None, on_running=None) -> dict:
    """Run the scenario's workload in the guest and on the host twin; the report (also written
    to <out>/guest.json). The firmware's command line and the twin's machine come from the same
    [machine] keys (sim.scenario.build)."""
    if spec.guest is None:
        raise ScenarioError(f"{spec.path}: not a guest scenario (no [guest] section)")
    guest = spec.guest
    topology = guest_topology(guest, nodes, mem, dist)
    seed = spec.seed if seed is None else seed
    workload = build_workload(spec, spec.workload, seed)
    used, have = cpus_used(workload), len(topology.cpu_to_node)
    if used > have:   # the guest would reject those records: refuse before booting it
        fixes = [f"boot {used} nodes (--nodes {used}, or [guest] nodes = {used})"] if used <= GUEST_MAX_CPUS else []
        if any(p.name == "cpus" for p in getattr(GENERATORS.get(spec.workload.generator), "params", ())):
            fixes.append(f"run the workload on {have} (--set workload.cpus={have})")
        raise ScenarioError(f"{spec.where('workload')}: the workload runs on {used} CPUs, the guest has {have} "
                            f"(one per node)" + (f": {' or '.join(fixes)}" if fixes else ""))
    cmdline = firmware_cmdline(spec)
    out = Path(out_dir if out_dir is not None else spec.output_dir or Path("out") / spec.name)
    directory = ReportDirectory(out)   # before the guest runs: an unwritable --out fails at once
    directory.discard("guest.json")    # an interrupted run leaves no earlier run's result behind
    run = qemu.run(topology, workload, cmdline=cmdline, machine=guest.machine,
                   timeout=guest.timeout if timeout is None else timeout, accel=accel or guest.accel,
                   on_running=on_running, inspect=leaks.report if guest.leak_scan else None)
    twin = {k: v for k, v in machine_kwargs(spec).items()
            if k in ("pcp", "mobility_grouping", "min_free_kbytes", "kmalloc_classes", "thermal")}
    diff = compare(workload, run, **twin)
    seen = run.topology_seen
    report = {
        "version": VERSION, "scenario": spec.name, "seed": seed, "records": len(workload),
        "topology_requested": {"distances": topology.distances,
                               "node_mem": [topology.node_mem(i) for i in range(topology.nr_nodes)]},
        "topology_seen": {"distances": seen["distances"], "nodes": seen["nodes"], "cpus": seen["cpus"],
                          "hmat_latency": seen["hmat_latency"]},
        "topology_matches": _topology_matches(topology, seen),
        "matches_model": diff["matches_model"], "comparison": diff,
        "timings": {k: round(v, 4) for k, v in run.timings.items()},
        "guest": {"stack_size": int(run.results["stack_size"]),
                  "stack_high_water": int(run.results["stack_high_water"]),
                  "min_free_kbytes": int(run.results["min_free_kbytes"]),
                  "reserved_end": int(run.results["reserved_end"]),
                  "cmdline": cmdline},
    }
    if run.inspected is not None:
        scan = run.inspected
        report["leak_scan"] = {"objects": scan["objects"], "pointers": scan["pointers"],
                               "unreferenced": scan["unreferenced"],
                               "by_kind": {k: sorted(i for i, kk in scan["kinds"].items() if kk == k)
                                           for k in ("definitely_lost", "indirectly_lost", "possibly_lost")}}
    text = json.dumps(report, indent=1, sort_keys=True) + "\n"
    directory.write("report.html", guest_page.render(json.loads(text)))   # as `memsim report` renders guest.json
    directory.write("guest.json", text)   # last: the run's completion mark
    report["out_dir"] = str(out)
    return report


def _topology_matches(topology: Topology, seen: dict) -> bool:
    """The guest saw the distances and node sizes asked for (SRAT sizes add up per node)."""
    sizes = [sum(r["size"] for r in n["memory"]) for n in seen["nodes"]]
    want = [topology.node_mem(i) for i in range(topology.nr_nodes)]
    # node 0 loses the legacy hole at 640K-1M to the memory map, not to SRAT: allow that much
    return (seen["distances"] == topology.distances and len(sizes) == len(want) and
            all(w - s in (0, 0x60000) for s, w in zip(sizes, want, strict=True)))
