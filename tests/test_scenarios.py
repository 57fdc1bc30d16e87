"""Scenarios: the shipped ones run, reports are reproducible, bad files give one error line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from sim.cli import main
from sim.report.text import summary
from sim.scenario import build_workload, load, run_scenario
from sim.workloads.object_graph import planted_leaks

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "docs" / "report.schema.json").read_text())
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def test_fragmentation_scenario_shows_the_effect_of_mobility_grouping(tmp_path, capsys):
    assert main(["run", str(SCENARIOS / "fragmentation.toml"), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "grouping-on" in out and f"report: {tmp_path}/report.json" in out
    report = json.loads((tmp_path / "report.json").read_text())
    on, off = report["variants"]
    blocks = [sum(p["free_blocks_order_ge_9"] for p in v["fragmentation"]["final"]) for v in (on, off)]
    assert blocks[0] > 2 * blocks[1]                     # Linux's anti-fragmentation result
    assert on["fragmentation"]["health_score"] > off["fragmentation"]["health_score"]
    assert (tmp_path / "grouping-on.pagetypeinfo.txt").read_text().startswith("Page block order: 9")


def sc_profilers(name: str) -> list[str]:
    return list(load(SCENARIOS / f"{name}.toml").profile.profilers)


def test_trace_derived_names_are_escaped_in_the_html(tmp_path):
    from kernel_model import Op, Trace, trace

    hostile = '<img src=x onerror="alert(1)">'
    rec = trace.empty(200)
    for i in range(100):
        rec[2 * i] = (Op.KMALLOC, 0, 0, 1, i, 40, trace.NO_NODE)
        rec[2 * i + 1] = (Op.KFREE, 0, 0, 0, i, 0, 0)
    trace.save(tmp_path / "t.mtr", Trace(rec, ["", hostile], nr_ids=100))
    (tmp_path / "s.toml").write_text('[scenario]\nname = "t"\n[machine]\nnodes = 1\nnode_mem = "16M"\n'
                                     '[workload]\ngenerator = "trace"\nfile = "t.mtr"\n'
                                     '[profile]\nprofilers = ["fragmentation", "patterns"]\n')
    report = run_scenario(tmp_path / "s.toml", out=tmp_path / "out").report
    assert report["variants"][0]["patterns"]["call_sites"][0]["call_site"] == hostile
    html = (tmp_path / "out" / "report.html").read_text()
    assert hostile not in html and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def validate_report(report: dict) -> None:
    jsonschema.validate(report, SCHEMA, format_checker=jsonschema.FormatChecker())


def test_report_schema_is_checked_and_catches_a_broken_report(tmp_path):
    run_scenario(SCENARIOS / "fragmentation.toml", ["workload.ops=20000"], out=tmp_path)
    report = json.loads((tmp_path / "report.json").read_text())
    validate_report(report)
    del report["variants"][0]["fragmentation"]["health_score"]
    with pytest.raises(jsonschema.ValidationError, match="health_score"):
        validate_report(report)


def test_same_file_and_seed_same_report(tmp_path):
    sc = load(SCENARIOS / "fragmentation.toml", ["workload.ops=30000"])
    run_scenario(sc, out=tmp_path / "a")
    run_scenario(SCENARIOS / "fragmentation.toml", ["workload.ops=30000"], out=tmp_path / "b")
    for name in ("report.json", "trace.json", "report.html"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    run_scenario(SCENARIOS / "fragmentation.toml", ["workload.ops=30000"], out=tmp_path / "c", seed=2)
    assert (tmp_path / "a" / "report.json").read_bytes() != (tmp_path / "c" / "report.json").read_bytes()


@pytest.mark.parametrize("text,message", [
    ("[machine]\ncolour = 1\n[workload]\ngenerator = 'page_churn'\n", ":2: unknown key machine.colour"),
    ("[workload]\ngenerator = 'nope'\n", ":2: unknown generator 'nope'"),
    ("[workload]\ngenerator = 'page_churn'\nops = 10\nspeed = 3\n", ":4: generator 'page_churn' takes no key 'speed'"),
    ("[nonsense]\n", ":1: unknown section [nonsense]"),
    ("[workload]\ngenerator = 'page_churn'\nops = 10\noccupancy_pages = 2\n[[variant]]\nname = 'a'\n"
     "machine = { colour = 1 }\n", ":7: unknown key machine.colour in variant 'a'"),
    ("[workload\n", "Expected ']'"),
    ("[machine]\nnode_mem = '12Q'\n[workload]\ngenerator = 'page_churn'\nops = 100\noccupancy_pages = 10\n",
     "invalid size"),
])
def test_bad_scenarios_are_one_line_with_file_line_and_key(tmp_path, capsys, text, message):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    assert main(["run", str(p), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(p) in err and message in err


def test_unknown_scenario_name_lists_the_available_ones():
    import subprocess

    r = subprocess.run(["make", "-s", "scenario", "NAME=nope"], cwd=SCENARIOS.parent, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode != 0 and "unknown scenario 'nope'" in r.stderr and "fragmentation" in r.stderr


def test_html_report_is_self_contained_escaped_and_charts_are_deterministic(tmp_path):
    text = (SCENARIOS / "fragmentation.toml").read_text().replace("grouping-on", "<script>alert(1)</script>")
    p = tmp_path / "x.toml"
    p.write_text(text)
    for out in ("a", "b"):
        run_scenario(p, ["workload.ops=30000"], out=tmp_path / out)
    html = (tmp_path / "a" / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # self-contained: the charts are inline, nothing is loaded from elsewhere, one script of our own
    charts = sorted(p.name for p in (tmp_path / "a" / "charts").iterdir())
    assert html.count("<svg") == len(charts) >= 2 and "<?xml" not in html
    assert not any(s in html for s in ("<link", "@import", "url(http")) and "<img" not in html
    assert not re.search(r'(src|href)="(?!data:image/png;|#)', html)   # only inline images and in-page links
    assert html.count("<script") == 1 and "default-src 'none'" in html
    for chart in charts:
        a, b = (tmp_path / d / "charts" / chart for d in ("a", "b"))
        assert a.read_bytes() == b.read_bytes() and a.read_text().startswith("<?xml")


@pytest.mark.parametrize("name,overrides", [
    ("slab-churn", ["workload.ops=40000", "workload.live_objects=4000"]),
    ("numa-policies", ["workload.objects=4000", "workload.accesses=40000"]),
    ("cache-thrash", ["workload.accesses=40000"]),
    ("stack-depth", ["workload.excursions=4000"]),
    ("memory-pressure", ["workload.ops=20000"]),
    ("leak", ["workload.operations=12000", "workload.population=400"]),
    ("false-sharing", ["workload.updates=5000"]),
    ("cache-alignment", []),
])
def test_every_shipped_scenario_runs_end_to_end(tmp_path, name, overrides):
    report = run_scenario(SCENARIOS / f"{name}.toml", overrides, out=tmp_path).report
    validate_report(json.loads((tmp_path / "report.json").read_text()))
    html = (tmp_path / "report.html").read_text()
    titles = {"slab": "Slab", "patterns": "Allocation patterns", "cache": "Caches", "numa": "NUMA",
              "stack": "Stacks", "realtime": "Real-time tracker", "leaks": "Leaks"}
    enabled = [titles[p] for p in sc_profilers(name) if p in titles]
    assert enabled and all(f"<h2>{t}</h2>" in html for t in enabled)   # each profiler has its section
    assert all(v["replay"]["errors"] == 0 for v in report["variants"])
    assert (tmp_path / "report.html").exists() and summary(report)
    slug = report["variants"][0]["name"]
    numastat = (tmp_path / f"{slug}.node0.numastat.txt").read_text().split()
    assert numastat[0::2][:6] == ["numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node",
                                  "other_node"]
    first = report["variants"][0]
    if name == "slab-churn":
        assert first["slab"]["total_loss"] > 0 and first["slab"]["total_kmalloc_rounding"] > 0
        # the analyzer works from the trace alone, yet agrees with the model's kmalloc counters
        assert first["patterns"]["kmalloc_rounding_waste"] == first["slab"]["total_kmalloc_rounding"]
        assert first["patterns"]["allocs"] + first["patterns"]["frees"] == report["records"]
    if name == "numa-policies":
        costs = {row["id"]: row["access_cost_ns"] for row in report["numa_what_if"]["table"]}
        assert costs["local"] < costs["interleave"] and report["numa_what_if"]["recommendation"]["policy"]
        assert 0 < first["numa"]["locality"] < 1
    if name == "stack-depth":
        shallow, deep = (v["stack"] for v in report["variants"])
        assert sum(c["overflows"] for c in shallow["cpus"]) == 0 < sum(c["overflows"] for c in deep["cpus"])
        assert deep["deepest_chain"]["bytes"] > 16384 and deep["kstack_buckets"]["kstack_32k"] > 0
        assert deep["largest_frames"][0] == {"function": "ext4_mpage_readpages", "bytes": 512}
    if name == "cache-thrash":
        by_name = {v["name"]: v["cache"] for v in report["variants"]}
        assert [p["call_site"] for p in by_name["strided"]["prefetch_candidates"]] == ["objects:owner_access"]
        assert by_name["random"]["prefetch_candidates"] == []
        l3 = [c for k, c in by_name["random"]["caches"].items() if k.endswith("L3")][0]
        assert l3["misses"] > 0
    if name == "leak":
        lk = first["leaks"]
        spec = load(SCENARIOS / "leak.toml", overrides)
        truth = planted_leaks(build_workload(spec, spec.workload, report["seed"]))
        found = {k: {x["id"] for x in lk["leaks"] if x["kind"] == k} for k in truth}
        assert found == truth
        assert {k: len(ids) for k, ids in truth.items()} == {"definitely_lost": 8, "indirectly_lost": 4,
                                                             "possibly_lost": 4}
        assert lk["leaks_total"] == sum(map(len, truth.values()))
        # kmemleak: every unreferenced plant reported once (interior pointers count as references)
        reported = sorted(r["id"] for r in lk["kmemleak"]["reports"])
        assert reported == sorted(truth["definitely_lost"] | truth["indirectly_lost"])
        suspects = [g["site"] for g in lk["growth_suspects"]]   # fastest growth first
        assert suspects[0] == "cache:grow" and not {"node_alloc", "buffer_alloc"} & set(suspects)
    if name == "false-sharing":
        adjacent, padded = ({**v["cache"]["coherence"], "amat": v["cache"]["latency"]["amat_ns"]}
                            for v in report["variants"])
        assert adjacent["false_sharing_share"] > 0.9 and adjacent["lines"][0]["pad_bytes"] == 112
        assert padded["false_sharing"] == 0 < padded["true_sharing"] < adjacent["coherence_misses"] / 10
        assert padded["amat"] < adjacent["amat"] / 2
        assert "Lines with coherence misses" in html and "AMAT per CPU" in html
        assert report["report"]["answer"] and not report["report"].get("missing")
    if name == "cache-alignment":
        packed, padded = (v["cache"]["alignment"] for v in report["variants"])
        assert packed["straddling"] * 2 == packed["placements"] and padded["straddling"] == 0
        assert packed["classes"][0]["fixed_slot"] == padded["classes"][0]["slot"] == 64
        amat = [v["cache"]["latency"]["amat_ns"] for v in report["variants"]]
        assert amat[0] > amat[1]          # a straddling copy looks up two lines
    if name == "memory-pressure":
        rt = first["realtime"]
        alerts = [a["alert"] for a in rt["alerts"]]
        assert alerts[0] == "free memory below 10%" and "allocations failing" in alerts
        below = next(a["records"] for a in rt["alerts"] if a["alert"].startswith("free memory"))
        failing = next(a["records"] for a in rt["alerts"] if a["alert"] == "allocations failing")
        assert below < failing      # the pressure alert comes before the failures it warns of
        assert rt["snapshots"][1]["trend"] < 0 and rt["snapshots"][1]["records_to_exhaustion"] > 0
        timeline = json.loads((tmp_path / "trace.json").read_text())
        instants = [(e["name"], e["ts"]) for e in timeline["traceEvents"] if e["ph"] == "i"]
        assert instants == [(a["alert"], a["records"]) for a in rt["alerts"]]


def test_perfetto_timeline_has_a_track_per_variant_counters_and_phase_markers(tmp_path):
    report = run_scenario(SCENARIOS / "fragmentation.toml", ["workload.ops=20000"], out=tmp_path).report
    events = json.loads((tmp_path / "trace.json").read_text())["traceEvents"]
    assert [e["args"]["name"] for e in events if e["ph"] == "M"] == ["grouping-on", "grouping-off"]
    assert all(e["ph"] in "MCi" and (e["ph"] == "M" or isinstance(e["ts"], int)) for e in events)
    for pid, v in enumerate(report["variants"], start=1):
        free = [(e["ts"], e["args"]["node0"]) for e in events if e["pid"] == pid and e["name"] == "free pages"]
        assert free == [(ts, snap[0]["free_pages"]) for ts, snap in
                        zip(v["fragmentation"]["records"], v["fragmentation"]["series"], strict=True)]
        phase = [e for e in events if e["pid"] == pid and e["ph"] == "i"]
        assert [(e["name"], e["ts"]) for e in phase] == [("phase reclaim", v["phases"][0]["record"])]


def test_all_shipped_scenarios_are_tested():
    shipped = {p.stem for p in SCENARIOS.glob("*.toml")}
    assert shipped == {"fragmentation", "slab-churn", "numa-policies", "cache-thrash", "stack-depth",
                       "memory-pressure", "leak", "false-sharing", "cache-alignment",
                       "linux-trace",                              # linux-trace: tests/test_ftrace.py
                       "guest-numa", "guest-leak",                 # guests: tests/test_guest.py
                       "leak-classes", "task-stacks", "thermal",   # tests/test_leak_classes.py, test_task_stacks.py,
                       "numa-migration"}                           # test_thermal.py, test_migration.py
