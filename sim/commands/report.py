"""memsim report: a saved result rendered as one self-contained HTML file, or opened in a browser."""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from pathlib import Path

from sim.commands.common import UserError, load_guest_result, load_report, rendering


def add_parser(sub) -> None:
    rep = sub.add_parser("report", help="render a saved result as HTML, or open it",
                         description="Render a result directory (or its report.json) as one self-contained "
                                     "HTML file: the same page the run wrote. --open opens the page (the one "
                                     "written, or the run's report.html) in a browser, or prints its path when "
                                     "there is no browser to open.")
    rep.add_argument("result", help="a result directory or report.json")
    rep.add_argument("--html", help="the HTML file to write")
    rep.add_argument("--open", action="store_true", help="open the page in a browser")
    rep.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.report import guest
    from sim.report.directory import ReportError, write_atomic

    if not args.html and not args.open:
        raise UserError("memsim report: give --html FILE, --open, or both")
    path = Path(args.result)
    if path.is_dir():   # a guest run's directory holds guest.json instead
        path = path / ("guest.json" if (path / "guest.json").is_file() and not (path / "report.json").exists()
                       else "report.json")
    if path.name == "guest.json":
        report, draw = load_guest_result(str(path)), guest.render
    else:
        report = load_report(str(path))
        draw = partial(_page, path.parent)
    page = path.parent / "report.html"
    if args.html:
        page = Path(args.html)
        if page.resolve() == path.resolve():
            raise UserError(f"{page}: is the result being rendered: give another --html file")
        if page.is_dir() or not page.parent.is_dir():   # before the rendering: a bad target fails at once
            raise UserError(f"{page}: " + ("is a directory" if page.is_dir() else f"no such directory: {page.parent}"))
        try:
            with rendering(str(path)):
                text = draw(report)
            write_atomic(page, text)
        except ReportError as e:
            raise UserError(str(e)) from None
        except OSError as e:
            raise UserError(f"{e.filename or args.html}: {e.strerror or e}") from None
        print(f"wrote {args.html}")
    elif not page.is_file():
        raise UserError(f"{page}: no such page (render one with --html FILE)")
    if args.open:
        print(f"opened {page}" if _open(page) else f"report: {page.resolve()} (no browser to open it)")
    return 0


def _page(directory: Path, report: dict) -> str:
    from sim.report import html
    from sim.report.directory import texts

    return html.render(report, texts(directory, report))


def _open(page: Path) -> bool:
    """Open the page in the user's browser ($BROWSER, or a graphical one); False when there is none.
    Without a display, Python's webbrowser would pick a text browser and take over the terminal."""
    import webbrowser

    graphical = sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or
                                                              os.environ.get("WAYLAND_DISPLAY"))
    if not graphical and not os.environ.get("BROWSER"):
        return False
    try:
        return webbrowser.open(page.resolve().as_uri())
    except webbrowser.Error:
        return False
