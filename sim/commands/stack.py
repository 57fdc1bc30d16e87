"""memsim stack --static: the guest firmware's worst-case stack from .su frames and the call graph."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim.commands.common import UserError, bounded_int


def add_parser(sub) -> None:
    st = sub.add_parser("stack", help="worst-case stack depth of the guest firmware",
                        description="Static worst case from gcc -fstack-usage frames and the call graph of the "
                                    "firmware's disassembly (make firmware builds both): per entry point the "
                                    "bytes and the deepest path.")
    st.add_argument("--static", action="store_true", required=True, help="the static analysis (the only one)")
    st.add_argument("--build", default=None, help="firmware build directory (default firmware/build)")
    st.add_argument("--recursion-depth", type=bounded_int(1, 1000), default=8,
                    help="times a recursive cycle is charged (the cache hierarchy: its levels; default 8)")
    st.add_argument("--json", action="store_true", help="print one JSON object")
    st.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.guest.qemu import REPO
    from sim.guest.stack import worst_case
    from sim.report.text import stack

    build = Path(args.build) if args.build else REPO / "firmware" / "build"
    if not (build / "memsim-fw.dis").exists():
        raise UserError(f"{build}: no firmware build (run `make firmware`)")
    r = worst_case(build, recursion_depth=args.recursion_depth)
    print(json.dumps({k: v for k, v in r.items() if k != "frames"}, indent=1) if args.json else stack(r))
    return 0
