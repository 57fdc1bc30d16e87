"""The memsim command line: output, JSON, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kernel_model import Op, trace
from sim.cli import main
from sim.workloads import page_churn


@pytest.fixture
def churn_file(tmp_path):
    path = tmp_path / "churn.mtr"
    trace.save(path, page_churn(5000, 2000, cpus=2, seed=3))
    return path


def test_trace_info(churn_file, capsys):
    assert main(["trace", "info", str(churn_file), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["records"] == 5000 and info["cpus"] == 2
    assert info["ops"]["page_alloc"] + info["ops"]["page_free"] == 5000


def test_replay_clean_trace(churn_file, capsys):
    assert main(["replay", str(churn_file), "--nodes", "2", "--node-mem", "16M", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["errors"] == {} and out["records"] == 5000


def test_replay_reports_bad_records_with_their_index(tmp_path, capsys):
    recs = trace.empty(3)
    recs[0] = (Op.PAGE_ALLOC, 1, 0, 0, 0, 0, trace.NO_NODE)
    recs[1] = (Op.PAGE_FREE, 0, 0, 0, 0, 0, 0)
    recs[2] = (Op.PAGE_FREE, 0, 0, 0, 0, 0, 0)
    path = tmp_path / "bad.mtr"
    trace.save(path, trace.Trace(recs))
    assert main(["replay", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}: record 2: free of an id that is already free (id 0)" in out


@pytest.mark.parametrize("args,message", [
    (["trace", "info", "{missing}"], "No such file"),
    (["replay", "{garbage}"], "bad magic"),
    (["replay", "{churn}", "--node-mem", "12Q"], "invalid size"),
    (["bench", "nosuch"], "unknown benchmark nosuch"),
    (["analyze", "{garbage}"], "bad magic"),
    (["analyze", "{badjson}"], ":2: not a memsim result"),
    (["report", "{missing}", "--html", "{missing}.html"], "No such file"),
])
def test_user_errors_are_one_line_and_exit_2(tmp_path, churn_file, capsys, args, message):
    garbage = tmp_path / "garbage.mtr"
    garbage.write_bytes(b"\0" * 100)
    badjson = tmp_path / "bad.json"
    badjson.write_text("{\n  nope\n")
    args = [a.format(missing=tmp_path / "nope.mtr", garbage=garbage, churn=churn_file, badjson=badjson)
            for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("memsim: error: ") and message in err


def test_analyze_a_trace(churn_file, capsys):
    assert main(["analyze", str(churn_file), "--json"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert a["allocs"] + a["frees"] == 5000 and a["live"] == a["allocs"] - a["frees"]
    assert main(["analyze", str(churn_file)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{a['allocs']:,} allocations") and "call site" in out


def test_analyze_and_report_a_saved_result(tmp_path, capsys):
    from sim.scenario import run_scenario

    run_scenario("stack-depth", ["workload.excursions=500"], out=tmp_path / "res")
    assert main(["analyze", str(tmp_path / "res" / "report.json")]) == 0
    assert capsys.readouterr().out.startswith("stack-depth: ")
    assert main(["report", str(tmp_path / "res"), "--html", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert html.startswith("<!doctype html>") and "stack-depth" in html and "<svg" in html


def test_bench_json_quick(capsys):
    assert main(["bench", "buddy", "--quick", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    entry = result["buddy"]
    assert set(entry) >= {"ops_per_s", "baseline_ops_per_s", "ratio"}
    assert entry["agrees_with_baseline"] is True


def test_overhead_bench_replays_a_clean_mixed_trace(capsys):
    from kernel_model import Machine
    from sim.bench import _mixed_trace

    t = _mixed_trace(20_000)
    res = Machine(nodes=2, node_mem="256M").replay(t)
    assert res.nr_errors == 0 and res.op_counts["page_alloc"] and res.op_counts["kmalloc"]
    assert main(["bench", "overhead", "--quick", "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)["overhead"]
    assert entry["records"] == 500_000 and entry["profiler_memory_peak_bytes"] > 0
    assert set(entry) >= {"ops_per_s", "baseline_ops_per_s", "ratio", "overhead_percent", "result_seconds"}


def test_console_script_help():
    for args in ([], ["bench"], ["trace", "info"], ["replay"]):
        r = subprocess.run([sys.executable, "-m", "sim.cli", *args, "--help"], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0 and "usage: memsim" in r.stdout


def test_progress_bar_draws_in_place_and_stays_quiet_off_a_terminal():
    import io

    from sim.progress import Progress

    out = io.StringIO()
    p = Progress("grouping-on", 2000, stream=out, after=0, force=True)
    p.observe(1000)
    p.observe(2000)
    assert out.getvalue() == (f"\r{'grouping-on':<20} [{'#' * 15:<30}]  50% 1,000 / 2,000 records"
                              f"\r{'grouping-on':<20} [{'#' * 30}] 100% 2,000 / 2,000 records\n")
    quiet = io.StringIO()
    Progress("x", 10, stream=quiet, after=0).observe(10)     # StringIO is not a terminal
    assert quiet.getvalue() == ""


def test_a_reader_leaving_early_is_not_a_traceback(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "sim.cli", "monitor", "memory-pressure", "--interval", "100",
                          "--out", str(tmp_path), "--set", "workload.ops=20000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()                                   # like `| head -1`
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141 and "Traceback" not in err
