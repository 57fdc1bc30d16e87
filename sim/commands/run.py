"""memsim run: run a scenario, print its summary and write its report directory."""

from __future__ import annotations

import argparse

from sim.commands.common import bounded_int, scenario_arguments, scenario_errors
from sim.commands.guest import guest_result


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run a scenario file and write its report",
                       description="Run a scenario (TOML, see docs/scenarios.md), print a summary table "
                                   "and write the report directory (report.json, /proc-format texts).")
    scenario_arguments(p)
    p.add_argument("--seed", type=bounded_int(0, (1 << 64) - 1), help="override scenario.seed")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.progress import Progress
    from sim.report.text import summary
    from sim.scenario import load, run_scenario

    with scenario_errors():
        spec = load(args.scenario, args.set)
        if spec.guest is not None:   # a guest scenario: the firmware in QEMU, then the host twin
            return guest_result(spec, args)
        result = run_scenario(spec, seed=args.seed, out=args.out,
                              observers=[lambda name, machine, trace: Progress(name, len(trace))])
    print(summary(result.report))
    print(f"report: {result.out}/report.json")
    return 0
