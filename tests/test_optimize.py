"""The closed-loop optimisers: the size-class cost model's dynamic programme against brute force,
its inputs against the trace, the measured result never worse than Linux's classes, a workload
whose best classes and weights are known by construction, dedicated caches measured, the NUMA
what-if's configurations, and the command line."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_model import Machine, Op, Topology, trace
from kernel_model.machine import LINUX_KMALLOC_CLASSES
from kernel_model.reference.slab import calculate_order
from kernel_model.trace import NO_NODE, empty
from sim.cli import main
from sim.experiments import dedicated_caches, numa_weights, size_classes
from sim.experiments.class_dp import InfeasibleError, fewest_classes, minimal_classes, range_costs
from sim.experiments.kmalloc_profile import lifetimes, size_profile
from sim.experiments.numa_what_if import what_if
from sim.experiments.rerun import Rerun
from sim.profilers.patterns import analyze
from sim.workloads import kmalloc_churn

SMALL = dict(nodes=1, node_mem="64M", cpus_per_node=2)
SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "report.schema.json").read_text())
mixes = st.lists(st.integers(1, 16).map(lambda k: 8 * k), min_size=1, max_size=6, unique=True)


def churn(sizes, weights=None, n=6000, live=300, seed=0, cpus=2):
    return kmalloc_churn(n, live, cpus=cpus, sizes=sizes, weights=weights, seed=seed)


def set_cost(profile, classes, nr_cpus=2, max_waste=None):
    """(pages, waste) of a class set by the cost model's definition, computed directly: each class
    serves the buckets above the class below it; its slabs (the reference SLUB's calculate_order)
    hold the most of their objects live at once; waste is bytes given minus requested then. None
    if a class rounds a bucket up by more than max_waste of itself."""
    b = [int(x) for x in profile.buckets]
    pages = waste = 0
    for lower, c in zip((0, *classes), classes, strict=False):
        mine = [i for i, x in enumerate(b) if lower < x <= c]
        if not mine:
            continue
        if max_waste is not None and c - b[mine[0]] > max_waste * c + 1e-9:
            return None
        live = profile.live[:, mine].sum(axis=1)
        w = int(live.argmax())
        order = calculate_order(c, nr_cpus)
        pages += -(-int(live[w]) // ((4096 << order) // c)) << order
        waste += int(round(int(live[w]) * c - sum(profile.live[w, i] * profile.mean_size[i] for i in mine)))
    return pages, waste


def brute_force(profile, k, limit, max_waste):
    """The least (pages, waste, number of classes) over every set of at most k multiples of 8 up to
    limit that serves every bucket."""
    best = None
    for n in range(1, k + 1):
        for classes in itertools.combinations(range(8, limit + 1, 8), n):
            cost = set_cost(profile, classes, max_waste=max_waste) if classes[-1] >= profile.buckets[-1] else None
            if cost is not None and (best is None or (*cost, n) < best):
                best = (*cost, n)
    return best


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=mixes, weights=st.lists(st.integers(1, 9), min_size=6, max_size=6), k=st.integers(1, 3),
       waste=st.sampled_from([None, 0.15, 0.4]), seed=st.integers(0, 1000))
def test_dp_finds_the_brute_force_optimum(sizes, weights, k, waste, seed):
    """The dynamic programme's set costs what the best of every set of at most k classes costs, by
    the same cost model computed independently (classes up to 136 bytes, so brute force is cheap)."""
    t = churn(sizes, weights[:len(sizes)], seed=seed)
    profile = size_profile(lifetimes(t), len(t))
    costs = range_costs(profile, 2, limit=136, max_waste=waste)
    best = brute_force(profile, k, 136, waste)
    if best is None:
        assert not 0 < fewest_classes(costs) <= k
        with pytest.raises(InfeasibleError):
            minimal_classes(costs, k)
        return
    classes = minimal_classes(costs, k)
    assert (*set_cost(profile, classes, max_waste=waste), len(classes)) == best, classes


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(1, 300), min_size=1, max_size=5), seed=st.integers(0, 1000))
def test_range_peaks_are_the_most_objects_live_at_once(sizes, seed):
    """Every run of size buckets: the peak the profile gives is the most of its objects live after
    any record, replayed by hand from the trace."""
    t = churn(sizes, n=3000, live=150, seed=seed)
    profile = size_profile(lifetimes(t), len(t))
    assert profile.exact
    peak, _ = profile.range_peaks
    bucket = {int(s): int(np.searchsorted(profile.buckets, (s + 7) // 8 * 8)) for s in sizes}
    live_ids, counts = {}, np.zeros(len(profile.buckets), np.int64)
    best = np.zeros_like(peak)
    for op, ident, size in zip(t.records["op"].tolist(), t.records["id"].tolist(), t.records["arg0"].tolist(),
                               strict=True):
        if op == Op.KMALLOC:
            live_ids[ident] = bucket[size]
            counts[bucket[size]] += 1
        elif op == Op.KFREE and ident in live_ids:
            counts[live_ids.pop(ident)] -= 1
        total = np.concatenate([[0], np.cumsum(counts)])
        for i in range(len(counts)):
            best[i, i:] = np.maximum(best[i, i:], total[i + 1:] - total[i])
    assert (np.triu(peak) == np.triu(best)).all()


def test_slab_usage_peak_and_average_over_the_records():
    """The core's slab usage: the peak, the record that first reaches it and the average over the
    records, as a record-by-record replay sees the kmalloc slab pages."""
    t = churn([24, 100, 900, 3000], n=8000, live=800, seed=4)
    whole = Machine(**SMALL)
    whole.replay(t)
    step = Machine(**SMALL)
    pages = []
    for i in range(len(t)):
        step.replay(t.records[i:i + 1])
        pages.append(step.slab_usage()["kmalloc"]["pages"])
    u = whole.slab_usage()["kmalloc"]
    assert u["peak_pages"] == max(pages) and u["peak_record"] == pages.index(max(pages))
    assert u["page_records"] == sum(pages) and u["avg_pages"] == pytest.approx(sum(pages) / len(pages))
    assert whole.slab_usage()["all"]["peak_pages"] == u["peak_pages"]   # no other cache


def test_known_classes_are_recovered():
    """Sizes clustered at 40, 200 and 1000 bytes: three classes fit exactly those, and measure better
    than Linux's and four per doubling."""
    sizes = [34, 38, 40, 193, 196, 200, 1000]
    t = churn(sizes, [3, 3, 4, 2, 2, 3, 3], n=60000, live=4000, seed=7)
    result, evals = size_classes.optimise(Rerun(t, SMALL), k=3)
    assert result["classes"] == [40, 200, 1000] and result["proposals"][0]["classes"] == [40, 200, 1000]
    m = result["measured"]
    assert m["optimised"]["peak_slab_pages"] < m["four_per_doubling"]["peak_slab_pages"] < m["linux"]["peak_slab_pages"]
    assert m["optimised"]["internal_waste_bytes"] < m["linux"]["internal_waste_bytes"]
    assert evals.count == result["evaluations"] and 4 <= evals.count <= size_classes.MAX_EVALS
    again = size_classes.measure(Rerun(t, SMALL), tuple(result["classes"]))
    assert again == m["optimised"]   # the measurement is the re-run's, deterministically


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 8192), min_size=1, max_size=8, unique=True), seed=st.integers(0, 100),
       cpus=st.integers(1, 4))
