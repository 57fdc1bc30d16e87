"""Sweeps with the real engine (a Dask LocalCluster, a real `dask scheduler` with two `dask
worker` processes), the run history, resume after SIGKILL, Ctrl-C, failing points, compare and
its --fail-on exit codes, and the pieces underneath (grid values, run keys, t intervals)."""

from __future__ import annotations

import io
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim.history
from kernel_model import trace
from sim.cli import main
from sim.history.compare import Row, compare, crossed, parse_fail_on
from sim.history.key import code_version, run_key
from sim.report.metrics import metrics
from sim.scenario import load, run_scenario
from sim.scenario.spec import apply_overrides
from sim.sweep.point import PointTask, run_point
from sim.sweep.progress import SweepProgress
from sim.sweep.stats import mean_ci, t975
from sim.sweep.values import parse_grid, toml_value
from sim.workloads import page_churn

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DONE_WHEN = ["sweep", "fragmentation", "--grid", "machine.mobility_grouping=true,false",
             "--grid", "workload.unmovable_fraction=0.05,0.1,0.2", "--seeds", "3", "--jobs", "2"]
SMALL = ["sweep", "fragmentation", "--grid", "workload.unmovable_fraction=0.05,0.1", "--set", "workload.ops=20000"]


# ---- processes: what a sweep leaves behind ------------------------------------------------------

