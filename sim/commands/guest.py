"""memsim guest run: a scenario's workload replayed by the firmware in QEMU and by the host twin."""

from __future__ import annotations

import argparse
import json

from sim.commands.common import (
    GuestFailure,
    UserError,
    bounded_float,
    bounded_int,
    scenario_arguments,
    scenario_errors,
)
from sim.guest.results import MAX_NODES as GUEST_MAX_NODES


def add_parser(sub) -> None:
    gu = sub.add_parser("guest", help="run scenarios in a QEMU guest", description="The firmware (the same "
                        "allocator code) in QEMU on a NUMA topology, compared with the host model.")
    gsub = gu.add_subparsers(dest="guest_command", required=True, metavar="COMMAND")
    gr = gsub.add_parser("run", help="replay a scenario's workload in a guest and on the host twin",
                         description="Boot the firmware with the scenario's workload on the topology of its "
                                     "[guest] section (or the options), print the topology the guest saw, the "
                                     "comparison with the host model and timings. Exit 0 when they match, 1 "
                                     "when they differ, records were rejected or the guest fails, 2 for bad "
                                     "input.")
    scenario_arguments(gr)
    gr.add_argument("--nodes", type=bounded_int(1, GUEST_MAX_NODES), help="NUMA nodes (default: [guest] nodes, or 2)")
    gr.add_argument("--mem", help="memory per node, e.g. 64M (default: [guest] mem, or 64M)")
    gr.add_argument("--dist", help='SLIT distances, rows separated by ";", e.g. "10,21;21,10"')
    gr.add_argument("--timeout", type=bounded_float(0.001, 86400),
                    help="seconds before a hung guest is killed (default 120)")
    gr.add_argument("--seed", type=bounded_int(0, (1 << 64) - 1), help="workload seed (default: the scenario's)")
    gr.add_argument("--accel", choices=("tcg", "kvm"), default=None,
                    help="QEMU accelerator (default: [guest] accel, or tcg: on the machines measured, KVM with "
                         "shared file-backed RAM replayed ~300x slower than TCG)")
    gr.add_argument("--json", action="store_true", help="print one JSON object")
    gr.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.scenario import load

    with scenario_errors():
        spec = load(args.scenario, args.set)
        if spec.guest is None:
            spec = spec.with_overrides(["guest.nodes=2"])   # any scenario runs in a default guest
        return guest_result(spec, args, args.nodes, args.mem, args.dist, args.timeout, args.accel, args.json)


def guest_result(spec, args: argparse.Namespace, nodes=None, mem=None, dist=None, timeout=None, accel=None,
                 as_json: bool = False, on_running=None) -> int:
    """Run a guest scenario and print its summary (or JSON); exit 0 when guest and model match on a
    replay that rejected no record."""
    from sim.guest.qemu import GuestError
    from sim.report.text import guest as summary
    from sim.scenario import run_scenario

    options = {"nodes": nodes, "mem": mem, "dist": dist, "timeout": timeout, "accel": accel, "on_running": on_running}
    try:
        result = run_scenario(spec, seed=getattr(args, "seed", None), out=args.out, guest=options)
    except GuestError as e:
        raise GuestFailure(str(e)) from None
    except ValueError as e:
        raise UserError(str(e)) from None
    report = result.report
    if as_json:
        print(json.dumps(report, indent=1, sort_keys=True))
    else:
        print(summary(report))
        print(f"report: {result.out}/report.html (results: guest.json)")
    return 0 if report["matches_model"] and not any(report["comparison"]["errors"].values()) else 1
