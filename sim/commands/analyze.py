"""memsim analyze: a trace's allocation patterns, or a saved result's summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim.commands.common import bounded_int, load_report, load_trace, rendering


def add_parser(sub) -> None:
    an = sub.add_parser("analyze", help="allocation patterns of a trace, or a saved result's summary",
                        description="Analyse a trace (.mtr): size histogram, call sites, lifetimes, "
                                    "temporaries, bursts, phases, rounding waste, recommendations. "
                                    "Given a report.json, print its summary.")
    an.add_argument("input", help="a trace file, a report.json or a result directory")
    an.add_argument("--temporary-within", type=bounded_int(0), default=16, metavar="N",
                    help="a temporary is freed before N other allocations (default 16)")
    an.add_argument("--window", type=bounded_int(1), default=1000, help="records per burst window (default 1000)")
    an.add_argument("--json", action="store_true", help="print JSON")
    an.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.profilers.patterns import analyze
    from sim.report.text import patterns, summary

    path = Path(args.input)
    if path.is_dir() or path.suffix == ".json":
        path = path / "report.json" if path.is_dir() else path
        report = load_report(str(path))
        with rendering(str(path)):
            text = json.dumps(report, indent=1) if args.json else summary(report)
        print(text)
        return 0
    a = analyze(load_trace(args.input), temporary_within=args.temporary_within, window=args.window)
    print(json.dumps(a, indent=1) if args.json else patterns(a))
    return 0
