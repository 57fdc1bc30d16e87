"""How the UI steers a run from its thread: pause, pace, stop, and which view's data to build.
The UI thread calls the setters; the replay's watcher calls wait() at every stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Stopped(Exception):
    """Raised by the watcher to end a run the UI is done with."""


class Control:
    """What the UI asks of one variant's run, read by its watcher: pause, pace, stop, and which
    view's data to build. Methods are called from the UI thread; wait() from the replay's."""

    def __init__(self, speed: float | None) -> None:
        self._cond = threading.Condition()
        self.speed = speed          # records per second; None: as fast as the replay goes
        self.paused = False
        self.stopped = False
        self.section = "overview"   # the view on screen: its section is built with each frame
        self.wanted = False         # a frame is wanted now (the view changed while the run waits)
        self._ref: tuple[float, int] | None = None   # (wall time, records) the pace counts from
        self._records = 0

    def set_paused(self, paused: bool) -> None:
        with self._cond:
            self.paused, self._ref, self.wanted = paused, None, True   # a frame that says so
            self._cond.notify_all()

    def set_speed(self, speed: float | None) -> None:
        with self._cond:
            self.speed, self._ref = speed, None
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self._cond.notify_all()

    def show(self, section: str) -> None:
        with self._cond:
            self.section, self.wanted = section, True
            self._cond.notify_all()

    def wait(self, records: int, on_wanted: Callable[[], None]) -> None:
        """Return when the run may go on past `records`: not paused, and the pace kept.
        Raises Stopped when the UI is done; calls on_wanted() when a frame is asked for meanwhile."""
        with self._cond:
            self._records = records
            while True:
                if self.stopped:
                    raise Stopped
                if self.wanted:
                    self.wanted = False
                    self._cond.release()
                    try:
                        on_wanted()
                    finally:
                        self._cond.acquire()
                    continue
                if self.paused:
                    self._cond.wait()
                    continue
                if self.speed is None:
                    return
                now = time.monotonic()
                if self._ref is None or now - self._due(records) > 0.1:   # (re)start, or fell behind
                    self._ref = (now, records)
                delay = self._due(records) - now
                if delay <= 0:
                    return
                self._cond.wait(delay)

    def _due(self, records: int) -> float:
        t, r = self._ref
        return t + (records - r) / self.speed
