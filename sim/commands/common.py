"""What every command shares: the errors that end in one line, and the arguments of commands that
run a scenario."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
from collections.abc import Iterator
from pathlib import Path

from kernel_model import trace
from kernel_model.trace import TraceFormatError


class UserError(Exception):
    """A mistake in the user's input: reported as one line, exit status 2."""


class GuestFailure(Exception):
    """The guest did not run to a clean end: one line, exit 1."""


@contextlib.contextmanager
def scenario_errors() -> Iterator[None]:
    """A scenario that cannot be loaded, run or written is a UserError (one line, exit 2)."""
    from sim.report.directory import ReportError
    from sim.scenario import ScenarioError

    try:
        yield
    except (ScenarioError, ReportError) as e:
        raise UserError(str(e)) from None


def scenario_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments every command that runs a scenario takes."""
    p.add_argument("scenario", help="a scenario file or a shipped scenario's name, e.g. fragmentation")
    p.add_argument("--out", help="report directory (default: output.dir, or out/<name>)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a setting, e.g. --set workload.ops=20000 (repeatable)")


def bounded_int(lo: int, hi: int | None = None):
    """An argparse type: an integer in lo..hi (argparse names the option in its error)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"expected an integer in {lo}..{hi}, got {text!r}" if hi is not None
                                             else f"expected an integer >= {lo}, got {text!r}")
        return value
    return parse


def bounded_float(lo: float, hi: float):
    """An argparse type: a number in lo..hi."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not lo <= value <= hi:     # nan fails too
            raise argparse.ArgumentTypeError(f"expected a number in {lo:g}..{hi:g}, got {text!r}")
        return value
    return parse


def load_trace(path: str) -> trace.Trace:
    try:
        return trace.load(path, mmap=True)
    except TraceFormatError as e:
        raise UserError(str(e)) from None


def load_report(path: str) -> dict:
    try:
        report = json.loads(Path(path).read_text())
    except OSError as e:
        raise UserError(f"{path}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{path}:{e.lineno}: not a memsim result: {e.msg}") from None
    if not isinstance(report, dict) or "variants" not in report or "scenario" not in report:
        raise UserError(f"{path}: not a memsim result (no scenario/variants)")
    return report
