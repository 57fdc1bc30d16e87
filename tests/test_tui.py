"""memsim interactive driven by Textual's Pilot on the shipped scenarios (small overrides so that
they run fast): every view key, pause, speed, sort, filter, variant switch, quitting mid-run,
a saved report's time slider, a guest, one-line errors, and screen snapshots at a fixed size."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from pathlib import Path

import pytest

from sim.cli import main
from sim.scenario import load, run_scenario
from sim.tui.app import MemsimApp
from sim.tui.live import LiveSource
from sim.tui.report import ReportSource
from sim.tui.views.slab import SlabView

SIZE = (110, 36)
SNAPSHOTS = Path(__file__).parent / "snapshots"


def live(name: str, overrides=(), speed: float | None = 20_000, variant: str | None = None) -> LiveSource:
    src = LiveSource(load(name, list(overrides)), variant, speed)
    src.start().started.wait()
    return src


def drive(app: MemsimApp, script) -> None:
    """Run the app headless and the coroutine script(pilot, app) against it."""
    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await script(pilot, app)
    asyncio.run(go())


async def until(pilot, cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def replay_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("memsim-")]


@pytest.mark.parametrize(("scenario", "overrides", "views"), [
    ("leak", ["workload.operations=20000"], ["overview", "buddy", "slab", "numa", "leaks"]),
    ("cache-thrash", ["workload.accesses=100000"], ["overview", "buddy", "slab", "numa", "caches"]),
    ("stack-depth", ["workload.excursions=5000"], ["overview", "buddy", "slab", "numa", "stacks"]),
    ("false-sharing", ["workload.updates=20000"], ["overview", "buddy", "slab", "numa", "caches"]),
])
def test_every_view_key_shows_its_view(scenario, overrides, views):
    src = live(scenario, overrides)
    absent = {"caches", "leaks", "stacks"} - set(views)

    async def script(pilot, app):
        await until(pilot, lambda: src.frame() is not None and src.frame().records > 0)
        for key, name in zip("1234567", ["overview", "buddy", "slab", "numa", "caches", "leaks", "stacks"],
                             strict=True):
            before = app.view_name
            await pilot.press(key)
            if name in absent:        # the key does nothing and is not offered
                assert app.view_name == before
                continue
            assert app.view_name == name
            section = app.view.section
            if section:
                await until(pilot, lambda s=section: getattr(src.frame(), s) is not None)
            await pilot.pause(0.1)
            assert app.query_one(f"#view-{name}").display
        await pilot.press("q")

    drive(MemsimApp(src), script)
    assert not any(t.is_alive() for t in src.threads)


def test_pause_stops_the_replay_and_space_resumes_it():
    src = live("fragmentation", speed=20_000)

    async def script(pilot, app):
        await until(pilot, lambda: src.frame() is not None and src.frame().records > 2000)
        await pilot.press("space")
        await until(pilot, lambda: src.frame().state == "paused")
        held = src.frame().records
        await pilot.pause(0.5)
        assert src.frame().records == held
        assert src.run.control.paused
        await pilot.press("space")
        await until(pilot, lambda: src.frame().records > held)
        await pilot.press("q")

    drive(MemsimApp(src), script)


def test_plus_and_minus_change_the_pace():
    src = live("fragmentation", speed=8_000)

    async def script(pilot, app):
        await pilot.press("plus")
        assert src.run.control.speed == 16_000
        await pilot.press("minus", "minus")
        assert src.run.control.speed == 4_000
        await until(pilot, lambda: src.frame() is not None and src.frame().speed == 4_000)
        await pilot.press("q")

    drive(MemsimApp(src), script)


def test_sort_orders_the_slab_table_as_the_key_says():
    src = live("slab-churn", ["workload.ops=40000"], speed=None)

    async def script(pilot, app):
        await until(pilot, lambda: src.run.outcome == "done")
        await pilot.press("3")
        view = app.query_one(SlabView)
        await until(pilot, lambda: len(view.rows) > 3)
        assert view.sort_label == "objects"
        assert [r.objects for r in view.rows] == sorted((r.objects for r in view.rows), reverse=True)
        seen = {}
        for _ in view.sorts:
            seen[view.sort_label] = [r.cache for r in view.rows]
            s = view.sorts[view.sort_index]
            assert view.rows == sorted(view.rows, key=s.key, reverse=s.descending)
            await pilot.press("s")
            await pilot.pause(0.05)
        assert seen["name"] == sorted(seen["name"])
        assert seen["name"] != seen["objects"]
        await pilot.press("u")            # slabtop's letter for utilisation
        assert view.sort_label == "use"
        assert [r.use for r in view.rows] == sorted((r.use for r in view.rows), reverse=True)
        shown = [row[-1] for row in app.query_one("#slab-table").shown]
        assert shown == [r.cache for r in view.rows]
        await pilot.press("q")

    drive(MemsimApp(src), script)


def test_filter_keeps_matching_rows_and_escape_clears_it():
    src = live("slab-churn", ["workload.ops=40000"], speed=None)

    async def script(pilot, app):
        await until(pilot, lambda: src.run.outcome == "done")
        await pilot.press("3")
        view = app.query_one(SlabView)
        await until(pilot, lambda: len(view.rows) > 3)
        everything = len(view.rows)
        await pilot.press("slash", *"kmalloc-1", "enter")
        await pilot.pause(0.1)
        assert view.filter == "kmalloc-1"
        assert view.rows and all("kmalloc-1" in r.cache for r in view.rows)
        assert len(view.rows) < everything
        await pilot.press("q")             # keys are the app's again once the filter is applied
        assert not src.threads[0].is_alive()

    drive(MemsimApp(src), script)

    src = live("slab-churn", ["workload.ops=40000"], speed=None)

    async def clear(pilot, app):
        await until(pilot, lambda: src.run.outcome == "done")
        await pilot.press("3", "slash", *"zzz", "enter")
        await pilot.pause(0.1)
        assert app.query_one(SlabView).rows == []
        await pilot.press("slash", "escape")
        await pilot.pause(0.1)
        assert app.query_one(SlabView).filter == "" and app.query_one(SlabView).rows
        await pilot.press("q")

    drive(MemsimApp(src), clear)


def test_variant_switch_holds_one_and_runs_the_other():
    src = live("fragmentation", speed=20_000)

    async def script(pilot, app):
        await until(pilot, lambda: src.frame() is not None and src.frame().records > 1000)
        first = src.run
        await pilot.press("n")
        assert src.variants[src.current] == "grouping-off"
        await until(pilot, lambda: src.frame() is not None and src.frame().variant == "grouping-off"
                    and src.frame().records > 1000)
        held = first.latest.records
        await pilot.pause(0.3)
        assert first.latest.records == held and first.thread.is_alive()
        await pilot.press("p")
        assert src.variants[src.current] == "grouping-on"
        await until(pilot, lambda: first.latest.records > held)
        await pilot.press("q")

    drive(MemsimApp(src), script)
    assert len(src.runs) == 2 and not any(t.is_alive() for t in src.threads)


def test_quit_mid_run_ends_the_replay_thread_within_a_second():
    src = live("slab-churn", speed=5_000)

    async def script(pilot, app):
        await until(pilot, lambda: src.frame() is not None and src.frame().records > 0)
        assert src.threads[0].is_alive()
        await pilot.press("q")

    t0 = time.monotonic()
    drive(MemsimApp(src), script)
    for t in src.threads:
        t.join(max(1.0 - (time.monotonic() - t0), 0))
    assert replay_threads() == []
    assert src.runs["2-cpus"].outcome == "stopped"


def test_export_saves_an_svg_of_the_view(tmp_path):
    src = live("fragmentation")

    async def script(pilot, app):
        await until(pilot, lambda: src.frame() is not None)
        await pilot.press("2", "e")
        await pilot.press("q")

    app = MemsimApp(src, export_dir=tmp_path)
    drive(app, script)
    (path,) = app.exported
    assert Path(path).parent == tmp_path and Path(path).name == "memsim-fragmentation-grouping-on-buddy-1.svg"
    svg = Path(path).read_text()
    assert svg.startswith("<svg") and "Free blocks per order" in svg.replace("&#160;", " ")


def test_a_terminal_too_small_gets_one_line():
    src = live("fragmentation")

    async def script(pilot, app):
        await pilot.resize_terminal(60, 15)
        await pilot.pause(0.1)
        note = app.query_one("#too-small")
        assert note.display and "terminal too small (60x15)" in str(note.render())
        assert not app.query_one("#status").display
        await pilot.resize_terminal(*SIZE)
        await pilot.pause(0.1)
        assert not note.display and app.query_one("#status").display
        await pilot.press("q")

    drive(MemsimApp(src), script)


def test_an_exception_in_the_ui_ends_it_without_a_traceback(monkeypatch):
    from sim.tui.views.overview import Overview

    def broken(self, frame):
        raise RuntimeError("view broke")

    monkeypatch.setattr(Overview, "draw", broken)
    src = live("fragmentation")
    app = MemsimApp(src)

    async def script(pilot, app):
        await until(pilot, lambda: app.failure is not None)

    with pytest.raises(RuntimeError, match="view broke"):
        drive(app, script)
    assert str(app.failure) == "view broke" and app._exit_renderables == []
    for t in src.threads:
        t.join(1)
    assert replay_threads() == []


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    run_scenario("fragmentation", ["workload.ops=40000", "profile.interval=1000"], out=out)
    return out


def test_a_saved_report_is_browsed_with_the_time_slider(saved):
    report = json.loads((saved / "report.json").read_text())
    src = ReportSource(report, saved)
    axis = report["variants"][0]["fragmentation"]["records"]

    async def script(pilot, app):
        await pilot.pause(0.1)
        assert src.frame().records == axis[-1]
        await pilot.press("left", "left")
        assert src.frame().records == axis[-3]
        assert len(src.frame().nodes[0].free_history) == len(axis) - 2
        await pilot.press("shift+left")
        assert src.frame().records == axis[-13]
        await pilot.press("2")
        await pilot.pause(0.1)
        assert app.query_one("#buddy-free").shown      # the free area at the end, from pagetypeinfo.txt
        await pilot.press("n")
        assert src.frame().variant == "grouping-off" and src.frame().records == axis[-1]
        await pilot.press("space", "plus")              # not for a saved run: nothing happens
        await pilot.press("q")

    drive(MemsimApp(src), script)


def _normalised(svg: str) -> str:
    return svg.replace("\r\n", "\n")


@pytest.mark.parametrize("view", ["overview", "buddy", "slab", "numa"])
def test_report_screens_match_their_snapshots(saved, view):
    """The screen at 110x36 with Textual 8.2.8 (pinned); MEMSIM_UPDATE_SNAPSHOTS=1 rewrites them."""
    src = ReportSource(json.loads((saved / "report.json").read_text()), saved)
    shots = {}

    async def script(pilot, app):
        await pilot.press("left", "left", str(["overview", "buddy", "slab", "numa"].index(view) + 1))
        await pilot.pause(0.2)
        shots["svg"] = _normalised(app.export_screenshot(title="memsim interactive"))
        await pilot.press("q")

    drive(MemsimApp(src, theme="light" if view == "slab" else "dark"), script)
    path = SNAPSHOTS / f"tui-report-{view}.svg"
    if os.environ.get("MEMSIM_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(shots["svg"])
    assert shots["svg"] == path.read_text()


def test_bad_input_fails_before_the_ui_with_one_line(capsys):
    assert main(["interactive", "no-such-scenario"]) == 2
    assert main(["interactive", "fragmentation", "--set", "workload.ops=-5"]) == 2
    assert main(["interactive", "fragmentation", "--variant", "nope"]) == 2
    assert main(["interactive", "fragmentation", "--speed", "fast"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4 and all(line.startswith("memsim: error: ") for line in err)
    assert "workload.ops" in err[1] and "nope" in err[2] and "--speed fast" in err[3]
    assert replay_threads() == []


def test_no_terminal_is_one_line(capsys):
    assert main(["interactive", "fragmentation"]) == 2       # pytest's stdin is not a terminal
    assert capsys.readouterr().err.strip() == "memsim: error: memsim interactive needs a terminal (stdin and stdout)"
    for t in replay_threads():
        t.join(1)
    assert replay_threads() == []


def test_quitting_a_guest_kills_qemu_and_removes_its_directory():
    from sim.tui.guest import GuestSource

    src = GuestSource(load("guest-numa", ["workload.ops=3000000"])).start()
    seen = {}

    async def script(pilot, app):
        await until(pilot, lambda: src.error is not None or (src.frame() is not None and
                                                             src.frame().state == "replaying"), timeout=60)
        assert src.error is None, f"the guest did not start: {src.error}"
        cmdline = Path(f"/proc/{src.qemu_pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        seen["workdir"] = Path(re.search(r"mem-path=(\S+?)/node0", cmdline).group(1))   # this guest's, 0700
        assert seen["workdir"].is_dir()
        await pilot.press("2")
        await until(pilot, lambda: app.query_one("#buddy-free").shown)
        assert src.thread.is_alive()
        await pilot.press("q")

    drive(MemsimApp(src), script)
    src.thread.join(1)
    assert not src.thread.is_alive() and src.outcome == "stopped"
    with pytest.raises(ProcessLookupError):
        os.kill(src.qemu_pid, 0)
    assert not seen["workdir"].exists()


@pytest.mark.parametrize(("scenario", "overrides", "key", "parts"), [
    ("thermal", ["workload.ticks=2000"], "4", ["#numa-temp", "#numa-temp-head"]),
    ("numa-migration", ["workload.accesses=20000"], "4", ["#numa-mig", "#numa-bal"]),
    ("task-stacks", ["workload.slices=300"], "7", ["#stacks-tasks"]),
    ("leak-classes", ["workload.rounds=1500"], "6", ["#leaks-classes", "#leaks-false"]),
])
def test_the_analyses_show_in_their_views(tmp_path, scenario, overrides, key, parts):
    """A saved run of each analysis' scenario: its view shows the new parts (and a run without
    them keeps them hidden)."""
    run_scenario(scenario, overrides, out=tmp_path)
    src = ReportSource(json.loads((tmp_path / "report.json").read_text()), tmp_path)
    shown = {}

    async def script(pilot, app):
        await pilot.press(key)
        await pilot.pause(0.2)
        for part in parts:
            w = app.query_one(part)
            shown[part] = w.display and (getattr(w, "shown", None) or str(w.render()).strip())
        if key == "7":
            shown["suggestions"] = "recursion" in str(app.query_one("#stacks-suggestions").render())
        await pilot.press("q")

    drive(MemsimApp(src), script)
    assert all(shown.values()), shown


def test_parts_a_run_lacks_stay_hidden(saved):
    src = ReportSource(json.loads((saved / "report.json").read_text()), saved)
    hidden = {}

    async def script(pilot, app):
        await pilot.press("4")
        await pilot.pause(0.2)
        hidden.update({p: not app.query_one(p).display for p in ("#numa-temp", "#numa-mig", "#numa-bal")})
        await pilot.press("q")

    drive(MemsimApp(src), script)
    assert all(hidden.values())


def test_a_live_run_shows_temperatures_and_task_stacks():
    for scenario, overrides, key, part in (("thermal", ["workload.ticks=3000"], "4", "#numa-temp"),
                                           ("task-stacks", ["workload.slices=600"], "7", "#stacks-tasks")):
        src = live(scenario, overrides, speed=None)

        async def script(pilot, app, key=key, part=part, src=src):
            await until(pilot, lambda: src.frame() is not None and src.frame().state == "done", timeout=30)
            await pilot.press(key)
            await until(pilot, lambda: app.query_one(part).display and app.query_one(part).shown)
            await pilot.press("q")

        drive(MemsimApp(src), script)


def test_the_caches_view_shows_coherence_amat_and_alignment(tmp_path):
    """A saved false-sharing run: MESI per CPU, the shared line with its fix, AMAT per CPU and the
    latency histogram; a saved cache-alignment run: the size class that straddles lines."""
    run_scenario("false-sharing", ["workload.updates=2000"], out=tmp_path / "fs")
    run_scenario("cache-alignment", ["workload.accesses=5000"], out=tmp_path / "al")
    shown = {}

    async def look(pilot, app, key):
        await pilot.press("5")
        await pilot.pause(0.2)
        shown[key] = {i: app.query_one(f"#caches-{i}") for i in ("coherence", "lines", "amat", "alignment",
                                                                  "histogram")}
        shown[key] = {i: (w.display, getattr(w, "shown", None) or str(w.render())) for i, w in shown[key].items()}
        await pilot.press("q")

    for key in ("fs", "al"):
        src = ReportSource(json.loads((tmp_path / key / "report.json").read_text()), tmp_path / key)
        drive(MemsimApp(src), lambda pilot, app, k=key: look(pilot, app, k))
    fs, al = shown["fs"], shown["al"]
    assert fs["coherence"][0] and [r[0] for r in fs["coherence"][1]] == ["0", "1"]
    assert fs["lines"][1][0][-1].startswith("pad: insert 56 bytes before offset 8")
    assert fs["amat"][0] and "ns+" in fs["histogram"][1] and not fs["alignment"][0]
    assert al["alignment"][0] and al["alignment"][1][0][0] == "cache_objects" and not al["coherence"][0]
