"""Real-time tracker: rates, trend and time-to-exhaustion, edge-triggered alerts, ring buffer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kernel_model import Machine
from sim.cli import main
from sim.profilers.realtime import RealtimeTracker


def test_rates_trend_and_exhaustion_by_hand():
    m = Machine(nodes=1, node_mem="16M", pcp=False)
    rt = RealtimeTracker(m)
    total = m.nr_free_pages()
    rt.observe(0)
    first = rt.latest()
    assert first["free_pages"] == total and first["trend"] == 0.0 and first["records_to_exhaustion"] is None
    for step in (1, 2):
        for _ in range(100):
            m.alloc_pages(0)
        rt.observe(100 * step)
    snap = rt.latest()
    assert snap["alloc_rate"] == 1.0 and snap["free_rate"] == 0.0
    assert snap["trend"] == pytest.approx(-1.0)                  # one page fewer per record, exactly
    assert snap["records_to_exhaustion"] == pytest.approx(total - 200)
    assert rt.result()["alerts"] == []


def test_alerts_fire_once_per_episode_and_end_of_run_replaces_the_last_point():
    m = Machine(nodes=1, node_mem="4M", pcp=False)
    rt = RealtimeTracker(m, alert_free_fraction=0.5)
    pfns, records = [], 0
    while (pfn := m.alloc_pages(0)) is not None:
        pfns.append(pfn)
        records += 1
        if records % 64 == 0:
            rt.observe(records)
    for _ in range(3):                                            # keeps failing: still one alert
        assert m.alloc_pages(0) is None
        records += 64
        rt.observe(records)
    rt.observe(records)
    kinds = [a["alert"] for a in rt.result()["alerts"]]
    assert kinds.count("free memory below 50%") == 1 and kinds.count("allocations failing") == 1
    assert any("min watermark" in k for k in kinds)
    assert [s["records"] for s in rt.result()["snapshots"]][-2:] == [records - 64, records]
    for pfn in pfns:                                              # recovery, then a second episode
        m.free_pages(pfn, 0)
    rt.observe(records + 64)
    assert rt.result()["snapshots"][-1]["free_rate"] > 0


def test_ring_buffer_is_bounded():
    rt = RealtimeTracker(Machine(nodes=1, node_mem="4M"), capacity=8)
    for i in range(20):
        rt.observe(i * 10)
    snaps = rt.result()["snapshots"]
    assert len(snaps) == 8 and snaps[0]["records"] == 120


def test_monitor_prints_a_line_per_interval_and_alerts(tmp_path, capsys):
    assert main(["monitor", "memory-pressure", "--alerts", "--interval", "5000", "--out", str(tmp_path),
                 "--set", "workload.ops=20000"]) == 0
    out = capsys.readouterr().out.splitlines()
    lines = [line for line in out if line.startswith("base")]
    assert [int(line.split()[1].replace(",", "")) for line in lines] == [5000, 10000, 15000, 20000]
    assert any(line.strip().startswith("ALERT at record") and "allocations failing" in line for line in out)
    assert (tmp_path / "report.json").exists()
    assert main(["monitor", "memory-pressure", "--alerts", "--interval", "5000", "--out", str(tmp_path),
                 "--set", "workload.ops=20000", "--set", "profile.alert_free_fraction=0.5"]) == 0
    assert "free memory below 50%" in capsys.readouterr().out     # the scenario's threshold is used


def _timed_trace(tmp_path):
    """Page churn with 1 ms of simulated time every 10 records, written as a trace file."""
    from kernel_model import Op, trace
    from sim.workloads import page_churn

    t = page_churn(3000, 500, seed=2)
    rec = np.zeros(len(t) + len(t) // 10, t.records.dtype)
    time_at = np.arange(10, len(rec), 11)[: len(t) // 10]
    keep = np.ones(len(rec), bool)
    keep[time_at] = False
    rec[keep], rec["op"][time_at], rec["arg1"][time_at] = t.records, Op.TIME, 1_000_000
    path = tmp_path / "timed.mtr"
    trace.save(path, trace.Trace(rec, t.sites, t.nr_ids))
    return path, rec


def test_time_boundaries_split_at_each_interval_of_simulated_time(tmp_path):
    from kernel_model import Trace
    from sim.driver import replay_in_chunks, time_boundaries

    _, rec = _timed_trace(tmp_path)
    t = Trace(rec, [""], int(rec["id"][rec["id"] != 0xFFFFFFFF].max()) + 1)
    ends = time_boundaries(t, 5_000_000)          # every 5 ms: after every 5th TIME record
    assert ends.tolist() == [11 * k * 5 for k in range(1, len(ends))] + [len(rec)]
    m = Machine(nodes=1, node_mem="8M")
    seen = []

    class Clock:
        def observe(self, records):
            seen.append((records, m.now_ns()))

    replay_in_chunks(m, t, every_ns=5_000_000, observers=[Clock()])
    assert [ns for _, ns in seen[:-1]] == [5_000_000 * k for k in range(1, len(seen))]


def test_monitor_interval_in_simulated_time(tmp_path, capsys):
    path, rec = _timed_trace(tmp_path)
    sc = tmp_path / "timed.toml"
    sc.write_text(f'[machine]\nnodes = 1\nnode_mem = "8M"\ncpus_per_node = 2\n[workload]\ngenerator = "trace"\n'
                  f'file = "{path}"\n'
                  '[profile]\ninterval = 100\nprofilers = ["fragmentation", "realtime"]\n')
    assert main(["monitor", str(sc), "--interval", "20ms", "--out", str(tmp_path / "o")]) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("base")]
    assert [line[1] for line in lines[:3]] == ["0.020s", "0.040s", "0.060s"]
    snaps = json.loads((tmp_path / "o" / "report.json").read_text())["variants"][0]["realtime"]["snapshots"]
    assert [s["time_ns"] for s in snaps[:2]] == [20_000_000, 40_000_000]
    assert main(["monitor", str(sc), "--interval", "2h", "--out", str(tmp_path / "o")]) == 2
    assert "invalid duration '2h'" in capsys.readouterr().err
