"""memsim history: the runs in the run history."""

from __future__ import annotations

import argparse
import json

from sim.commands.common import UserError


def add_parser(sub) -> None:
    p = sub.add_parser("history", help="list the runs in the run history",
                       description="List the runs recorded by memsim sweep (oldest first): key, scenario, seed, "
                                   "status, seconds, parameters, and the error of failed runs.")
    p.add_argument("--db", default="out/memsim.db", help="run history (default: out/memsim.db)")
    p.add_argument("--scenario", help="only runs of this scenario (its scenario.name)")
    p.add_argument("--sweep", help="only the points of this sweep, in order")
    p.add_argument("--status", choices=("running", "success", "failed", "cancelled"), help="only runs in this state")
    p.add_argument("--json", action="store_true", help="the runs as JSON, metrics and timings included")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.history import HistoryError, load
    from sim.report.runs import history

    try:
        runs = load(args.db, scenario=args.scenario, sweep=args.sweep)
    except HistoryError as e:
        raise UserError(str(e)) from None
    if args.status:
        runs = [r for r in runs if r["status"] == args.status]
    print(json.dumps(runs, indent=1, default=str) if args.json else history(runs))
    return 0
