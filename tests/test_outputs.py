"""Outputs are written atomically: a failed, interrupted or disk-full run never leaves a report that
looks complete (report.json is written last; an earlier run's report.json and report.html go
first), and what finished before a failure is kept in report.partial.json with the error naming
what failed. Output paths are checked before anything runs and stay inside the output tree."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sim.scenario.run as run_module
from sim.cli import main
from sim.scenario import ScenarioError, run_scenario

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--set", "workload.ops=20000"]


def complete(out: Path) -> bool:
    """A directory that looks like a finished report: report.json there (and it parses)."""
    if not (out / "report.json").exists():
        return False
    json.loads((out / "report.json").read_text())     # never a truncated one
    return True


def earlier_report(out: Path) -> None:
    """A finished run's report in out, for a later run to fail into."""
    assert main(["run", "fragmentation", *SMALL, "--out", str(out)]) == 0
    assert complete(out) and (out / "report.html").exists()


def temporaries(out: Path) -> list[Path]:
    return [p for p in out.rglob(".*") if p.name.endswith(".tmp")]


def failing_in(name: str, error: BaseException):
    """An observer factory that raises `error` when variant `name` starts."""
    def factory(variant, machine, trace):
        if variant == name:
            raise error
    return factory


def test_a_variant_failing_at_run_time_keeps_the_finished_ones(tmp_path, capsys):
    earlier_report(tmp_path)
    with pytest.raises(ScenarioError) as e:
        run_scenario("fragmentation", ["workload.ops=20000"], out=tmp_path,
                     observers=[failing_in("grouping-off", MemoryError())])
    assert str(e.value) == (f"variant 'grouping-off' failed: out of memory (the results of 'grouping-on' are in "
                            f"{tmp_path}/report.partial.json)")
    assert not complete(tmp_path) and not (tmp_path / "report.html").exists()
    partial = json.loads((tmp_path / "report.partial.json").read_text())
    assert partial["complete"] is False and [v["name"] for v in partial["variants"]] == ["grouping-on"]
    assert partial["failed"] == {"in": "variant 'grouping-off'", "error": "MemoryError: "}
    assert partial["variants"][0]["fragmentation"]["health_score"] > 0
    # the next run that completes leaves no stale partial results beside its report
    run_scenario("fragmentation", ["workload.ops=20000"], out=tmp_path)
    assert complete(tmp_path) and not (tmp_path / "report.partial.json").exists()


def test_a_bug_in_a_variant_keeps_its_traceback_and_names_the_variant(tmp_path):
    with pytest.raises(RuntimeError) as e:
        run_scenario("fragmentation", ["workload.ops=20000"], out=tmp_path,
                     observers=[failing_in("grouping-off", RuntimeError("observer bug"))])
    assert e.value.__notes__ == [f"memsim: variant 'grouping-off' failed (the results of 'grouping-on' are in "
                                 f"{tmp_path}/report.partial.json)"]
    assert not complete(tmp_path)


def test_the_first_variant_failing_writes_no_partial_file(tmp_path):
    with pytest.raises(ScenarioError, match="^variant 'grouping-on' failed: out of memory$"):
        run_scenario("fragmentation", ["workload.ops=20000"], out=tmp_path,
                     observers=[failing_in("grouping-on", MemoryError())])
    assert not (tmp_path / "report.partial.json").exists() and not complete(tmp_path)


