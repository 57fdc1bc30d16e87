"""memsim bench: named benchmarks, each against its baseline measured in the same run."""

from __future__ import annotations

import argparse
import json
import sys

from sim.commands.common import UserError


def add_parser(sub) -> None:
    b = sub.add_parser("bench", help="run benchmarks against their baselines",
                       description="Run benchmarks; each prints ops/s and the ratio to its baseline, "
                                   "measured in the same run.")
    b.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    b.add_argument("--json", action="store_true", help="print one JSON object, an entry per benchmark")
    b.add_argument("--quick", action="store_true", help="smaller inputs, for a fast check")
    b.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.bench import run_benchmarks
    from sim.report.text import bench_table

    def progress(name: str) -> None:
        if not args.json:
            print(f"running {name} ...", file=sys.stderr, flush=True)

    try:
        results = run_benchmarks(args.names, quick=args.quick, progress=progress)
    except ValueError as e:
        raise UserError(str(e)) from None
    print(json.dumps(results, indent=2) if args.json else bench_table(results))
    return 0