def test_the_optimised_classes_never_measure_worse_than_linux(sizes, seed, cpus):
    t = churn(sizes, n=8000, live=600, seed=seed, cpus=cpus)
    rerun = Rerun(t, dict(nodes=1, node_mem="64M", cpus_per_node=cpus))
    result, _ = size_classes.optimise(rerun, max_evals=12)
    lin, opt = result["measured"]["linux"], result["measured"]["optimised"]
    assert (opt["peak_slab_pages"], opt["internal_waste_bytes"]) <= \
        (lin["peak_slab_pages"], lin["internal_waste_bytes"])
    assert len(result["classes"]) <= len(LINUX_KMALLOC_CLASSES) and result["evaluations"] <= 12
    assert all(p["measured"] == size_classes.measure(rerun, tuple(p["classes"])) for p in result["proposals"][:1])


def test_a_prediction_that_measures_worse_is_not_kept():
    """A tiny workload on 4 CPUs: ideally packed, more classes look cheaper, but every class holds an
    active slab per CPU, so the model's optimum measures worse than a set with fewer classes."""
    t = churn([24, 40, 56, 72, 100, 150, 200, 260], n=1500, live=40, seed=3, cpus=4)
    result, _ = size_classes.optimise(Rerun(t, dict(nodes=1, node_mem="64M", cpus_per_node=4)))
    model = result["proposals"][0]
    assert model["measured"]["peak_slab_pages"] > model["predicted"]["peak_slab_pages"]
    assert result["measured"]["optimised"]["peak_slab_pages"] < model["measured"]["peak_slab_pages"]
    assert result["found_by"] != "model's optimum" and "model's optimum measured" in result["verdict"]


