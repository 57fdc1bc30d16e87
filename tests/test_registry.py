"""The pipeline's registries: a profiler declared in a test file reaches the summary, report.json,
report.html and the timeline with no other module touched; options are checked with the scenario."""

from __future__ import annotations

import json

import pytest

from sim.fields import Field, Int
from sim.profilers import REGISTRY, Profiler, Section, register, unregister
from sim.report.metrics import metrics
from sim.report.text import summary
from sim.scenario import ScenarioError, load, run_scenario


class PeakPcpFree:
    """Counts snapshots and remembers the most free pages seen: a small sampling profiler."""

    def __init__(self, machine, scale: int) -> None:
        self.machine, self.scale, self.samples, self.peak = machine, scale, 0, 0

    def take(self, snaps) -> None:
        self.samples += len(snaps)
        self.peak = max(self.peak, int(snaps.free_pages.sum(axis=1).max()) if len(snaps) else 0)

    def result(self) -> dict:
        return {"version": 1, "unit": "pages", "samples": self.samples, "peak_free_scaled": self.peak * self.scale}


@pytest.fixture
def peak_profiler():
    register(Profiler(
        "peak_free", "Peak free memory", lambda ctx: PeakPcpFree(ctx.machine, ctx.options["peak_scale"]),
        options=(Field("peak_scale", Int(1, 10), 1, "multiplies the peak"),),
        summary=lambda r: f"peak free {r['peak_free_scaled']:,} (x{r['samples']} samples)",
        section=lambda r: Section([("peak free pages (scaled)", f"{r['peak_free_scaled']:,}")],
                                  [("Samples", [{"samples": r["samples"]}])]),
        timeline=lambda r, track: track.instant("peak", 0, {"pages": r["peak_free_scaled"]}),
        metrics=lambda r: {"peak": r["peak_free_scaled"]}))
    yield
    unregister("peak_free")


def test_a_profiler_registered_here_reaches_every_output(tmp_path, peak_profiler):
    result = run_scenario("fragmentation", ["workload.ops=20000", "profile.profilers=['peak_free']",
                                            "profile.peak_scale=3"], out=tmp_path)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report == result.report
    for v in report["variants"]:
        r = v["peak_free"]
        assert r["samples"] > 1 and r["peak_free_scaled"] % 3 == 0 and r["peak_free_scaled"] > 0
        assert "fragmentation" in v                      # the always-on profiler still runs
    text = summary(report)
    assert f"peak free {report['variants'][0]['peak_free']['peak_free_scaled']:,}" in text
    html = (tmp_path / "report.html").read_text()
    assert "<h2>Peak free memory</h2>" in html and "peak free pages (scaled)" in html
    figures = metrics(report)
    assert {v: m["peak_free.peak"] for v, m in figures.items()} == \
        {v["name"]: v["peak_free"]["peak_free_scaled"] for v in report["variants"]}
    on = report["variants"][0]
    assert figures[on["name"]]["fragmentation.health_score"] == on["fragmentation"]["health_score"]
    events = json.loads((tmp_path / "trace.json").read_text())["traceEvents"]
    assert [e["args"]["pages"] for e in events if e["name"] == "peak"] == \
        [v["peak_free"]["peak_free_scaled"] for v in report["variants"]]


def test_profiler_options_are_checked_with_the_scenario(peak_profiler):
    with pytest.raises(ScenarioError, match=r"--set profile.peak_scale: expected an integer in 1..10, got 11"):
        load("fragmentation", ["profile.peak_scale=11"])
    spec = load("fragmentation", ["profile.profilers=['peak_free']"])
    assert spec.profile.options["peak_free"] == {"peak_scale": 1}     # the default
    assert spec.profile.profilers == ("fragmentation", "peak_free")   # registry order


def test_registry_refuses_a_second_profiler_of_a_name_or_an_option_taken():
    with pytest.raises(ValueError, match="already registered"):
        register(Profiler("slab", "x", lambda ctx: None))
    with pytest.raises(ValueError, match="option 'stack_size' is already 'stack'"):
        register(Profiler("other", "x", lambda ctx: None, options=(Field("stack_size", Int(), 1),)))
    assert "other" not in REGISTRY


def test_an_experiment_listed_as_a_profiler_says_where_it_belongs():
    with pytest.raises(ScenarioError, match="'numa_what_if' is an experiment .*profile.experiments"):
        load("numa-policies", ["profile.profilers=['numa_what_if']"])


def test_series_keep_the_latest_state_and_every_sum():
    from sim.profilers.series import Series

    s = Series(states=("free",), sums=("misses",), max_points=4)
    for i in range(1, 6):
        s.append(i * 10, free=i, misses=1)
    # five samples halve to three: (10,20) (30,40) and the unpaired latest, which stays
    assert s.records == [20, 40, 50] and s["free"] == [2, 4, 5] and s["misses"] == [2, 2, 1]
    s.extend([60, 70], free=[6, 7], misses=[1, 1])   # 60 completes a point of two samples; 70 starts one
    assert s.records == [20, 40, 60, 70] and s["free"] == [2, 4, 6, 7] and s["misses"] == [2, 2, 2, 1]


def test_a_long_series_stays_evenly_spaced_over_the_whole_run():
    """Batches of samples (as sampling profilers get them) merge into points of equal span: the
    chart of a 100 M-record run starts at its beginning."""
    from sim.profilers.series import Series

    s = Series(states=("free",), sums=("misses",), max_points=200)
    for batch in range(100):
        records = [10_000 * (100 * batch + i) for i in range(1, 101)]
        s.extend(records, free=records, misses=[1] * 100)
    gaps = {b - a for a, b in zip(s.records, s.records[1:-1], strict=False)}
    assert 100 < len(s) <= 200 and gaps == {s.records[0]} and s.records[-1] == 100_000_000
    assert s["free"] == s.records and sum(s["misses"]) == 10_000
