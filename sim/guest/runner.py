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

from kernel_model import Topology, TopologyError
from kernel_model.units import parse_size
from sim.guest import leaks, qemu
from sim.guest.differential import compare

VERSION = 1


def parse_distances(text: str) -> list[list[int]]:
    """ "10,21;21,10" -> [[10, 21], [21, 10]]."""
    try:
        return [[int(x) for x in row.split(",")] for row in text.split(";") if row.strip()]
    except ValueError:
        raise ValueError(f"distances {text!r}: expected rows of integers like \"10,21;21,10\"") from None


def guest_topology(guest: dict, nodes: int | None = None, mem: str | None = None,
                   dist: str | None = None) -> Topology:
    """The topology to boot: the [guest] section with the command line's overrides."""
    nodes = nodes or int(guest.get("nodes", 2))
    distances = guest.get("distances")
    if dist is not None:
        distances = parse_distances(dist)
    elif isinstance(distances, str):
        distances = parse_distances(distances)
    if distances is None:
        distances = [[10 if i == j else 20 for j in range(nodes)] for i in range(nodes)]
    if len(distances) != nodes:
        raise ValueError(f"{len(distances)} distance rows for {nodes} nodes")
    size = mem or guest.get("mem", "64M")
    sizes = [size] * nodes if isinstance(size, (int, str)) else list(size)
    if any(parse_size(s) % (1 << 20) for s in sizes):
        raise ValueError("guest node memory must be whole MiB")
    try:
        return Topology.from_slit(distances, sizes)
    except TopologyError as e:
        raise ValueError(str(e)) from None


def run_guest(sc, out_dir: str | os.PathLike | None = None, seed: int | None = None, nodes: int | None = None,
              mem: str | None = None, dist: str | None = None, timeout: float | None = None,
              on_running=None) -> dict:
    """Run scenario sc's workload in the guest and on the host twin; the report (also written
    to <out>/guest.json)."""
    from sim import scenario

    guest = sc.data.get("guest", {})
    topology = guest_topology(guest, nodes, mem, dist)
    seed = seed if seed is not None else int(sc.data.get("scenario", {}).get("seed", 0))
    workload = scenario._workload(sc, seed)
    machine = sc.data.get("machine", {})
    pcp, grouping = bool(machine.get("pcp", True)), bool(machine.get("mobility_grouping", True))
    run = qemu.run(topology, workload, cmdline=f"pcp={int(pcp)} grouping={int(grouping)}",
                   machine=str(guest.get("machine", "pc")), timeout=float(timeout or guest.get("timeout", 120)),
                   accel=str(guest.get("accel", "tcg")),
                   on_running=on_running, inspect=leaks.report if guest.get("leak_scan") else None)
    diff = compare(workload, run, pcp, grouping)
    seen = run.topology_seen
    report = {
        "version": VERSION, "scenario": sc.name, "seed": seed, "records": len(workload),
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
                  "reserved_end": int(run.results["reserved_end"])},
    }
    if run.inspected is not None:
        scan = run.inspected
        report["leak_scan"] = {"objects": scan["objects"], "pointers": scan["pointers"],
                               "unreferenced": scan["unreferenced"],
                               "by_kind": {k: sorted(i for i, kk in scan["kinds"].items() if kk == k)
                                           for k in ("definitely_lost", "indirectly_lost", "possibly_lost")}}
    out = Path(out_dir or sc.data.get("output", {}).get("dir", f"out/{sc.name}"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "guest.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    report["out_dir"] = str(out)
    return report


def _topology_matches(topology: Topology, seen: dict) -> bool:
    """The guest saw the distances and node sizes asked for (SRAT sizes add up per node)."""
    sizes = [sum(r["size"] for r in n["memory"]) for n in seen["nodes"]]
    want = [topology.node_mem(i) for i in range(topology.nr_nodes)]
    # node 0 loses the legacy hole at 640K-1M to the memory map, not to SRAT: allow that much
    return (seen["distances"] == topology.distances and len(sizes) == len(want) and
            all(w - s in (0, 0x60000) for s, w in zip(sizes, want, strict=True)))


def summary(report: dict) -> str:
    seen = report["topology_seen"]
    lines = [f"{report['scenario']} in a guest: {report['records']:,} records, {len(seen['nodes'])} nodes"]
    for n in seen["nodes"]:
        mem = ", ".join(f"{r['base']:#x}+{r['size'] >> 10}K" for r in n["memory"])
        lines.append(f"  node {n['node']}: memory {mem}; usable pfns "
                     f"{', '.join(f'{a:#x}-{b:#x}' for a, b in n['usable_pfns'])}; cpus {n['cpus']}")
    lines.append("  distances " + "; ".join(",".join(map(str, row)) for row in seen["distances"]))
    c = report["comparison"]
    verdict = "identical to the model" if report["matches_model"] else \
        f"DIFFERS from the model (first record {c['first_difference']}, checks {c['checks']})"
    lines.append(f"  guest vs model: {verdict}")
    if "leak_scan" in report:
        ls = report["leak_scan"]
        lines.append(f"  leak scan of guest memory: {ls['objects']:,} live objects, {ls['pointers']:,} pointers; "
                     + ", ".join(f"{k.replace('_', ' ')} {len(v)}" for k, v in ls["by_kind"].items())
                     + f"; unreferenced (kmemleak) {len(ls['unreferenced'])}")
    t = report["timings"]
    lines.append(f"  timings: QEMU up {t.get('qemu_start_s', 0) * 1000:.0f} ms, first guest output "
                 f"{t.get('first_event_s', 0) * 1000:.0f} ms, whole run {t.get('run_s', 0) * 1000:.0f} ms"
                 + (f", replay {t['replay_ops_per_s']:,.0f} records/s" if "replay_ops_per_s" in t else ""))
    return "\n".join(lines)
