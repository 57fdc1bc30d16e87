"""The report directory of a run: every file written under a temporary name and renamed into place,
report.json last. A directory holding report.json holds a complete report: the marks of an
earlier run are removed before a new run writes anything, so an interrupted or failed run never
leaves a report that looks complete.

Layout: report.json, report.html, trace.json (Perfetto), charts/*.svg, and per variant the final
state in Linux's formats: <variant>.buddyinfo.txt, .pagetypeinfo.txt, .zoneinfo.txt,
.slabinfo.txt, .node<N>.numastat.txt.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from kernel_model import Machine

COMPLETE = ("report.json", "report.html")   # report.json is written last: the completion mark


def slug(variant: str) -> str:
    """A variant's name as a file-name prefix in the report directory (never a path)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", variant).strip("-.") or "variant"


class ReportError(OSError):
    """The report directory cannot be written; the message names the path."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()   # read once: os.umask can only be read by setting it


def write_atomic(path: Path, text: str) -> None:
    """path gets text in full or not at all (a temporary file beside it, renamed); it has the
    mode a plain open() would give it (mkstemp's files are 0600)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o666 & ~UMASK)
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ReportDirectory:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: list[Path] = []
        try:
            if path.exists() and not path.is_dir():
                raise ReportError(f"{path}: exists and is not a directory")
            path.mkdir(parents=True, exist_ok=True)
            for name in COMPLETE:
                if (path / name).is_dir():
                    raise ReportError(f"{path / name}: is a directory")
                (path / name).unlink(missing_ok=True)
            if not os.access(path, os.W_OK | os.X_OK):
                raise ReportError(f"{path}: not writable")
        except ReportError:
            raise
        except OSError as e:
            raise ReportError(f"{e.filename or path}: {e.strerror or e}") from None

    def discard(self, name: str) -> None:
        """Remove an earlier run's file that this run would leave stale (guest.json, partial results)."""
        try:
            (self.path / name).unlink(missing_ok=True)
        except OSError as e:
            raise ReportError(f"{e.filename or self.path / name}: {e.strerror or e}") from None

    def write(self, name: str, text: str) -> Path:
        path = self.path / name
        try:
            path.parent.mkdir(exist_ok=True)
            write_atomic(path, text)
        except OSError as e:
            raise ReportError(f"{e.filename or path}: {e.strerror or e}") from None
        self.files.append(path)
        return path

    def write_texts(self, variant: str, machine: Machine) -> None:
        """The variant's final state in Linux's /proc and /sys formats."""
        prefix = slug(variant)
        for name, text in (("buddyinfo", machine.buddyinfo()), ("pagetypeinfo", machine.pagetypeinfo()),
                           ("zoneinfo", machine.zoneinfo()), ("slabinfo", machine.slabinfo()),
                           *((f"node{n}.numastat", machine.numastat_text(n)) for n in range(machine.nodes))):
            self.write(f"{prefix}.{name}.txt", text)

    def finish(self, report: dict) -> list[Path]:
        """The timeline, the charts, the HTML page, then report.json. Everything is made from
        report.json's text read back, as `memsim report` reads it: the same page, byte for byte."""
        from sim.report import chrome, html

        text = json.dumps(report, indent=1, sort_keys=True) + "\n"
        report = json.loads(text)
        self.write("trace.json", json.dumps(chrome.timeline(report), sort_keys=True) + "\n")
        charts = html.charts(report)
        names = [c.file if c.variant_name is None else f"{slug(c.variant_name)}.{c.file}" for c in charts]
        if len(set(names)) < len(names):
            raise ValueError(f"two charts have one file name: {sorted(n for n in names if names.count(n) > 1)[0]}")
        for name, chart in zip(names, charts, strict=True):
            self.write(f"charts/{name}", chart.svg)
        self.write("report.html", html.render(report, texts(self.path, report), charts))
        self.write("report.json", text)
        return self.files


def texts(directory: Path, report: dict) -> dict[str, str]:
    """Each variant's buddyinfo text from a report directory (shown in the HTML page)."""
    out = {}
    for v in report["variants"]:
        path = directory / f"{slug(v['name'])}.buddyinfo.txt"
        try:
            out[v["name"]] = path.read_text()
        except OSError as e:
            raise ReportError(f"{path}: {e.strerror or e}") from None
    return out