def children(pid: int) -> dict[int, str]:
    """{pid: command line} of the live processes whose parent is pid."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and stat.rsplit(")", 1)[1].split()[0] != "Z":
                out[int(d)] = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            pass
    return out


def alive(pids) -> list[int]:
    out = []
    for p in pids:
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.append(p)
    return out


def wait_gone(pids, timeout: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(pids)


def own_workers() -> set[int]:
    """This process's children apart from multiprocessing's resource tracker (it lives as long as we do)."""
    return {p for p, cmd in children(os.getpid()).items() if "resource_tracker" not in cmd}


def rows(db: Path, query: str, *args) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(query, args).fetchall()
    finally:
        con.close()


def wait_for(db: Path, query: str, at_least: int, proc: subprocess.Popen, timeout: float = 90.0) -> int:
    """Poll the history (a reader beside the sweep's writer) until query counts at_least."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            n = rows(db, query)[0][0]
        except sqlite3.Error:
            n = 0
        if n >= at_least:
            return n
        time.sleep(0.05)
    raise AssertionError(f"{query} did not reach {at_least} in {timeout} s")


def scratch_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a sweep whose temporary files go under tmp_path/tmp."""
    (tmp_path / "tmp").mkdir()
    return {**os.environ, "TMPDIR": str(tmp_path / "tmp")}


def memsim(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "memsim"), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=kw.pop("cwd", REPO), **kw)


# ---- the pieces --------------------------------------------------------------------------------

toml_scalars = (st.booleans() | st.integers(-(1 << 63), (1 << 63) - 1) | st.text(max_size=20)
                | st.floats(allow_nan=False))
toml_values = st.recursive(toml_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10)


@given(st.lists(toml_values, min_size=1, max_size=5))
def test_grid_values_come_back_as_set_reads_them(values):
    for v in values:
        data, _ = apply_overrides({}, [f"workload.x={toml_value(v)}"])
        assert data["workload"]["x"] == v
    assert parse_grid("workload.x=" + ",".join(toml_value(v) for v in values)) == ("workload.x", values)


def test_grid_values_split_outside_strings_and_arrays():
    assert parse_grid('machine.node_mem=["64M","64M"],["96M","32M"]')[1] == [["64M", "64M"], ["96M", "32M"]]
    assert parse_grid('workload.file="a,b.mtr",c.mtr')[1] == ["a,b.mtr", "c.mtr"]
    assert parse_grid("workload.generator=page_churn,mixed_mobility")[1] == ["page_churn", "mixed_mobility"]


def test_t_quantiles_and_intervals():
    assert t975(1) == 12.7062 and t975(30) == 2.0423
    assert t975(45) == pytest.approx(2.0141, abs=5e-4)     # between table rows: interpolated in 1/df
    assert t975(1000) == pytest.approx(1.9623, abs=5e-4)
    assert all(t975(d) > t975(d + 1) for d in range(1, 200))
    mean, ci, n = mean_ci([1.0, 2.0, 3.0])
    assert (mean, n) == (2.0, 3) and ci == pytest.approx(4.3027 / math.sqrt(3))
    assert mean_ci([5.0]) == (5.0, None, 1) and mean_ci([4, 4, 4])[1] == 0


def test_run_key_covers_the_resolved_scenario_seed_code_and_input_content(tmp_path):
    spec = load("fragmentation")
    key = run_key(spec, 1, {}, "v1")
    assert key == run_key(load("fragmentation"), 1, {}, "v1")
    assert key == run_key(spec.with_overrides(["output.dir=elsewhere"]), 1, {}, "v1")   # [output] is not the run
    assert key == run_key(spec.with_overrides(["scenario.seed=7"]), 1, {}, "v1")        # the seed that runs counts
    assert len({key, run_key(spec, 2, {}, "v1"), run_key(spec, 1, {}, "v2"),
                run_key(spec.with_overrides(["workload.ops=1000"]), 1, {}, "v1")}) == 4
    f = tmp_path / "t.mtr"
    f.write_bytes(b"one")
    a = run_key(spec, 1, sim.history.input_hashes(spec) | {str(f): "x"}, "v1")
    b = run_key(spec, 1, sim.history.input_hashes(spec) | {str(f): "y"}, "v1")
    assert a != b


def test_fail_on_thresholds():
    t = parse_fail_on("fragmentation.health_score:5%")
    assert (t.variant, t.metric, t.pct, t.direction) == (None, "fragmentation.health_score", 5.0, 0)
    drop = parse_fail_on("grouping-on/fragmentation.health_score:-5")
    assert (drop.variant, drop.direction) == ("grouping-on", -1)
    down = Row("grouping-on", "fragmentation.health_score", 100, 90, "!=")
    up = Row("grouping-off", "fragmentation.health_score", 30, 33, "!=")
    assert down.pct == -10 and up.pct == pytest.approx(10)
    assert [r for _, r in crossed([down, up], [t])] == [down, up]
    assert [r for _, r in crossed([down, up], [drop])] == [down]
    assert crossed([down, up], [parse_fail_on("fragmentation.health_score:+20%")]) == []
    assert Row("v", "m", 0, 3, "!=").pct == math.inf
    rows_ = compare({"metrics": {"v": {"m": 1}}, "timings": {"run": 1.0}},
                    {"metrics": {"v": {"m": 1}}, "timings": {"run": 1.05}}, time_tolerance_pct=10)
    assert [(r.name, r.verdict) for r in rows_] == [("m", "="), ("time.run", "~")]
    for bad in ("nope", "m:", "m:x%", "a/b/c:5%"):
        with pytest.raises(ValueError, match="--fail-on"):
            parse_fail_on(bad)


def test_a_worker_refuses_other_code_or_other_input_files(tmp_path):
    """What a worker elsewhere checks before it runs a point under the client's key."""
    f = tmp_path / "t.mtr"
    trace.save(f, page_churn(2000, 500, cpus=1, seed=1))
    spec = load("fragmentation", ["workload.ops=2000"])
    task = PointTask("k", spec, (), 1, {str(f): sim.history.key.file_hash(f)}, code_version(), str(tmp_path))
    assert run_point(task)["status"] == "success"
    other = run_point(PointTask("k", spec, (), 1, {str(f): "0" * 64}, code_version()))
    assert other["status"] == "failed" and other["error"].startswith(f"{f}: differs on worker host ")
    gone = run_point(PointTask("k", spec, (), 1, {str(tmp_path / "gone.mtr"): "0" * 64}, code_version()))
    assert gone["status"] == "failed" and "No such file or directory on worker host" in gone["error"]
    older = run_point(PointTask("k", spec, (), 1, {}, "0.0.1"))
    assert older["status"] == "failed" and "the sweep 0.0.1: workers need the same memsim" in older["error"]
    assert list(tmp_path.iterdir()) == [f]   # the temporary report directory is gone


def test_the_history_is_never_written_into_another_file(tmp_path, capsys):
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    (tmp_path / "text.db").write_text("hello\n")
    for db, message in ((other, "not a memsim run history"), (tmp_path / "text.db", "file is not a database")):
        assert main(["sweep", "fragmentation", "--db", str(db), "--out", str(tmp_path / "out")]) == 2
        assert main(["history", "--db", str(db)]) == 2
        assert capsys.readouterr().err.count(message) == 2
    assert rows(other, "SELECT name FROM sqlite_master") == [("t",)] and not (tmp_path / "out").exists()
    assert rows(other, "PRAGMA journal_mode") == [("delete",)]


def test_progress_counts_done_failed_remaining_with_an_eta():
    tty, lines = io.StringIO(), io.StringIO()
    for stream, is_tty in ((tty, True), (lines, False)):
        p = SweepProgress("s", 4, stream, tty=is_tty)
        p.finished(True, "a")
        p.finished(False, "b: broken")
        p.close()
    assert tty.getvalue().split("\r")[-1].startswith("\x1b[Ks [############            ] 1 done, 1 failed, "
                                                      "2 remaining, elapsed 0:00, ETA 0:00")   # redrawn in place
    assert tty.getvalue().endswith("\n") and tty.getvalue().count("\n") == 1
    assert lines.getvalue().splitlines()[1].startswith("[2/4] FAILED b: broken (ETA ")


# ---- bad grids ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--grid", "machine.nosuch=1,2"], "--grid machine.nosuch=1: unknown key machine.nosuch"),
    (["--grid", "machine.mobility_grouping=1,0"], "--grid machine.mobility_grouping=1: expected true or false"),
    (["--grid", "workload.unmovable_fraction=0.1,2.5"], "--grid workload.unmovable_fraction=2.5: expected a number"),
    (["--grid", "machine.pcp="], "--grid machine.pcp: no values"),
    (["--grid", "machine.pcp=true,,false"], "--grid machine.pcp: an empty value"),
    (["--grid", "workload.ops=1000,1000"], "--grid workload.ops: the value 1000 is given twice"),
    (["--grid", "scenario.seed=1,2"], "--grid scenario.seed: cannot be swept"),
    (["--grid", "nosection.x=1"], "--grid nosection.x=1: no section [nosection]"),
    (["--grid", "pcp=true"], "expected section.key=V1,V2"),
    (["--grid", "workload.generator=page_churn"], "the grid point workload.generator=page_churn"),
    (["--metric", "cache.misses"], "--metric cache.misses"),
    (["--seeds", "0"], "--seeds 0"),
    (["--jobs", "0"], "--jobs 0"),
    (["--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "--jobs sizes the local cluster"),
    (["--name", "../elsewhere"], "--name '../elsewhere': a sweep's name is a plain file name"),
])
def test_bad_grids_are_one_line_before_anything_runs(tmp_path, capsys, args, message):
    assert main(["sweep", "fragmentation", "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("memsim: error: ") and message in err, err
    assert not (tmp_path / "memsim.db").exists() and list(tmp_path.iterdir()) == []


def test_a_bad_sweep_section_names_its_line(tmp_path, capsys):
    text = (REPO / "sweeps" / "min-free-kbytes.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("[true, false]", "[true, 3]"))
    assert main(["sweep", str(bad), "--out", str(tmp_path / "out")]) == 2
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith("grid ="))
    err = capsys.readouterr().err
    assert f"{bad}:{line}: sweep.grid machine.mobility_grouping=3: expected true or false" in err
    bad.write_text(text.replace("seeds = 5", "seeds = []"))
    assert main(["sweep", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "sweep.seeds" in capsys.readouterr().err
    bad.write_text(text.replace("[true, false]", "true"))
    assert main(["sweep", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert f"{bad}:{line}: sweep.grid.machine.mobility_grouping: expected a non-empty list" in capsys.readouterr().err


# ---- the real engine ---------------------------------------------------------------------------

def test_done_when_on_a_local_cluster_history_report_and_compare(tmp_path, capsys):
    before = own_workers()
    assert main([*DONE_WHEN, "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "running 18 points on 2 local worker processes" in captured.err
    assert "every variant sets machine.mobility_grouping itself" in captured.err   # the knob the variants shadow
    db = tmp_path / "memsim.db"
    runs = sim.history.load(db)
    assert len(runs) == 18 and {r["status"] for r in runs} == {"success"}
    assert len({r["key"] for r in runs}) == 18 and len({r["out"] for r in runs}) == 18
    pids = {r["pid"] for r in runs}
    assert len(pids) == 2 and os.getpid() not in pids            # two worker processes did the work
    assert wait_gone(set(children(os.getpid())) - before - {p for p, c in children(os.getpid()).items()
                                                            if "resource_tracker" in c}) == []
    # every point's report is its own directory, and is what run_scenario computes for that point
    one = next(r for r in runs if r["params"]["workload.unmovable_fraction"] == 0.2 and r["seed"] == 2)
    report = json.loads((Path(one["out"]) / "report.json").read_text())
    direct = run_scenario("fragmentation", ["machine.mobility_grouping=false", "workload.unmovable_fraction=0.2"],
                          seed=2, write=False).report
    assert report == direct
    assert one["metrics"] == metrics(direct)
    assert {"run", "point"} <= set(one["timings"])
    # the long format for pandas
    long = sim.history.metric_rows(db, sweep=runs[0]["sweeps"][0])
    assert len(long) == sum(len(m) for r in runs for m in r["metrics"].values())
    assert {"machine.mobility_grouping", "workload.unmovable_fraction", "variant", "metric", "value"} <= set(long[0])

    # a second invocation runs nothing new
    finished = {r["key"]: r["finished"] for r in runs}
    assert main([*DONE_WHEN, "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "18 points, 18 already succeeded (skipped): nothing to run" in err and "running" not in err
    assert {r["key"]: r["finished"] for r in sim.history.load(db)} == finished

    # the sweep report: means with 95% intervals per grid point and variant, charts, escaped and linked
    sweep_id = runs[0]["sweeps"][0]
    html = (tmp_path / sweep_id / "sweep.html").read_text()
    assert "95% confidence intervals" in html and html.count("<svg") == 4 and "<?xml" not in html
    assert html.count(" ± ") == 12 and "3/3" in html                       # 6 grid points x 2 variants, n = 3
    assert all(f'href="{k}/report.html"' in html for k in finished)

    # history lists them; compare prints differences and gates on thresholds
    assert main(["history", "--db", str(db), "--sweep", sweep_id, "--json"]) == 0
    listed = [r["key"] for r in json.loads(capsys.readouterr().out)]
    assert listed == [r["key"] for r in sim.history.load(db, sweep=sweep_id)] and set(listed) == set(finished)
    a = next(r for r in runs if r["params"]["workload.unmovable_fraction"] == 0.05 and r["seed"] == 1)
    b = next(r for r in runs if r["params"]["workload.unmovable_fraction"] == 0.2 and r["seed"] == 1
             and r["params"]["machine.mobility_grouping"] == a["params"]["machine.mobility_grouping"])
    assert main(["compare", "--db", str(db), a["key"][:8], b["key"]]) == 0
    out = capsys.readouterr().out
    assert "workload.unmovable_fraction: 0.05 -> 0.2" in out and "fragmentation.health_score" in out
    assert "scenario.seed" not in out
    c = next(r for r in runs if r["params"] == a["params"] and r["seed"] == 3)
    assert main(["compare", "--db", str(db), a["key"], c["key"]]) == 0
    assert "scenario.seed: 1 -> 3" in capsys.readouterr().out
    assert main(["compare", "--db", str(db), a["key"], b["key"], "--fail-on", "fragmentation.health_score:1%"]) == 1
    assert "FAIL fragmentation.health_score:1%" in capsys.readouterr().out
    assert main(["compare", "--db", str(db), a["key"], b["key"], "--fail-on", "fragmentation.health_score:+1%",
                 "--json"]) == 0                                            # health only fell
    assert json.loads(capsys.readouterr().out)["failed"] == []
    assert main(["compare", "--db", str(db), a["key"], a["key"], "--fail-on", "replay.alloc_failed:0%"]) == 0
    for args, message in ((["--fail-on", "fragmentation.nosuch:5%"], "no metric 'fragmentation.nosuch'"),
                          (["--fail-on", "health"], "expected [VARIANT/]METRIC:PCT%")):
        assert main(["compare", "--db", str(db), a["key"], b["key"], *args]) == 2
        assert message in capsys.readouterr().err
    assert main(["compare", "--db", str(db), "ffffffff", b["key"]]) == 2
    assert "ffffffff: no such run" in capsys.readouterr().err
    assert main(["history", "--db", str(tmp_path / "none.db")]) == 2


def test_sweep_on_a_dask_scheduler_with_two_workers(tmp_path, capsys):
    scheduler_file = tmp_path / "scheduler.json"
    env = scratch_env(tmp_path)   # Dask's scratch space goes there, not to the machine's temp dir
    procs = []

    def start(*args: str) -> subprocess.Popen:
        log = open(tmp_path / f"dask-{len(procs)}.log", "w")   # noqa: SIM115 (closed with the process)
        p = subprocess.Popen([str(BIN / "dask"), *args], stdout=log, stderr=log, cwd=tmp_path, env=env,
                             start_new_session=True)
        log.close()
        procs.append(p)
        return p

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(scheduler_file))
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            assert procs[0].poll() is None, (tmp_path / "dask-0.log").read_text()
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            start("worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--death-timeout", "60")
        assert main([*SMALL, "--seeds", "3", "--scheduler", address, "--out", str(tmp_path / "out")]) == 0
        assert f"running 6 points on the Dask cluster at {address}" in capsys.readouterr().err
        runs = sim.history.load(tmp_path / "out" / "memsim.db")
        assert len(runs) == 6 and {r["status"] for r in runs} == {"success"}
        worker_pids = {p for w in procs[1:] for p in [w.pid, *children(w.pid)]}    # dask worker -> its worker
        assert {r["pid"] for r in runs} <= worker_pids and os.getpid() not in {r["pid"] for r in runs}
        assert all((Path(r["out"]) / "report.json").exists() for r in runs)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)


def test_a_killed_sweep_keeps_finished_runs_and_resumes_without_duplicates(tmp_path, capsys):
    args = [*DONE_WHEN[:-4], "--seeds", "2", "--jobs", "2", "--set", "workload.ops=400000", "--out", str(tmp_path)]
    db = tmp_path / "memsim.db"
    proc = memsim(*args, start_new_session=True, env=scratch_env(tmp_path))   # a SIGKILL leaves the scratch there
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:
            workers |= {p for p, c in children(proc.pid).items() if "resource_tracker" not in c}
            time.sleep(0.05)
        wait_for(db, "SELECT count(*) FROM runs WHERE status = 'success'", 3, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert len(workers) >= 2 and wait_gone(workers) == []     # the workers went with the sweep
    status = dict(rows(db, "SELECT key, status FROM runs"))
    done = {k for k, s in status.items() if s == "success"}
    assert set(status.values()) <= {"success", "running"} and 3 <= len(done) < 12
    for key in status:   # a finished row is complete; an unfinished one has no figures
        n_metrics = rows(db, "SELECT count(*) FROM metrics WHERE run = ?", key)[0][0]
        n_timings = rows(db, "SELECT count(*) FROM timings WHERE run = ?", key)[0][0]
        sweep_dir = next(tmp_path.glob("fragmentation-*"))
        if key in done:
            report = json.loads((sweep_dir / key / "report.json").read_text())
            assert n_metrics == sum(map(len, metrics(report).values())) > 0 and n_timings == 2
        else:
            assert n_metrics == n_timings == 0
    finished = dict(rows(db, "SELECT key, finished FROM runs WHERE status = 'success'"))

    assert main(args) == 0
    assert f"12 points, {len(done)} already succeeded (skipped)" in capsys.readouterr().err
    assert rows(db, "SELECT count(*), count(DISTINCT key) FROM runs") == [(12, 12)]
    assert rows(db, "SELECT status, count(*) FROM runs GROUP BY status") == [("success", 12)]
    assert {k: f for k, f in rows(db, "SELECT key, finished FROM runs") if k in done} == finished


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_an_interrupted_sweep_cancels_the_rest_and_leaves_no_worker(tmp_path, how):
    args = [*DONE_WHEN[:-4], "--seeds", "2", "--jobs", "2", "--set", "workload.ops=400000", "--out", str(tmp_path)]
    db = tmp_path / "memsim.db"
    proc = memsim(*args, start_new_session=True, env=scratch_env(tmp_path))
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:
            workers |= {p for p, c in children(proc.pid).items() if "resource_tracker" not in c}
            time.sleep(0.05)
        wait_for(db, "SELECT count(*) FROM runs WHERE status = 'success'", 2, proc)
        if how == "ctrl-c":   # a terminal sends SIGINT to the whole foreground process group
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert len(workers) >= 2 and wait_gone(workers) == []
    status = [s for (s,) in rows(db, "SELECT status FROM runs")]
    assert len(status) == 12 and set(status) <= {"success", "cancelled"} and status.count("success") >= 2
    assert "cancelled" in out and (next(tmp_path.glob("fragmentation-*")) / "sweep.html").exists()
    assert list((tmp_path / "tmp").iterdir()) == []   # the workers' scratch went with the sweep


def test_a_failing_point_is_recorded_and_the_others_finish(tmp_path, capsys):
    trace.save(tmp_path / "good.mtr", page_churn(5000, 2000, cpus=1, seed=3))
    (tmp_path / "bad.mtr").write_bytes(b"\0" * 100)
    scenario = tmp_path / "traces.toml"
    scenario.write_text('[scenario]\nname = "traces"\n[machine]\nnode_mem = "64M"\n'
                        '[workload]\ngenerator = "trace"\nfile = "good.mtr"\n'
                        '[[variant]]\nname = "<script>alert(1)</script>"\nmachine = { pcp = true }\n'
                        '[[variant]]\nname = "plain"\nmachine = { pcp = false }\n'
                        '[sweep]\ngrid = { "workload.file" = ["good.mtr", "bad.mtr"] }\nseeds = [4, 9]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(scenario), "--jobs", "1", "--out", str(out)]) == 1
    summary = capsys.readouterr().out
    runs = sim.history.load(out / "memsim.db")
    assert [(r["params"]["workload.file"], r["seed"], r["status"]) for r in runs] == [
        ("good.mtr", 4, "success"), ("good.mtr", 9, "success"), ("bad.mtr", 4, "failed"), ("bad.mtr", 9, "failed")]
    failed = [r for r in runs if r["status"] == "failed"]
    assert all(r["error"] == f"workload.file: {tmp_path / 'bad.mtr'}: not a memsim trace "
                              "(bad magic b'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00')" for r in failed)
    assert all(r["metrics"] == {} and "Traceback" in r["traceback"] for r in failed)
    assert "2 succeeded (0 already in the history), 2 failed" in summary and "failed " + failed[0]["key"] in summary
    html = next(out.glob("traces-*")).joinpath("sweep.html").read_text()
    assert "<script>" not in html and html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 5   # tables, charts
    assert "bad magic" in html and html.count('class="failed"') == 2
    # a fixed input is a new run: the failed points' keys do not come back
    trace.save(tmp_path / "bad.mtr", page_churn(3000, 1000, cpus=1, seed=5))
    assert main(["sweep", str(scenario), "--jobs", "1", "--out", str(out)]) == 0
    assert "4 points, 2 already succeeded (skipped)" in capsys.readouterr().err
    again = sim.history.load(out / "memsim.db", sweep=runs[0]["sweeps"][0])
    assert {r["status"] for r in again} == {"success"} and not {r["key"] for r in failed} & {r["key"] for r in again}
