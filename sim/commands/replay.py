"""memsim replay: a trace file replayed against a modelled machine."""

from __future__ import annotations

import argparse
import json

from kernel_model import Machine
from kernel_model._core import MAX_CPUS, MAX_NODES
from sim.commands.common import UserError, bounded_int, load_trace


def add_parser(sub) -> None:
    r = sub.add_parser("replay", help="replay a trace file against a machine",
                       description="Replay a trace file against a modelled machine and print what happened. "
                                   "Exit status 1 if any record was rejected.")
    r.add_argument("file", help="a memsim trace file")
    r.add_argument("--nodes", type=bounded_int(1, MAX_NODES), default=2, help="NUMA nodes (default 2)")
    r.add_argument("--node-mem", default="256M", help="memory per node, e.g. 256M (default)")
    r.add_argument("--cpus-per-node", type=bounded_int(1, MAX_CPUS), default=1, help="CPUs per node (default 1)")
    r.add_argument("--no-pcp", action="store_true", help="switch the per-CPU page lists off")
    r.add_argument("--no-mobility-grouping", action="store_true", help="page_group_by_mobility_disabled")
    r.add_argument("--state", metavar="DIR", help="start from a Linux /proc + /sys snapshot (a capture's before/) "
                                                  "instead of an empty machine: --nodes, --node-mem and "
                                                  "--cpus-per-node are then the snapshot's")
    r.add_argument("--json", action="store_true", help="print JSON")
    r.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.driver import cpus_used, too_many_ids
    from sim.report.text import replay
    from sim.scenario.spec import MachineSpec, ScenarioError, check_machine

    t = load_trace(args.file)
    options = {"nodes": "--nodes", "node_mem": "--node-mem", "cpus_per_node": "--cpus-per-node"}
    try:
        if args.state is not None:
            m = Machine.from_procfs(args.state, pcp=not args.no_pcp, mobility_grouping=not args.no_mobility_grouping)
        else:
            check_machine(MachineSpec(nodes=args.nodes, node_mem=args.node_mem, cpus_per_node=args.cpus_per_node),
                          loc=options.get, name=options.get)
            m = Machine(nodes=args.nodes, node_mem=args.node_mem, cpus_per_node=args.cpus_per_node,
                        pcp=not args.no_pcp, mobility_grouping=not args.no_mobility_grouping)
    except (ScenarioError, ValueError) as e:
        raise UserError(str(e)) from None
    if (why := too_many_ids(t)) is not None:
        raise UserError(f"{args.file}: {why}")
    used, have = cpus_used(t), len(m.cpu_to_node)
    if used > have:
        fix = f"give --cpus-per-node {-(-used // args.nodes)}" if used <= MAX_CPUS else \
            f"the model has at most {MAX_CPUS}"
        raise UserError(f"{args.file} runs on {used} CPUs, the machine has {have} ({args.nodes} nodes x "
                        f"{args.cpus_per_node}): {fix}")
    res = m.replay(t)
    summary = {"records": res.records, "ops": res.op_counts, "alloc_failed": res.alloc_failed,
               "free_skipped": res.free_skipped, "pretrace_freed": res.pretrace_freed,
               "pretrace_skipped": res.pretrace_skipped, "errors": res.error_counts,
               "first_errors": [str(e) for e in res.errors[:20]], "nr_free_pages": m.nr_free_pages(),
               "zone_stats": m.zone_stats(), "slab_waste": m.slab_waste()}
    print(json.dumps(summary, indent=2) if args.json else replay(args.file, summary, m.buddyinfo(), m.slabinfo()))
    return 1 if res.nr_errors else 0