def test_max_waste_bounds_every_class():
    t = churn([20, 40, 100, 130, 600, 700], n=20000, live=1000, seed=1)
    result, _ = size_classes.optimise(Rerun(t, SMALL), k=8, max_waste=0.2)
    buckets = sorted({(s + 7) // 8 * 8 for s in (20, 40, 100, 130, 600, 700)})
    cls = np.array(result["classes"])
    for b in buckets:
        c = int(cls[np.searchsorted(cls, b)])
        assert c - b <= 0.2 * c
    with pytest.raises(size_classes.InfeasibleError, match="needs at least 6 classes"):
        size_classes.optimise(Rerun(t, SMALL), k=3, max_waste=0.0)


def test_four_per_doubling():
    s = size_classes.four_per_doubling()
    assert s[:12] == (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128) and s[-4:] == (5120, 6144, 7168, 8192)
    assert len(s) == 36 and all(b > a for a, b in zip(s, s[1:], strict=False))
    # unused classes go first, then the least used, its requests moving up
    assert size_classes.trimmed(s, {8: 5, 16: 1, 24: 9, 8192: 1}, 3) == (8, 24, 8192)


def paged(pattern_len=3, pages=3000):
    """CPU 0 (node 0) allocates pages; of every three it touches two itself and CPU 1 (node 1) the
    third: weights 2:1 put every page on the node of the CPU that touches it."""
    n = pages
    rec = empty(n + 4 * n)
    rec["op"][:n], rec["id"][:n], rec["arg0"][:n], rec["flags"][:n] = Op.PAGE_ALLOC, np.arange(n), 0, 1
    rec["arg1"][:n] = NO_NODE
    acc = rec[n:]
    acc["op"] = Op.LOAD
    acc["id"] = np.tile(np.arange(n), 4)
    acc["arg0"], acc["arg1"] = 8, 0
    acc["cpu"] = np.where(acc["id"] % pattern_len == pattern_len - 1, 1, 0)
    return trace.Trace(rec, [""], nr_ids=n)


def test_numa_weights_find_the_known_ratio():
    topo = Topology.from_slit([[10, 20], [20, 10]], "64M", latency=[[100, 200], [200, 100]])
    result, evals = numa_weights.optimise(Rerun(paged(), {"topology": topo}), max_evals=60)
    assert result["weights"] == [2, 1] and result["table"][-1]["locality"] == 1.0
    rows = {r["policy"]: r for r in result["table"]}
    assert rows["weighted_interleave (optimised 2:1)"]["access_cost_ns"] < min(
        rows["local"]["access_cost_ns"], rows["interleave"]["access_cost_ns"])
    assert result["best"] == "weighted_interleave (optimised 2:1)" and evals.count <= 60


def test_what_if_gives_each_policy_its_parameters_and_merges_equals():
    topo = Topology.from_slit([[10, 20], [20, 10]], "64M", latency=[[100, 200], [200, 100]],
                              bandwidth=[[9000, 3000], [3000, 9000]])
    r = what_if(paged(), lambda: Machine(topology=topo), {"topology": topo}, weight_evals=40)
    names = [row["policy"] for row in r["table"]]
    assert names[0] == "local = preferred_many (all nodes)"
    # preferred to node 0 is local for CPU 0 only: a row of its own; bind to each node too
    assert {"preferred node 0", "preferred node 1", "bind node 0", "bind node 1", "interleave",
            "weighted_interleave (HMAT weights)", "weighted_interleave (optimised 2:1)"} <= set(names)
    assert r["weights"] == [2, 1] and r["recommendation"]["policy"] == "weighted_interleave (optimised 2:1)"
    one = Topology.from_slit([[10]], "64M")
    single = what_if(paged(), lambda: Machine(topology=one), {"topology": one})
    assert [row["policy"] for row in single["table"]] == [
        "local = preferred_many (all nodes) = preferred node 0 = bind node 0", "interleave"]


def test_dedicated_caches_are_measured():
    t = churn([72, 1024, 200], [5, 3, 2], n=60000, live=5000, seed=3)
    result, _ = dedicated_caches.verify(Rerun(t, SMALL))
    (row,) = result["table"]
    assert row["size"] == 72 and row["kmalloc_class"] == 96 and row["estimated_bytes_saved"] == 24 * row["calls"]
    assert row["peak_slab_pages_after"] < row["peak_slab_pages_before"] and row["measured_peak_bytes_saved"] > 0
    redirected, hints = dedicated_caches.redirected(t, 72)
    m = Machine(**SMALL)
    assert m.replay(redirected).ok and hints == 0
    assert m.slab_stats("kmem_cache-72")["objects"] > 0 and m.slab_stats("kmalloc-96")["objects"] == 0


def test_patterns_round_to_the_machines_classes():
    t = churn([20, 100, 300], n=5000, live=200, seed=2)
    m = Machine(**SMALL, kmalloc_classes=[24, 104, 304])
    m.replay(t)
    a = analyze(t, kmalloc_classes=m.kmalloc_classes)
    assert a["kmalloc_rounding_waste"] == m.slab_waste()["total_kmalloc_rounding"]
    assert a["kmalloc_rounding_waste"] < analyze(t)["kmalloc_rounding_waste"]


def test_cli_size_classes_json_and_report(tmp_path, capsys):
    assert main(["optimize", "size-classes", "slab-churn", "--set", "workload.ops=40000", "--set",
                 "workload.live_objects=3000", "--max-evals", "8", "--out", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["measured"]) == {"linux", "four_per_doubling", "optimised"} and out["evaluations"] <= 8
    for inner in (*out["measured"].values(), *out["predicted"].values()):
        assert {"peak_slab_pages", "avg_slab_pages", "internal_waste_bytes", "tail_waste_bytes"} <= set(inner)
    assert out["measured"]["optimised"]["peak_slab_pages"] <= out["measured"]["linux"]["peak_slab_pages"]
    report = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["size_classes"]["classes"] == out["classes"] and report["variants"][0]["name"] == "2-cpus"
    html = (tmp_path / "report.html").read_text()
    assert "kmalloc size classes, optimised and measured" in html
    assert (tmp_path / "charts" / "size_classes.svg").exists()


def test_cli_text_and_a_trace(tmp_path, capsys):
    path = tmp_path / "t.mtr"
    trace.save(path, churn([40, 200, 1000], n=20000, live=1000, seed=5))
    assert main(["optimize", "size-classes", str(path), "--classes", "3", "--out", str(tmp_path / "o")]) == 0
    text = capsys.readouterr().out
    assert "optimised classes: 40 200 1000" in text and "re-runs of 20,000 records in" in text
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert [v["name"] for v in report["variants"]] == ["base"] and report["size_classes"]["classes"] == [40, 200, 1000]
    # the trace ran as a scenario of its own, kept beside the report: it runs again as it is
    assert main(["run", str(tmp_path / "o" / "t.toml"), "--out", str(tmp_path / "again")]) == 0


@pytest.mark.parametrize("argv,message", [
    (["size-classes", "slab-churn", "--classes", "0"], "--classes 0"),
    (["size-classes", "slab-churn", "--max-waste", "150"], "--max-waste 150"),
    (["size-classes", "slab-churn", "--variant", "nope"], "no variant 'nope'"),
    (["size-classes", "slab-churn", "--nodes", "2"], "--nodes describes a trace's machine"),
    (["size-classes", "slab-churn", "--set", "machine.kmalloc_classes=[16, 8]"], "kmalloc class 8 comes after 16"),
    (["numa-weights", "slab-churn"], "at least 2 nodes"),
    (["size-classes", "no-such-scenario"], "no such scenario"),
])
def test_cli_bad_input_is_one_line(argv, message, capsys, tmp_path):
    assert main(["optimize", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_cli_jobs_run_on_dask_with_the_same_result(tmp_path, capsys):
    args = ["optimize", "size-classes", "slab-churn", "--set", "workload.ops=30000", "--set",
            "workload.live_objects=2000", "--max-evals", "6", "--json"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main([*args, "--out", str(tmp_path / "b"), "--jobs", "2"]) == 0
    two = json.loads(capsys.readouterr().out)
    assert two["jobs"] == 2 and {k: v for k, v in one.items() if k not in ("seconds", "jobs")} == \
        {k: v for k, v in two.items() if k not in ("seconds", "jobs")}


def test_scenario_kmalloc_classes(tmp_path):
    """[machine] kmalloc_classes reaches the machine and the firmware's command line; a bad list is one
    error naming the file and line."""
    from sim.scenario import ScenarioError, build_machine, firmware_cmdline, load

    text = ('[scenario]\nname = "k"\n[machine]\nnodes = 1\nnode_mem = "64M"\nkmalloc_classes = {}\n'
            '[workload]\ngenerator = "kmalloc_churn"\nops = 1000\nlive_objects = 100\n')
    path = tmp_path / "k.toml"
    path.write_text(text.format("[24, 40, 1024]"))
    spec = load(path)
    assert build_machine(spec).kmalloc_classes == (24, 40, 1024)
    assert firmware_cmdline(spec).endswith(" kmalloc_classes=24,40,1024")
    assert "kmalloc_classes" not in firmware_cmdline(load("slab-churn"))
    for bad, message in (("[24, 24]", "kmalloc class 24 is listed twice"), ("[]", "0 sizes given"),
                         ("[20]", "kmalloc class 20 is not a multiple of 8"), ("[8, 16384]", "16384")):
        path.write_text(text.format(bad))
        with pytest.raises(ScenarioError, match=rf"^{path}:6: .*{message}"):
            load(path)


def test_optimisers_as_scenario_experiments(tmp_path):
    """Listed in [profile] experiments, the optimisers run on the scenario's [machine] and their
    sections, charts and figures reach the report."""
    from sim.report.metrics import metrics, unit
    from sim.scenario import run_scenario

    runs = [("slab-churn", ["machine.cpus_per_node=2", "workload.ops=30000", "workload.live_objects=2000",
                            "profile.experiments=['size_classes', 'dedicated_caches']"]),
            ("numa-policies", ["workload.objects=2000", "workload.accesses=20000",
                               "profile.experiments=['numa_what_if', 'numa_weights']"])]
    for name, sets in runs:
        report = run_scenario(name, sets, out=tmp_path / name).report
        jsonschema.validate(report, SCHEMA)
        html = (tmp_path / name / "report.html").read_text()
        for figure in metrics(report)["*"]:
            assert unit(figure)
        if name == "slab-churn":
            assert report["size_classes"]["measured"]["optimised"]["peak_slab_pages"] <= \
                report["size_classes"]["measured"]["linux"]["peak_slab_pages"]
            assert "kmalloc size classes, optimised and measured" in html and "Dedicated kmem_caches" in html
        else:
            assert report["numa_weights"]["evaluations"] <= numa_weights.MAX_EVALS
            assert "Weighted-interleave weights, optimised and measured" in html
