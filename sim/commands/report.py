"""memsim report: a saved result rendered as one self-contained HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.commands.common import UserError, load_report, rendering


def add_parser(sub) -> None:
    rep = sub.add_parser("report", help="render a saved result as HTML",
                         description="Render a result directory (or its report.json) as one self-contained "
                                     "HTML file.")
    rep.add_argument("result", help="a result directory or report.json")
    rep.add_argument("--html", required=True, help="the HTML file to write")
    rep.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.report import html
    from sim.report.directory import ReportError, texts, write_atomic

    path = Path(args.result)
    path = path / "report.json" if path.is_dir() else path
    report = load_report(str(path))
    out = Path(args.html)
    if out.resolve() == path.resolve():
        raise UserError(f"{out}: is the result being rendered: give another --html file")
    if out.is_dir() or not out.parent.is_dir():   # before the rendering: an unwritable target fails at once
        raise UserError(f"{out}: {'is a directory' if out.is_dir() else 'no such directory: ' + str(out.parent)}")
    try:
        with rendering(str(path)):
            page = html.render(report, texts(path.parent, report))
        write_atomic(out, page)
    except ReportError as e:
        raise UserError(str(e)) from None
    except OSError as e:
        raise UserError(f"{e.filename or args.html}: {e.strerror or e}") from None
    print(f"wrote {args.html}")
    return 0
