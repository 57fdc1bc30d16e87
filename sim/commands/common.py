"""What every command shares: the errors that end in one line, and the arguments of commands that
run a scenario."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
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


MAX_REPORT_BYTES = 1 << 30   # reports are bounded (decimated series, capped lists): tens of MB at most


def load_report(path: str) -> dict:
    """A saved result (report.json) checked to have the shape every reader relies on."""
    report = _read_result(path)
    if not isinstance(report, dict) or "variants" not in report or "scenario" not in report:
        raise UserError(f"{path}: not a memsim result (no scenario/variants)")
    problem = _report_shape(report)
    if problem is not None:
        raise UserError(f"{path}: not a memsim result: {problem}")
    return report


GUEST_KEYS = ("scenario", "seed", "records", "comparison", "guest", "topology_requested", "topology_seen", "timings")


def load_guest_result(path: str) -> dict:
    """A saved guest run (guest.json) with the keys its page reads."""
    report = _read_result(path)
    missing = [k for k in GUEST_KEYS if k not in report] if isinstance(report, dict) else ["scenario"]
    if missing:
        raise UserError(f"{path}: not a memsim guest result (no {missing[0]})")
    return report


def _read_result(path: str) -> object:
    try:
        size = os.path.getsize(path)
        if size > MAX_REPORT_BYTES:
            raise UserError(f"{path}: {size:,} bytes is no memsim result (they stay below {MAX_REPORT_BYTES:,})")
        raw = Path(path).read_bytes()
    except OSError as e:
        raise UserError(f"{path}: {e.strerror or e}") from None
    try:
        report = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not a memsim result: byte {e.start} is not UTF-8") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{path}:{e.lineno}: not a memsim result: {e.msg}") from None
    except RecursionError:
        raise UserError(f"{path}: not a memsim result: nested too deeply") from None
    return report


def _report_shape(report: dict) -> str | None:
    """What is missing or of the wrong type among the fields docs/report.schema.json requires."""
    def wrong(where: str, value, types: tuple[type, ...], what: str) -> str | None:
        if isinstance(value, bool) or not isinstance(value, types):
            return f"{where} is {str(value)[:40]!r}, expected {what}"
        return None

    top = (("version", (int,), "1"), ("scenario", (str,), "a string"), ("seed", (int,), "an integer"),
           ("records", (int,), "an integer"), ("variants", (list,), "a list"))
    for key, types, what in top:
        if key not in report:
            return f"no {key!r}"
        if (bad := wrong(key, report[key], types, what)) is not None:
            return bad
    if report["version"] != 1:
        return f"format version {report['version']}, this memsim reads 1"
    if not report["variants"]:
        return "no variants"
    for i, v in enumerate(report["variants"]):
        if not isinstance(v, dict):
            return f"variants[{i}] is not an object"
        for key, types, what in (("name", (str,), "a string"), ("machine", (dict,), "an object"),
                                 ("replay", (dict,), "an object"), ("fragmentation", (dict,), "an object"),
                                 ("phases", (list,), "a list")):
            if key not in v:
                return f"variants[{i}] has no {key!r}"
            if (bad := wrong(f"variants[{i}].{key}", v[key], types, what)) is not None:
                return bad
        if (bad := wrong(f"variants[{i}].replay.alloc_failed", v["replay"].get("alloc_failed"), (int,),
                         "an integer")) is not None:
            return bad
    return None


@contextlib.contextmanager
def rendering(path: str) -> Iterator[None]:
    """A report that has the required shape but not what a profiler's renderer reads (an edited
    or foreign file) is one error naming the file, not a traceback from deep in the renderer."""
    import jinja2

    try:
        yield
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, jinja2.TemplateError) as e:
        raise UserError(f"{path}: a malformed memsim result ({type(e).__name__}: {str(e)[:80]})") from None
