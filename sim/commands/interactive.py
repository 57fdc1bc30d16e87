"""memsim interactive: a live terminal UI (Textual) for a running scenario, a saved report or a guest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.commands.common import UserError, load_report, scenario_errors

DEFAULT_SPEED = 20_000   # records/s: the shipped scenarios play in 3 to 40 s


def add_parser(sub) -> None:
    p = sub.add_parser("interactive", help="a live terminal UI for a scenario, a saved report or a guest",
                       description="Watch a scenario replay in a terminal UI: overview, buddy free areas, slab "
                                   "caches, NUMA, caches, leaks and stacks on the number keys. Given a report "
                                   "directory, browse the saved run with a time slider instead; with --guest, "
                                   "watch the counters of a QEMU guest running the scenario. Keys are listed "
                                   "at the bottom of the screen (docs/tui.md).")
    p.add_argument("target", metavar="SCENARIO|RESULT_DIR",
                   help="a scenario file or a shipped scenario's name, or a report directory (with report.json)")
    p.add_argument("--variant", help="the variant shown first (default: the first)")
    p.add_argument("--speed", default=str(DEFAULT_SPEED), metavar="RECORDS_PER_S|max",
                   help=f"replay pace in records per second, or max (default {DEFAULT_SPEED:,}); + and - double "
                        "and halve it")
    p.add_argument("--theme", choices=("dark", "light"), default="dark")
    p.add_argument("--guest", action="store_true", help="run the scenario in a QEMU guest and show the counters "
                                                        "read from its RAM while it runs")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a scenario setting, e.g. --set workload.ops=20000 (repeatable)")
    p.set_defaults(func=run)


def speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text.replace("_", "").replace(",", ""))
    except ValueError:
        value = -1.0
    if not 0 < value < 1e12:
        raise UserError(f"--speed {text}: give records per second (a positive number) or max")
    return value


def source(args: argparse.Namespace):
    """The frames' source, checked before the UI starts: bad input ends here with one line."""
    from sim.scenario import ScenarioError, load

    target = Path(args.target)
    if target.is_dir() and (target / "report.json").exists():
        from sim.tui.report import ReportSource

        if args.set or args.guest:
            raise UserError(f"{target}: a saved report is browsed as it is (no --set, no --guest)")
        try:
            return ReportSource(load_report(str(target / "report.json")), target, args.variant)
        except (KeyError, IndexError, TypeError) as e:
            raise UserError(f"{target / 'report.json'}: not a memsim result this version reads ({e})") from None
        except ValueError as e:
            raise UserError(str(e)) from None
    with scenario_errors():
        spec = load(args.target, args.set)
        if args.variant is not None and args.variant not in [v.name for v in spec.variants]:
            raise ScenarioError(f"{spec.path}: no variant {args.variant!r} "
                                f"(variants: {', '.join(v.name for v in spec.variants)})")
        if args.guest or spec.guest is not None:
            from sim.tui.guest import GuestSource

            if spec.guest is None:
                spec = spec.with_overrides(["guest.nodes=2"])
            return GuestSource(spec).start()
        from sim.tui.live import LiveSource

        live = LiveSource(spec, args.variant, speed(args.speed))
        run = live.start()
        run.started.wait()            # the workload is built and the machine set up, or it failed
        if isinstance(run.error, ScenarioError):
            raise run.error
        return live


def run(args: argparse.Namespace) -> int:
    from sim.tui.app import MemsimApp

    src = source(args)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        src.stop()
        raise UserError("memsim interactive needs a terminal (stdin and stdout)")
    app = MemsimApp(src, theme=args.theme)
    try:
        app.run()
    finally:
        src.stop()
    if app.failure is not None:
        print(f"memsim: interactive: {type(app.failure).__name__}: {app.failure}", file=sys.stderr)
        return 1
    if src.error is not None:
        print(f"memsim: interactive: {src.error}", file=sys.stderr)
        return 1
    for path in app.exported:
        print(f"saved {path}")
    return 0
