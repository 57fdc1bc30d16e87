"""Running a sweep: plan -> history rows -> points on the engine -> each point's directory and
row as it finishes -> the sweep report. The client is the only writer of the history and of the
output tree; a point's directory is complete before its row says success.

Layout: <out>/<sweep>/<key>/ (one report directory per run, never shared) and
<out>/<sweep>/sweep.html; the history is <out>/memsim.db unless given.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TextIO

from sim.history import History, NewRun
from sim.history.key import resolved
from sim.report.directory import ReportError, write_atomic
from sim.sweep.engine import Engine
from sim.sweep.plan import Plan, Point
from sim.sweep.point import PointTask
from sim.sweep.progress import SweepProgress
from sim.sweep.summary import summarize


@dataclass
class Outcome:
    plan: Plan
    skipped: int = 0
    failed: list[tuple[Point, str]] = field(default_factory=list)
    cancelled: int = 0
    interrupted: bool = False
    report: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)   # start (of the engine), points, report


def run_sweep(plan: Plan, out: Path, db: Path, jobs: int, scheduler: str | None = None, force: bool = False,
              stream: TextIO | None = None, tty: bool | None = None, in_process: bool | None = None) -> Outcome:
    """Run the points of the plan that have not succeeded yet (all of them with force). One job
    runs in this process unless in_process is False (sim.sweep.engine.Engine)."""
    outcome = Outcome(plan)
    stream = stream or sys.stderr
    sweep_dir = out / plan.sweep_id
    with History(db, create=True) as history:
        try:
            sweep_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ReportError(f"{e.filename or sweep_dir}: {e.strerror or e}") from None
        history.record_sweep(plan.sweep_id, plan.base.name, str(plan.base.path), plan.grid, plan.seeds, plan.metrics,
                             [(p.key, p.params, p.seed) for p in plan.points])
        done = set() if force else history.succeeded(p.key for p in plan.points)
        todo = [p for p in plan.points if p.key not in done]
        outcome.skipped = len(plan.points) - len(todo)
        print(f"sweep {plan.sweep_id}: {len(plan.points)} points, {outcome.skipped} already succeeded (skipped)"
              + ("" if todo else ": nothing to run"), file=stream, flush=True)
        if todo:
            unfinished = {p.key for p in todo}
            try:
                t0 = time.perf_counter()
                # local workers (and Dask) put their temporary files where the sweep removes them
                with (_sigterm_as_interrupt(), _scratch(scheduler is None) as scratch,
                      Engine(jobs, scheduler, in_process, scratch) as engine):
                    outcome.seconds["start"] = time.perf_counter() - t0
                    print(f"running {len(todo)} points {engine.describe()}", file=stream, flush=True)
                    history.start([NewRun(p.key, plan.base.name, p.seed, p.params, plan.code, str(sweep_dir / p.key),
                                          resolved(p.spec, p.seed)) for p in todo])
                    tasks = [PointTask(p.key, plan.base, p.overrides, p.seed, p.inputs, plan.code, scratch)
                             for p in todo]
                    t0 = time.perf_counter()
                    _collect(engine, tasks, plan, sweep_dir, history, outcome, unfinished,
                             SweepProgress(plan.sweep_id, len(todo), stream, tty))
                    outcome.seconds["points"] = time.perf_counter() - t0
            except KeyboardInterrupt:
                outcome.interrupted = True
            finally:
                if unfinished:
                    history.cancel(unfinished)
                    outcome.cancelled = len(unfinished)
        t0 = time.perf_counter()
        summary = summarize(history.sweep(plan.sweep_id), history.runs(sweep=plan.sweep_id))
    from sim.report.sweep import render

    outcome.report = sweep_dir / "sweep.html"
    write_atomic(outcome.report, render(summary))
    outcome.seconds["report"] = time.perf_counter() - t0
    return outcome


def _collect(engine: Engine, tasks: list[PointTask], plan: Plan, sweep_dir: Path, history: History,
             outcome: Outcome, unfinished: set[str], progress: SweepProgress) -> None:
    """Each result as it arrives: the point's directory, then its row (one transaction)."""
    by_key = {p.key: p for p in plan.points}
    try:
        for result in engine.run(tasks):
            point = by_key[result["key"]]
            ok = result["status"] == "success"
            if ok:
                _write_point(sweep_dir, point.key, result["files"])
            history.finish(point.key, result["status"], result["metrics"], result["timings"], result["error"],
                           result["traceback"], result["host"], result["pid"], result["started"])
            unfinished.discard(point.key)
            if not ok:
                outcome.failed.append((point, result["error"]))
            progress.finished(ok, f"{point.key} {point.label()}" + ("" if ok else f": {result['error']}"))
    finally:
        progress.close()


def _write_point(sweep_dir: Path, key: str, files: Mapping[str, bytes]) -> Path:
    """The point's report directory, filled under a temporary name and renamed into place (an
    earlier directory of the same key is replaced)."""
    final = sweep_dir / key
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=sweep_dir))
    try:
        for name, data in files.items():
            rel = PurePosixPath(name)
            if rel.is_absolute() or ".." in rel.parts or not rel.parts:
                raise ValueError(f"{name!r}: a report file outside its directory")
            dest = tmp.joinpath(*rel.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{key}.old.", dir=sweep_dir))
            os.replace(final, old / key)
            shutil.rmtree(old)
        os.replace(tmp, final)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise ReportError(f"{e.filename or final}: {e.strerror or e}") from None
        raise
    return final


@contextlib.contextmanager
def _scratch(local: bool) -> Iterator[str | None]:
    if not local:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="memsim-sweep-") as tmp:
        yield tmp


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the sweep as Ctrl-C does: outstanding points cancelled, finished rows kept."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
