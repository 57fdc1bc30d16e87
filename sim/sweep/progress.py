"""The sweep's progress on stderr: on a terminal one line redrawn in place (points done, failed,
remaining, ETA); elsewhere (CI logs, pipes) one line per finished point."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class SweepProgress:
    def __init__(self, label: str, total: int, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.label, self.total = label, total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.done = self.failed = 0
        self.start = time.monotonic()

    def eta(self) -> str:
        finished = self.done + self.failed
        elapsed = time.monotonic() - self.start
        return _clock(elapsed / finished * (self.total - finished)) if finished else "-"

    def line(self) -> str:
        finished = self.done + self.failed
        bar = "#" * (24 * finished // max(self.total, 1))
        return (f"{self.label} [{bar:<24}] {self.done} done, {self.failed} failed, {self.total - finished} "
                f"remaining, elapsed {_clock(time.monotonic() - self.start)}, ETA {self.eta()}")

    def finished(self, ok: bool, what: str) -> None:
        """A point finished: `what` says which (shown in line mode)."""
        if ok:
            self.done += 1
        else:
            self.failed += 1
        if self.tty:
            self.stream.write(f"\r\x1b[K{self.line()}")
        else:
            n = self.done + self.failed
            self.stream.write(f"[{n}/{self.total}] {'ok    ' if ok else 'FAILED'} {what} (ETA {self.eta()})\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write(f"\r\x1b[K{self.line()}\n")
            self.stream.flush()
