"""One point of a sweep, as a worker runs it: the scenario through sim.run_scenario into a
private temporary directory, then everything the client needs sent back as plain data (status,
one-line error, metrics, timings, and the report files' bytes). The client writes the point's
directory and its history row, so workers need no access to the output tree: only the
installed package and the scenario's input files (at the same path, e.g. a shared filesystem).
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.history.key import code_version, file_hash
from sim.report.directory import ReportError
from sim.report.metrics import metrics
from sim.scenario import ScenarioError, ScenarioSpec, run_scenario

MAX_ERROR = 400      # characters of the one-line error kept in the history


class PointError(Exception):
    """A point that cannot run on this worker (other code, other input files)."""


@dataclass(frozen=True)
class PointTask:
    key: str
    spec: ScenarioSpec                  # the sweep's scenario (its fixed --set overrides applied)
    overrides: tuple[str, ...]          # this point's grid values, as --set items
    seed: int
    inputs: Mapping[str, str]           # input file -> sha256 as the client read it
    code: str                           # the client's code_version(): the key was computed for it
    scratch: str | None = None          # where to put the temporary report directory (None: the system's)


def run_point(task: PointTask) -> dict[str, Any]:
    """Run one point; never raises for a failing run (that is a result too)."""
    t0 = time.perf_counter()
    out = point_result(task.key, host=socket.gethostname(), pid=os.getpid(), started=time.time())
    try:
        if code_version() != task.code:
            raise PointError(f"this worker runs memsim {code_version()}, the sweep {task.code}: "
                             "workers need the same memsim as the client")
        _check_inputs(task.inputs)
        with tempfile.TemporaryDirectory(prefix="memsim-point-", dir=task.scratch) as tmp:
            report_dir = Path(tmp) / "report"
            t1 = time.perf_counter()
            run = run_scenario(task.spec, task.overrides, seed=task.seed, out=report_dir)
            out["timings"]["run"] = time.perf_counter() - t1
            out["files"] = {p.relative_to(report_dir).as_posix(): p.read_bytes()
                            for p in sorted(report_dir.rglob("*")) if p.is_file()}
        out["metrics"] = metrics(run.report)
        out["status"] = "success"
    except Exception as e:   # the point failed; the sweep goes on and records why
        error = one_line(e)
        for item in task.overrides:   # the point's own settings: named as the key, not as a --set option
            key = item.partition("=")[0]
            if error.startswith(f"--set {key}:"):
                error = error[len("--set "):]
        out.update(status="failed", error=error, traceback=traceback.format_exc())
    out["timings"]["point"] = time.perf_counter() - t0
    return out


def point_result(key: str, status: str = "running", error: str | None = None, host: str | None = None,
           pid: int | None = None, started: float | None = None) -> dict[str, Any]:
    """What a point sends back to the client (status "success" or "failed" once it is done)."""
    return {"key": key, "status": status, "error": error, "traceback": None, "host": host, "pid": pid,
            "started": started, "metrics": {}, "timings": {}, "files": {}}


def one_line(e: BaseException) -> str:
    """An error as one line: our own errors by their message (they name file, line and key),
    anything else with its type."""
    text = str(e) if isinstance(e, (ScenarioError, ReportError, PointError)) else f"{type(e).__name__}: {e}"
    text = " ".join(text.split()) or type(e).__name__
    return text if len(text) <= MAX_ERROR else text[:MAX_ERROR - 3] + "..."


def _check_inputs(inputs: Mapping[str, str]) -> None:
    """The input files must be the ones the key was computed from (same path, same bytes)."""
    for path, expected in inputs.items():
        if expected == "missing":
            continue   # missing on the client too: the run reports it in its own words
        try:
            found = file_hash(Path(path))
        except OSError as e:
            raise PointError(f"{path}: {e.strerror or e} on worker host {socket.gethostname()} (input files must "
                             "be at the same path on every worker, e.g. on a shared filesystem)") from None
        if found != expected:
            raise PointError(f"{path}: differs on worker host {socket.gethostname()} from the client's copy "
                             "(input files must be the same on every worker)")
