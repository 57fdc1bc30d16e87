"""memsim sweep: a scenario over a grid of settings times seeds, on Dask, into the run history."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sim.commands.common import UserError


def _seed_list(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected seeds like 1,5,9") from None


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="run a scenario over a grid of settings and seeds",
                       description="Run the cartesian product of --grid values times the seeds, each point a run "
                                   "of the scenario with those --set overrides, on a Dask cluster; record every run "
                                   "in the history and write out/<sweep>/sweep.html. Points that already succeeded "
                                   "are skipped. docs/sweeps.md describes it.")
    p.add_argument("scenario", help="a scenario file, or a shipped sweep or scenario by name")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a setting and its values (TOML), e.g. machine.mobility_grouping=true,false (repeatable; "
                        "adds to or replaces the scenario's [sweep] grid)")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, metavar="N", help="N seeds: scenario.seed, +1, ...")
    seeds.add_argument("--seed-list", type=_seed_list, metavar="S1,S2,...", help="these seeds")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="a setting every point gets (repeatable)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="local worker processes (default: the number of cores; 1 runs in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing Dask cluster, e.g. tcp://host:8786")
    p.add_argument("--out", default="out", help="output tree: <out>/<sweep>/<run>/ (default: out)")
    p.add_argument("--db", help="run history (default: <out>/memsim.db)")
    p.add_argument("--metric", action="append", default=[], metavar="NAME",
                   help="a metric the report charts, e.g. fragmentation.free_blocks_order_ge_9 (repeatable)")
    p.add_argument("--name", help="the sweep's name (default: <scenario>-<hash of the grid and seeds>)")
    p.add_argument("--force", action="store_true", help="run points again even if they already succeeded")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.history import HistoryError
    from sim.report.directory import ReportError
    from sim.report.runs import sweep_outcome
    from sim.sweep import EngineError, SweepError, plan, run_sweep

    if args.jobs is not None and args.scheduler is not None:
        raise UserError("--jobs sizes the local cluster; with --scheduler the cluster's own workers run the points")
    jobs = args.jobs if args.jobs is not None else len(os.sched_getaffinity(0))
    if jobs < 1:
        raise UserError(f"--jobs {jobs}: expected at least 1")
    out = Path(args.out)
    db = Path(args.db) if args.db else out / "memsim.db"
    try:
        p = plan(args.scenario, args.grid, args.seeds, args.seed_list, args.set, args.metric, args.name)
        for w in p.warnings:
            print(f"memsim: warning: {w}", file=sys.stderr)
        outcome = run_sweep(p, out, db, jobs, args.scheduler, args.force)
    except (SweepError, EngineError, HistoryError, ReportError) as e:
        raise UserError(str(e)) from None
    print(sweep_outcome(outcome, str(db)))
    if outcome.interrupted:
        print("memsim: interrupted (finished points are kept; run the sweep again to resume)", file=sys.stderr)
        return 130
    return 1 if outcome.failed else 0
