"""The Textual app: a status line, the view on screen, a footer of keys.

The app only draws: a source (a live run, a saved report, a guest) makes frames, and the app
polls it POLL_HZ times a second and redraws the view on screen when a new frame has come.
Sources have .kind, .scenario, .variants, .current, .views (the view names they can fill),
frame(), show(section), switch(step), stop() and .error; a live source also pauses and paces,
a report source seeks.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import ContentSwitcher, Footer, Input

from sim.report.directory import slug
from sim.tui.frame import Frame
from sim.tui.views import VIEWS, View
from sim.tui.widgets import Plain

POLL_HZ = 30
SWITCH_INTERVAL = 0.0005    # s: while the app runs, a replay thread back from C waits this long for the GIL at most
MIN_SIZE = (80, 20)
THEMES = {"dark": "textual-dark", "light": "textual-light"}


class MemsimApp(App):
    """memsim interactive."""

    TITLE = "memsim interactive"
    ENABLE_COMMAND_PALETTE = False
    AUTO_FOCUS = None          # keys go to the app; only the filter box takes focus, while it is open
    CSS = """
    #status { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    #too-small { display: none; height: 1; }
    #filter { dock: bottom; display: none; }
    ContentSwitcher { height: 1fr; }
    """
    BINDINGS = [
        Binding("1", "view('overview')", "view", key_display="1-7"),
        *(Binding(v.key, f"view('{v.name_}')", v.title, show=False) for v in VIEWS[1:]),
        Binding("space", "pause", "pause"),
        Binding("plus,equals_sign", "faster", "speed", key_display="+/-"),
        Binding("minus", "slower", "slower", show=False),
        Binding("left", "seek(-1)", "time", key_display="←/→"),
        Binding("right", "seek(1)", "later", show=False),
        Binding("shift+left", "seek(-10)", "back 10", show=False),
        Binding("shift+right", "seek(10)", "on 10", show=False),
        Binding("n", "variant(1)", "variant", key_display="n/p"),
        Binding("p", "variant(-1)", "previous variant", show=False),
        Binding("s", "sort", "sort"),
        *(Binding(letter, f"sort_letter('{letter}')", "sort", show=False) for letter in "oablcu"),
        Binding("slash", "filter", "filter"),
        Binding("e", "export", "export"),
        Binding("t", "theme", "theme"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, source, theme: str = "dark", export_dir: str | Path | None = None) -> None:
        super().__init__()
        self.source = source
        self.theme = THEMES[theme]
        self.export_dir = Path(export_dir) if export_dir is not None else None
        self.view_name = "overview"
        self.failure: BaseException | None = None     # an exception that ended the app (shown as one line)
        self.drawn_seq = -1
        self.draws: deque[float] = deque(maxlen=4 * POLL_HZ)   # when frames were drawn: the refresh rate
        self.exported: list[str] = []

    def compose(self) -> ComposeResult:
        yield Plain(id="too-small")
        yield Plain(id="status")
        with ContentSwitcher(initial="view-overview"):
            for v in VIEWS:
                yield v()
        yield Input(placeholder="filter rows by name (enter: apply, escape: clear)", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.source.show(VIEWS[0].section or "overview")
        self._poller = self.set_interval(1 / POLL_HZ, self.poll)
        self._fit(self.size.width, self.size.height)
        self.call_after_refresh(self.source.begin)
        # the UI thread holds the GIL while it draws; a replay thread coming back from a chunk would
        # wait up to the interpreter's switch interval (5 ms) for it at every stop
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)

    def on_unmount(self) -> None:
        self._poller.stop()
        sys.setswitchinterval(self._switch_interval)

    # -- drawing ---------------------------------------------------------------
    @property
    def view(self) -> View:
        return self.query_one(f"#view-{self.view_name}", View)

    def poll(self) -> None:
        if not self.query("#status"):   # the app is closing: its widgets are gone
            return
        frame = self.source.frame()
        if frame is None:
            self._status(None)
            return
        if frame.seq != self.drawn_seq:
            self.drawn_seq = frame.seq
            self.draws.append(time.monotonic())
            self.view.draw(frame)
        self._status(frame)

    @property
    def refresh_hz(self) -> float:
        """Frames drawn per second over the last seconds."""
        recent = [t for t in self.draws if t > time.monotonic() - 2.0]
        return (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 2 and recent[-1] > recent[0] else 0.0

    def _status(self, frame: Frame | None) -> None:
        src = self.source
        parts = [src.scenario, src.variants[src.current] +
                 (f" {src.current + 1}/{len(src.variants)}" if len(src.variants) > 1 else ""), self.view.title]
        if frame is None:
            parts.append("starting" if src.error is None else "failed")
        else:
            parts += [frame.state, f"{frame.records:,}/{frame.total:,}"]
            if frame.kind == "live":
                parts.append(f"pace {'max' if frame.speed is None else f'{frame.speed:,.0f}/s'}")
            if frame.kind != "report":
                parts.append(f"ui {self.refresh_hz:.0f} Hz")
        if self.view.filter:
            parts.append(f"filter '{self.view.filter}'")
        if src.error is not None:
            parts.append(f"error: {src.error}")
        self.query_one("#status", Plain).update(" · ".join(parts))

    # -- a terminal too small ---------------------------------------------------
    def on_resize(self, event) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        note = self.query_one("#too-small", Plain)
        note.update(f"terminal too small ({width}x{height}): memsim interactive needs {MIN_SIZE[0]}x{MIN_SIZE[1]}"
                    "; q quits")
        note.display = small
        for widget in (self.query_one("#status"), self.query_one(ContentSwitcher), self.query_one(Footer)):
            widget.display = not small

    # -- keys --------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple) -> bool | None:
        kind = self.source.kind
        if action == "view":
            return parameters[0] in self.source.views
        if action in ("pause", "faster", "slower"):
            return kind == "live"
        if action == "seek":
            return kind == "report"
        if action == "variant":
            return len(self.source.variants) > 1
        if action == "sort_letter":
            return any(s.letter == parameters[0] for s in self.view.sorts)
        return True

    def action_view(self, name: str) -> None:
        view = next(v for v in VIEWS if v.name_ == name)
        self.view_name = name
        self.query_one(ContentSwitcher).current = f"view-{name}"
        self.source.show(view.section or "overview")
        self._redraw()
        self.refresh_bindings()

    def action_pause(self) -> None:
        paused = self.source.toggle_pause()
        self.notify("paused" if paused else "running", timeout=1)

    def action_faster(self) -> None:
        self.source.faster()

    def action_slower(self) -> None:
        self.source.slower()

    def action_seek(self, step: int) -> None:
        self.source.seek(step)

    def action_variant(self, step: int) -> None:
        self.source.switch(step)
        self.source.show(self.view.section or "overview")
        self._redraw()

    def action_sort(self) -> None:
        view = self.view
        if not view.sorts:
            self.notify(f"{view.title}: nothing to sort", timeout=2)
            return
        view.sort_index = (view.sort_index + 1) % len(view.sorts)
        self._redraw()

    def action_sort_letter(self, letter: str) -> None:
        view = self.view
        view.sort_index = next(i for i, s in enumerate(view.sorts) if s.letter == letter)
        self._redraw()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = self.view.filter
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._set_filter(event.value)

    def on_key(self, event) -> None:
        box = self.query_one("#filter", Input)
        if event.key == "escape" and box.display:
            self._set_filter("")
            event.stop()

    def _set_filter(self, text: str) -> None:
        box = self.query_one("#filter", Input)
        box.display = False
        self.view.filter = text.strip()
        self.set_focus(None)
        self._redraw()

    def action_export(self) -> None:
        """The screen as SVG (Textual's screenshot) in out/, or here when out/ cannot be made."""
        src = self.source
        name = (f"memsim-{slug(src.scenario)}-{slug(src.variants[src.current])}-{self.view_name}-"
                f"{len(self.exported) + 1}.svg")
        where = self.export_dir if self.export_dir is not None else Path("out")
        try:
            where.mkdir(parents=True, exist_ok=True)
        except OSError:
            where = Path(".")
        path = self.save_screenshot(filename=name, path=str(where))
        self.exported.append(path)
        self.notify(f"saved {path}", timeout=3)

    def action_theme(self) -> None:
        self.theme = THEMES["light"] if self.theme == THEMES["dark"] else THEMES["dark"]

    async def action_quit(self) -> None:
        self.source.stop()
        self.exit()

    def _redraw(self) -> None:
        """Draw the frame there is again (a sort, a filter, another view: the data did not change)."""
        self.drawn_seq = -1
        self.poll()

    # -- an exception ends the app with one line, not a traceback ---------------------
    def _handle_exception(self, error: Exception) -> None:
        if self.failure is None:
            self.failure = error
        self.source.stop(timeout=0)
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        self.bell()
        self._close_messages_no_wait()
