"""memsim fidelity: the model from a capture's before/ state, replaying its trace, scored against after/."""

from __future__ import annotations

import argparse
import json
import sys

from sim.commands.common import UserError


def add_parser(sub) -> None:
    p = sub.add_parser("fidelity", help="score the model against a Linux capture (before/, trace, after/)",
                       description="Build the machine the capture's before/ snapshot describes, replay its trace "
                                   "(trace.txt or trace.txt.xz) and compare the result with after/: numastat "
                                   "deltas, MemFree, free pages per order, slab objects (docs/fidelity.md).")
    p.add_argument("capture", metavar="CAPTURE_DIR", help="e.g. data/linux-6.1-qemu-2node")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.experiments.fidelity import FidelityError, score_capture
    from sim.progress import Progress
    from sim.report.text import fidelity

    bar = Progress("trace", 0, unit="bytes")
    try:
        result = score_capture(args.capture, bar.update)
    except FidelityError as e:
        if bar.drawn:
            print(file=sys.stderr)   # the error on a line of its own, not after the bar
        raise UserError(str(e)) from None
    print(json.dumps(result, indent=2) if args.json else fidelity(result))
    return 0