def test_cli_run_failing_in_a_variant_is_one_line(tmp_path, capsys, monkeypatch):
    real = run_module._run_variant

    def second_fails(spec, v, *args):
        if v.name == "grouping-off":
            raise MemoryError
        return real(spec, v, *args)

    monkeypatch.setattr(run_module, "_run_variant", second_fails)
    assert main(["run", "fragmentation", *SMALL, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"memsim: error: variant 'grouping-off' failed: out of memory (the results of 'grouping-on' "
                   f"are in {tmp_path}/report.partial.json)"]


def test_an_invalid_second_variant_fails_before_the_first_runs(tmp_path, capsys):
    text = (REPO / "scenarios" / "fragmentation.toml").read_text().replace(
        "machine = { mobility_grouping = false }", "machine = { mobility_grouping = false, node_mem = \"15T\" }")
    (tmp_path / "s.toml").write_text(text)
    assert main(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out")]) == 2
    assert "in variant 'grouping-off'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# -- full disks ------------------------------------------------------------------------------------

def _run_limited(out: Path, max_file_bytes: int) -> subprocess.CompletedProcess:
    """`memsim run` with files limited to max_file_bytes (writes beyond fail with EFBIG, as on a
    full disk: SIGXFSZ ignored, which exec keeps)."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run([sys.executable, "-m", "sim.cli", "run", "fragmentation", *SMALL, "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300, preexec_fn=limit)


@pytest.mark.parametrize("max_file_bytes", [64, 1024, 8192, 20000, 30000, 1 << 22])
def test_a_write_failing_part_way_leaves_no_complete_looking_report(tmp_path, max_file_bytes):
    """Every file of a run fails at some limit (texts, trace.json, charts, report.html, report.json):
    each time the run ends in one line, exit 2, and no report.json (nor the earlier run's)."""
    earlier_report(tmp_path)
    largest = max(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())   # the same run's files
    r = _run_limited(tmp_path, max_file_bytes)
    assert "Traceback" not in r.stderr
    assert (r.returncode == 0) == (largest <= max_file_bytes)
    if r.returncode == 0:
        assert complete(tmp_path) and (tmp_path / "report.html").exists()
    else:
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "File too large" in r.stderr
        assert not complete(tmp_path) and not (tmp_path / "report.html").exists()
    assert temporaries(tmp_path) == []


def test_a_full_disk_leaves_no_complete_looking_report(tmp_path):
    """A real ENOSPC: a small tmpfs (root only; skipped elsewhere)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(disk)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        r = subprocess.run([sys.executable, "-m", "sim.cli", "run", "fragmentation", *SMALL, "--out", str(disk)],
                           cwd=REPO, capture_output=True, text=True, timeout=300)
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "No space left on device" in r.stderr
        assert not complete(disk) and not (disk / "report.html").exists()
        assert temporaries(disk) == []
    finally:
        subprocess.run(["umount", str(disk)], check=True)


# -- interrupts ------------------------------------------------------------------------------------

# `memsim run` whose second variant waits (after marking that it started) until it is interrupted
INTERRUPTIBLE_RUN = """
import sys, time
from pathlib import Path
import sim.scenario.run as run
real = run._run_variant
def slow(spec, v, *args):
    if v.name == "grouping-off":
        Path(sys.argv[2]).touch()
        time.sleep(120)
    return real(spec, v, *args)
run._run_variant = slow
from sim.cli import main
sys.exit(main(["run", "fragmentation", "--set", "workload.ops=20000", "--out", sys.argv[1]]))
"""


def test_ctrl_c_mid_run_leaves_no_complete_looking_report(tmp_path):
    out, started = tmp_path / "out", tmp_path / "started"
    earlier_report(out)
    p = subprocess.Popen([sys.executable, "-c", INTERRUPTIBLE_RUN, str(out), str(started)], cwd=REPO,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.05)
    assert started.exists()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and err.splitlines() == [
        f"memsim: interrupted in variant 'grouping-off' (the results of 'grouping-on' are in "
        f"{out}/report.partial.json)"]
    assert not complete(out) and not (out / "report.html").exists()
    assert json.loads((out / "report.partial.json").read_text())["failed"]["error"] == "KeyboardInterrupt: "


# -- output paths ----------------------------------------------------------------------------------

def test_out_at_a_file_or_an_unwritable_directory_fails_before_the_replay(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(run_module, "_run_variant", lambda *args: pytest.fail("the replay ran"))
    (tmp_path / "file").write_text("")
    assert main(["run", "fragmentation", "--out", str(tmp_path / "file")]) == 2
    assert capsys.readouterr().err == f"memsim: error: {tmp_path / 'file'}: exists and is not a directory\n"
    assert main(["run", "fragmentation", "--out", str(tmp_path / "file" / "sub")]) == 2
    assert "Not a directory" in capsys.readouterr().err
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "report.json").mkdir()
    assert main(["run", "fragmentation", "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err == f"memsim: error: {tmp_path / 'r' / 'report.json'}: is a directory\n"


def test_a_read_only_directory_fails_before_the_replay(tmp_path, capsys, monkeypatch):
    """A read-only file system (root may write to any directory: a tmpfs mounted read-only), or a
    directory without write permission for another user: the run stops before the replay."""
    ro = tmp_path / "ro"
    ro.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=16k", "tmpfs", str(ro)],
                                                   capture_output=True).returncode == 0
    if not mounted:
        if os.geteuid() == 0:
            pytest.skip("cannot mount a read-only tmpfs")
        ro.chmod(0o555)
    monkeypatch.setattr(run_module, "_run_variant", lambda *args: pytest.fail("the replay ran"))
    try:
        assert main(["run", "fragmentation", "--out", str(ro / "x")]) == 2
        why = "Read-only file system" if mounted else "Permission denied"
        assert capsys.readouterr().err == f"memsim: error: {ro / 'x'}: {why}\n"
    finally:
        if mounted:
            subprocess.run(["umount", str(ro)], check=True)


def test_an_unwritable_charts_directory_is_one_line_and_keeps_the_variants(tmp_path, capsys):
    (tmp_path / "charts").write_text("a file where charts/ goes")
    assert main(["run", "fragmentation", *SMALL, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"memsim: error: writing the report failed: {tmp_path / 'charts'}")
    assert err[0].endswith(f"(the results of 'grouping-on', 'grouping-off' are in {tmp_path}/report.partial.json)")
    assert not complete(tmp_path)


def test_report_writes_only_its_html_file(tmp_path, capsys):
    """`memsim report` renders a result directory without writing into it."""
    earlier_report(tmp_path / "run")
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*")}
    assert main(["report", str(tmp_path / "run"), "--html", str(tmp_path / "page.html")]) == 0
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*")} == before
    assert (tmp_path / "page.html").read_text().startswith("<!doctype html>")
    capsys.readouterr()
    assert main(["report", str(tmp_path / "run"), "--html", str(tmp_path / "run" / "report.json")]) == 2
    assert "is the result being rendered" in capsys.readouterr().err
    assert complete(tmp_path / "run")


def test_the_output_directory_never_leaves_the_output_tree(tmp_path, capsys):
    (tmp_path / "s.toml").write_text('[scenario]\nname = "../../.."\n[workload]\ngenerator = "page_churn"\n'
                                     'ops = 100\noccupancy_pages = 10\n')
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(["run", "s.toml"]) == 2
    finally:
        os.chdir(cwd)
    assert "scenario.name: '../../..' must be a plain file name" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]
