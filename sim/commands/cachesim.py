"""memsim cachesim: cachegrind's cache counts from a valgrind lackey memory trace."""

from __future__ import annotations

import argparse
import json

from sim.commands.common import UserError


def add_parser(sub) -> None:
    c = sub.add_parser("cachesim", help="cachegrind's cache counts from a lackey memory trace",
                       description="Replay a `valgrind --tool=lackey --trace-mem=yes` log through cachegrind's "
                                   "cache simulation and print its events (Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw). "
                                   "The counts equal cachegrind's for the same run and configuration.")
    c.add_argument("--lackey", required=True, metavar="FILE", help="the lackey log")
    c.add_argument("--I1", default="32768,8,64", metavar="S,A,L", help="I1 size,assoc,line (default 32768,8,64)")
    c.add_argument("--D1", default="32768,8,64", metavar="S,A,L", help="D1 size,assoc,line (default 32768,8,64)")
    c.add_argument("--LL", default="8388608,16,64", metavar="S,A,L",
                   help="LL size,assoc,line (default 8388608,16,64)")
    c.add_argument("--latency", nargs="?", const="", metavar="NAME=NS,...",
                   help="also the average memory access time, with these latencies in ns (I1, D1, LL, memory; "
                        "defaults I1=1.5,D1=1.5,LL=10,memory=100)")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kernel_model.cachegrind import (
        LackeyFormatError,
        format_latency,
        format_summary,
        latency_summary,
        parse_cache_spec,
        parse_latency_spec,
        simulate_lackey,
    )

    try:
        specs = {name: parse_cache_spec(getattr(args, name)) for name in ("I1", "D1", "LL")}
        ns = parse_latency_spec(args.latency) if args.latency is not None else None
        events = simulate_lackey(args.lackey, **specs)
    except (ValueError, LackeyFormatError) as e:
        raise UserError(str(e)) from None
    latency = latency_summary(events, ns) if ns is not None else None
    if args.json:
        out = {"config": {k: dict(zip(("size", "assoc", "line_size"), v, strict=True)) for k, v in specs.items()},
               "events": events}
        print(json.dumps(out | ({"latency": latency} if latency else {}), indent=2))
    else:
        for name, (size, assoc, line) in specs.items():
            print(f"{name} cache: {size} B, {line} B, {assoc}-way associative")
        print(format_summary(events), end="")
        if latency:
            print(format_latency(latency), end="")
    return 0
