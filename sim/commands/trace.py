"""memsim trace info|convert: inspect trace files, convert Linux ftrace captures to them."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from kernel_model import Op, trace
from sim.commands.common import UserError, load_trace


def add_parser(sub) -> None:
    t = sub.add_parser("trace", help="inspect and convert trace files",
                       description="Inspect memsim trace files, or convert Linux ftrace captures to them.")
    tsub = t.add_subparsers(dest="trace_command", required=True, metavar="SUBCOMMAND")
    ti = tsub.add_parser("info", help="header and op counts of a trace file",
                         description="Print a trace file's header and its op counts.")
    ti.add_argument("file", help="a memsim trace file")
    ti.add_argument("--json", action="store_true", help="print JSON")
    ti.set_defaults(func=info)

    tc = tsub.add_parser("convert", help="convert a Linux ftrace capture to a memsim trace",
                         description="Convert ftrace text (/sys/kernel/tracing/trace with kmem:* events; "
                                     ".txt or .txt.xz) to a memsim trace file, and say what was skipped.")
    tc.add_argument("input", help="ftrace text, e.g. trace.txt or trace.txt.xz")
    tc.add_argument("output", help="the memsim trace file to write (.mtr)")
    tc.add_argument("--json", action="store_true", help="print the summary as JSON")
    tc.set_defaults(func=convert)


def info(args: argparse.Namespace) -> int:
    from sim.report.text import trace_info

    t = load_trace(args.file)
    codes, n = np.unique(np.asarray(t.records["op"]), return_counts=True)
    counts = {Op(int(op)).name.lower() if op < len(Op) else f"op{int(op)}": int(k)
              for op, k in zip(codes, n, strict=True)}
    out = {"file": args.file, "version": trace.VERSION, "records": len(t), "nr_ids": t.nr_ids,
           "call_sites": len(t.sites), "cpus": int(t.records["cpu"].max()) + 1 if len(t) else 0, "ops": counts}
    print(json.dumps(out, indent=2) if args.json else trace_info(out))
    return 0


def convert(args: argparse.Namespace) -> int:
    from sim.progress import Progress
    from sim.report.text import conversion
    from sim.workloads.ftrace import HANDLED, FtraceFormatError, import_ftrace

    out = Path(args.output)
    try:   # the output is made before the (long) import: an unwritable path fails at once
        if out.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(out))
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
    except OSError as e:
        raise UserError(f"{out}: {e.strerror or e}") from None
    try:
        bar = Progress(os.path.basename(args.input), 0, unit="bytes")
        try:
            t, summary = import_ftrace(args.input, bar.update)
        except FtraceFormatError as e:
            if bar.drawn:
                print(file=sys.stderr)   # the error on a line of its own, not after the bar
            raise UserError(str(e)) from None
        try:
            trace.save(tmp, t)
            os.replace(tmp, out)       # the trace whole or not at all (a full disk leaves no half file)
        except OSError as e:
            raise UserError(f"{args.output}: {e.strerror or e}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    if args.json:
        print(json.dumps({"input": args.input, "output": args.output, **summary}, indent=2))
    else:
        print(conversion(args.output, {**summary, "sites": len(t.sites), "nr_ids": t.nr_ids}, HANDLED))
    return 0
