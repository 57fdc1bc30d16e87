"""A one-line progress bar on stderr for runs longer than a couple of seconds (terminals only)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Watcher for replay_in_chunks: redraws "variant [####    ] 52% 1,234 / 2,345 records" in
    place once `after` seconds have passed; silent when the stream is not a terminal."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None, after: float = 2.0,
                 force: bool = False, unit: str = "records") -> None:
        self.label, self.total, self.after, self.unit = label, max(total, 1), after, unit
        self.stream = stream or sys.stderr
        self.enabled = force or self.stream.isatty()
        self.start = time.monotonic()
        self.drawn = False

    def take(self, snaps) -> None:
        """Fed from the replay's samples: only the record count matters here."""
        if len(snaps):
            self.observe(int(snaps.records[-1]))

    def update(self, done: int, total: int) -> None:
        """For a source that tells its size as it goes (a file being read): done of total units."""
        self.total = max(total, 1)
        self.observe(done)

    def observe(self, records_done: int) -> None:
        if not self.enabled or time.monotonic() - self.start < self.after:
            return
        frac = min(records_done / self.total, 1.0)
        bar = "#" * int(30 * frac)
        self.stream.write(f"\r{self.label[:20]:<20} [{bar:<30}] {frac:4.0%} {records_done:,} / {self.total:,} "
                          f"{self.unit}")
        if records_done >= self.total:
            self.stream.write("\n")
        self.stream.flush()
        self.drawn = True
