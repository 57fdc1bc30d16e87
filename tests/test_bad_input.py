"""Issue 12's reproductions of bad input: each ends in one line naming the file, line or option and
exit status 2 (or works, where it should), never a traceback, a MemoryError or a silent change of
meaning. The fuzz tests (test_fuzz.py) cover the same inputs at random; these pin the known cases."""

from __future__ import annotations

import json
import struct

import pytest

from kernel_model import Op, Topology, TopologyError, Trace, trace
from kernel_model._core import PAGE_DESCRIPTOR_BYTES
from kernel_model.caches import CacheConfigError, CacheHierarchy, footprint
from kernel_model.mm import PAGE_SIZE
from sim.cli import main
from sim.fields import human_bytes, memory_budget
from sim.scenario import ScenarioError, load, run_scenario

BASE = '[workload]\ngenerator = "page_churn"\nops = 100\noccupancy_pages = 10\n'


def cli(capsys, *args: str) -> tuple[int, list[str]]:
    """Exit status and stderr lines of `memsim args`, run in-process."""
    rc = main([str(a) for a in args])
    return rc, capsys.readouterr().err.splitlines()


def one_error(capsys, *args: str) -> str:
    """The single stderr line of a command that must fail with exit status 2."""
    rc, err = cli(capsys, *args)
    assert rc == 2 and len(err) == 1 and err[0].startswith("memsim: error: "), (rc, err)
    return err[0]


@pytest.mark.parametrize("text,message", [
    ('machine = 5\n' + BASE, ":1: machine must be a table ([machine]), got 5"),
    ('[machine]\nnodes = "two"\n' + BASE, ":2: machine.nodes: expected an integer in 1..64, got 'two'"),
    ('[machine]\nmin_free_kbytes = -1\n' + BASE, ":2: machine.min_free_kbytes: expected an integer"),
    ('[scenario]\nseed = "abc"\n' + BASE, ":2: scenario.seed: expected an integer"),
    ('[scenario]\nseed = 1.5\n' + BASE, ":2: scenario.seed: expected an integer in 0..18,446,744,073,709,551,615, "
                                        "got 1.5"),
    ('[machine]\npcp = "no"\n' + BASE, ":2: machine.pcp: expected true or false, got 'no'"),
    (BASE + '[profile]\nprofilers = 5\n', ":6: profile.profilers: expected a list of 0..64, each a string, got 5"),
    (BASE + '[profile]\nalert_free_fraction = "x"\n', ":6: profile.alert_free_fraction: expected a number in 0..1"),
    (BASE + '[variant]\nname = "a"\n', ":5: variants are [[variant]] tables (1..256 of them)"),
    (BASE + '[[variant]]\nname = "a"\n[[variant]]\nname = "a"\n', ":8: two variants are named 'a'"),
    (BASE + '[[variant]]\nname = "a b"\n[[variant]]\nname = "a-b"\n',
     ":8: variants 'a b' and 'a-b' would write the same files (a-b.*)"),
    ('[caches]\nlevels = [{name = "L1", size = "1T", ways = 8}]\n' + BASE,
     ":2: caches.levels[0].size: '1T' is outside 1..4G"),
    ('[caches]\nlevels = [{name = "L1", size = "32K", ways = 8, allocate = "no"}]\n' + BASE,
     ":2: caches.levels[0].allocate: expected true or false, got 'no'"),
    ('[caches]\nlevels = [{name = "L1", size = "32K", ways = 8, seed = 1.5}]\n' + BASE,
     ":2: caches.levels[0].seed: expected an integer, got 1.5"),
    ('[caches]\nlevels = [{name = "L1", size = "32K", ways = 8, line_size = 48}]\n' + BASE,
     "caches.levels[0].line_size: 48 is not a power of two"),
    ('[caches]\nlevels = [{name = "L1", size = "48K", ways = 3, policy = "plru"}]\n' + BASE,
     "plru policy needs a power-of-two number of ways"),
    ('[topology]\ndistances = [[10, 20], [20, 10]]\nnode_mem = "16M"\nlatency = [[1]]\n' + BASE,
     ":4: [topology]: latency has 1 rows for 2 nodes"),
    ('[topology]\ndistances = [[10]]\nnode_mem = "16M"\nlatency = [[[1]]]\n' + BASE,
     ":4: topology.latency[0][0]: expected an integer in 1..4,294,967,295, got [1]"),
    ('[topology]\ndistances = [[10, 21.5], [21, 10]]\nnode_mem = "16M"\n' + BASE,
     ":2: topology.distances[0][1]: expected an integer in 0..255, got 21.5"),
    ('[machine]\nnode_mem = "15T"\n' + BASE, ":2: machine.node_mem: size '15T' is outside 4K..1T"),
    ('[machine]\nnodes = 16\nnode_mem = "1T"\n' + BASE,
     ":3: machine.node_mem: 16T in all; the model's 32-bit pfns (from 4G) address less than 16T - 4G"),
    ('[machine]\nnodes = 64\ncpus_per_node = 8\n' + BASE,
     ":3: machine.cpus_per_node: 64 nodes x 8 cpus_per_node = 512 CPUs; the model has at most 256"),
    ('[machine]\nnodes = 2\nnode_mem = ["1M"]\n' + BASE, ":3: machine.node_mem: 1 sizes for 2 nodes"),
    ('[workload]\ngenerator = "page_churn"\nops = inf\noccupancy_pages = 10\n',
     ":3: workload.ops: expected an integer in 0..268,435,456, got inf"),
    ('[workload]\ngenerator = "page_churn"\nops = nan\noccupancy_pages = 10\n',
     ":3: workload.ops: expected an integer"),
    ('[output]\ndir = "/etc"\n' + BASE, ":2: output.dir: '/etc' must be a relative path below the working directory"),
    ('[output]\ndir = "out/../../x"\n' + BASE, ":2: output.dir: 'out/../../x' must be a relative path below"),
    ('[scenario]\nname = "../../.."\n' + BASE, ":2: scenario.name: '../../..' must be a plain file name"),
    (BASE + '[[variant]]\nname = "a"\n[[variant]]\nname = "b"\nmachine = { nodes = 1, node_mem = "15T" }\n',
     ":9: machine.node_mem: size '15T' is outside 4K..1T in variant 'b'"),
])
def test_a_bad_scenario_is_one_line_naming_file_line_and_key(tmp_path, capsys, text, message):
    p = tmp_path / "s.toml"
    p.write_text(text)
    err = one_error(capsys, "run", p, "--out", tmp_path / "out")
    assert f"{p}{message}" in err if message.startswith(":") else message in err
    assert not (tmp_path / "out").exists()       # checked before anything runs or is written


def test_a_model_larger_than_the_host_can_hold_is_refused_at_load(tmp_path, capsys):
    """Page descriptors (and cache arrays) beyond half the host's memory: refused with the figures,
    not a MemoryError or the OOM killer later."""
    nodes = memory_budget() // ((1 << 40) // PAGE_SIZE * PAGE_DESCRIPTOR_BYTES) + 1   # 1T nodes past the budget
    if nodes > 15:
        pytest.skip("this host holds the largest model the pfn space allows")
    p = tmp_path / "s.toml"
    p.write_text(f'[machine]\nnodes = {nodes}\nnode_mem = "1T"\n' + BASE)
    err = one_error(capsys, "run", p)
    assert f"{p}:3: the machine needs" in err and "of page descriptors" in err and "half its memory" in err


def test_cache_arrays_count_against_the_host_memory(tmp_path, capsys):
    levels = '[{name = "L1", size = "4G", ways = 1, line_size = 64, classify_3c = true}]'
    _, total = footprint({"levels": [{"name": "L1", "size": "4G", "ways": 1, "classify_3c": True}]}, list(range(8)))
    p = tmp_path / "s.toml"
    p.write_text(f'[machine]\nnodes = 8\nnode_mem = "16M"\n[caches]\nlevels = {levels}\n' + BASE)
    if total <= memory_budget():
        pytest.skip("a host with this much memory holds the cache arrays")
    err = one_error(capsys, "run", p)
    assert f"{p}:4: the machine needs" in err and "of cache arrays for 8 CPUs" in err


@pytest.mark.parametrize("override,message", [
    ("machine.nodes=abc", "--set machine.nodes: expected an integer in 1..64, got 'abc'"),
    ("workload.ops=abc", "--set workload.ops: expected an integer in 1..268,435,456, got 'abc'"),
    ("machine.pcp=maybe", "--set machine.pcp: expected true or false, got 'maybe'"),
    ("machine.pcp=2", "--set machine.pcp: expected true or false, got 2"),
    ("scenario.seed=1.5", "--set scenario.seed: expected an integer"),
    ("topology.latency=[[1]]", "fragmentation.toml:1: [topology]: missing key 'distances'"),
    ("caches.levels=[{size=\"1T\",ways=1}]", "--set caches.levels[0].size: '1T' is outside 1..4G"),
    ("caches.tlb={dtlb={entries=0,ways=1}}", "--set caches.tlb.dtlb.entries: 0 is outside 1..1,048,576"),
    ("machine.node_mem=[\"1M\",\"2M\"]", "--set machine.node_mem: 2 sizes for 1 nodes"),
    ("nodes=2", "--set 'nodes=2': expected section.key=value"),
    ("variant.name=x", "--set variant.name: no section [variant] to set"),
])
def test_set_errors_name_the_option(tmp_path, capsys, override, message):
    extra = ["--set", "caches.levels=[{size=64,ways=1}]"] if override.startswith("caches.tlb") else []
    err = one_error(capsys, "run", "fragmentation", "--set", override, *extra, "--out", tmp_path)
    assert message in err


def test_non_utf8_scenario(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_bytes(BASE.encode() + b"# \xff\xfe\n")
    assert f"{p}:5: not UTF-8 text (byte 69)" in one_error(capsys, "run", p)


def test_a_misspelt_scenario_name_suggests_the_shipped_one(capsys):
    err = one_error(capsys, "run", "fragmentaton")
    assert "did you mean 'fragmentation'?" in err and "shipped: cache-" in err and "cache-thrash, " in err


def test_variant_names_are_text_in_charts_not_mathtext(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(BASE + '[[variant]]\nname = "$x^{$"\n[[variant]]\nname = "$\\\\frac{a}{b}$"\n')
    run_scenario(p, out=tmp_path / "out")
    svg = next((tmp_path / "out" / "charts").glob("*.svg")).read_text()
    assert "$x^{$" in svg and "$\\frac{a}{b}$" in svg


# -- topology descriptions -------------------------------------------------------------------------

@pytest.mark.parametrize("d,message", [
    ({"distances": 5, "node_mem": "1M"}, "distances must be a list, got 5"),
    ({"distances": [5], "node_mem": "1M"}, "distances[0] must be a list, got 5"),
    ({"distances": [["a"]], "node_mem": "1M"}, "distances[0][0]: expected an integer in 0..255, got 'a'"),
    ({"distances": [[10.5]], "node_mem": "4K"}, "distances[0][0]: expected an integer in 0..255, got 10.5"),
    ({"distances": [[10]], "node_mem": 1.5}, "node_mem 1.5 is not a size or a list of sizes"),
    ({"distances": [[10]], "node_mem": None}, "node_mem None is not a size"),
    ({"distances": [[10]], "node_mem": "4K", "cpus": 5}, "cpus must be a list, got 5"),
    ({"distances": [[10]], "node_mem": "4K", "cpus": [5]}, "cpus[0] must be a list, got 5"),
    ({"distances": [[10]], "node_mem": "4K", "cpus": [[-1]]}, "cpus[0]: expected an integer"),
    ({"distances": [[10]], "node_mem": "4K", "latency": 5}, "latency must be a list, got 5"),
    ({"distances": [[10]], "node_mem": "4K", "latency": [["x"]]}, "latency[0][0]: expected an integer"),
    ({"distances": [[10, 20], [20, 10]], "node_mem": "4K", "latency": [[1]]}, "latency has 1 rows for 2 nodes"),
    ({"distances": [[10]], "node_mem": "4K", "bandwidth": [[-1]]}, "bandwidth[0][0]: expected an integer in 1.."),
    ("x", "expected a table, got 'x'"),
])
def test_topology_descriptions_are_checked_value_by_value(d, message):
    with pytest.raises(TopologyError) as e:
        Topology.from_dict(d)
    assert message in str(e.value)


def test_topology_toml_that_is_not_utf8_or_not_a_table(tmp_path):
    p = tmp_path / "t.toml"
    p.write_bytes(b"[topology]\ndistances = [[10]]\n# \xff\n")
    with pytest.raises(TopologyError, match="not UTF-8"):
        Topology.from_toml(p)
    p.write_text("topology = 5\n")
    with pytest.raises(TopologyError, match="expected a table, got 5"):
        Topology.from_toml(p)


# -- cache configurations --------------------------------------------------------------------------

@pytest.mark.parametrize("config,message", [
    ({"levels": [{"size": "1T", "ways": 8}]}, "levels[0].size: '1T' is outside 1..4G"),
    ({"levels": [{"size": "32K", "ways": 0}]}, "levels[0].ways: 0 is outside 1..65,536"),
    ({"levels": [{"size": 4294967296 * 2, "ways": 1}]}, "outside 1..4G"),
    ({"levels": [{"size": "32K", "ways": "8"}]}, "levels[0].ways: expected an integer, got '8'"),
    ({"levels": [{"size": "32K", "ways": 8, "line_size": 1 << 20}]}, "line_size: 1,048,576 is outside 1..4,096"),
    ({"levels": [{"size": "32K", "ways": 8, "classify_3c": "yes"}]}, "classify_3c: expected true or false"),
    ({"levels": [{"size": "32K", "ways": 8, "policy": 5}]}, "policy: expected a string, got 5"),
    ({"levels": "L1"}, "'levels' must be a list"),
    ({"levels": [5]}, "levels[0]: expected a table, got 5"),
    ({"levels": [{"size": "32K", "ways": 8}], "tlb": 5}, "tlb: expected a table, got 5"),
    ({"levels": [{"size": "32K", "ways": 8}], "tlb": {"dtlb": {"entries": 1 << 40, "ways": 4}}},
     "tlb.dtlb.entries: 1,099,511,627,776 is outside 1..1,048,576"),
    ({"levels": [{"size": "32K", "ways": 8}], "llc": "everywhere"}, "llc: expected one of 'node', 'shared', 'cpu'"),
])
def test_cache_geometry_is_bounded_before_anything_is_allocated(config, message):
    with pytest.raises(CacheConfigError) as e:
        CacheHierarchy(config)
    assert message in str(e.value)


def test_cache_footprint_counts_private_levels_per_cpu_and_the_llc_per_node():
    config = {"levels": [{"name": "L1", "size": "32K", "ways": 8}, {"name": "L2", "size": "1M", "ways": 16}]}
    instances, nbytes = footprint(config, [0, 0, 1, 1])
    l1, l2 = (32 << 10) // 64 * 8 + 64 * 8, (1 << 20) // 64 * 8 + 1024 * 8   # tags + PLRU words
    assert (instances, nbytes) == (4 + 2, 4 * l1 + 2 * l2)
    assert footprint({**config, "llc": "shared"}, [0, 0, 1, 1]) == (5, 4 * l1 + l2)


# -- traces ----------------------------------------------------------------------------------------

def _kmalloc_trace(sites: list[str], site_ids: list[int]) -> Trace:
    rec = trace.empty(2 * len(site_ids))
    for i, site in enumerate(site_ids):
        rec[i] = (Op.KMALLOC, 0, 0, site, i, 64, trace.NO_NODE)
    for i in range(len(site_ids) // 2):      # half of them freed: the rest leak
        rec[len(site_ids) + i] = (Op.KFREE, 0, 0, 0, i, 0, 0)
    return Trace(rec[: len(site_ids) + len(site_ids) // 2], sites)


def test_site_ids_past_the_string_table_are_bounded_and_named(tmp_path):
    """The leak profiler counted per site id: site 0xF0000000 was a 30 GiB bincount, a site past the
    table a ValueError. Now counts are over the ids used and unnamed sites are named by number."""
    ids = [1, 0xF0000000, 5, 1, 0xF0000000, 5] * 50
    trace.save(tmp_path / "t.mtr", _kmalloc_trace(["", "named"], ids))
    (tmp_path / "s.toml").write_text('[machine]\nnodes = 1\nnode_mem = "16M"\n[workload]\ngenerator = "trace"\n'
                                     'file = "t.mtr"\n[profile]\ninterval = 50\n'
                                     'profilers = ["fragmentation", "slab", "leaks", "patterns", "realtime"]\n')
    report = run_scenario(tmp_path / "s.toml", write=False).report
    leaks = report["variants"][0]["leaks"]
    sites = {r["site"] for r in leaks["by_site"]}
    assert sites == {"named", str(0xF0000000), "5"}
    assert sum(r["objects"] for r in leaks["by_site"]) == len(ids) - len(ids) // 2


def test_replay_of_a_trace_declaring_too_many_ids_is_one_error(tmp_path, capsys):
    path = tmp_path / "big.mtr"
    trace.save(path, _kmalloc_trace([""], [0] * 4))
    raw = bytearray(path.read_bytes())
    struct.pack_into("<I", raw, 24, (1 << 28) + 1)      # the header's nr_ids
    path.write_bytes(raw)
    err = one_error(capsys, "replay", path)
    assert f"{path}: the header declares 268,435,457 object ids; the model holds at most 268,435,456" in err
    (tmp_path / "s.toml").write_text(f'[workload]\ngenerator = "trace"\nfile = "{path}"\n')
    with pytest.raises(ScenarioError, match=":3: .*big.mtr: the header declares 268,435,457 object ids"):
        run_scenario(tmp_path / "s.toml", write=False)


def test_spec_checks_every_variant_before_any_runs(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(BASE + '[[variant]]\nname = "a"\n[[variant]]\nname = "b"\nmachine = { cpus_per_node = 200 }\n')
    with pytest.raises(ScenarioError, match=r":9: machine.cpus_per_node: 2 nodes x 200 cpus_per_node = 400 CPUs "
                                            "in variant 'b'"):
        load(p)


# -- the command line ------------------------------------------------------------------------------

def test_an_unknown_flag_shows_the_subcommands_usage(capsys):
    for args, usage in ((["run", "fragmentation", "--bogus"], "usage: memsim run "),
                        (["trace", "info", "--bogus", "x"], "usage: memsim trace info "),
                        (["guest", "run", "x", "--bogus"], "usage: memsim guest run ")):
        with pytest.raises(SystemExit) as e:
            main(args)
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.startswith(usage) and "error: unrecognized arguments: --bogus" in err


@pytest.mark.parametrize("args,message", [
    (["analyze", "{trace}", "--window", "0"], "argument --window: expected an integer >= 1, got '0'"),
    (["analyze", "{trace}", "--window", "-5"], "argument --window: expected an integer >= 1, got '-5'"),
    (["analyze", "{trace}", "--temporary-within", "-1"], "argument --temporary-within: expected an integer >= 0"),
    (["replay", "{trace}", "--nodes", "0"], "argument --nodes: expected an integer in 1..64, got '0'"),
    (["run", "fragmentation", "--seed", "-1"], "argument --seed: expected an integer in 0..18446744073709551615"),
    (["stack", "--static", "--recursion-depth", "0"], "argument --recursion-depth: expected an integer in 1..1000"),
])
def test_option_values_out_of_range_are_usage_errors(tmp_path, capsys, args, message):
    path = tmp_path / "t.mtr"
    trace.save(path, _kmalloc_trace([""], [0] * 4))
    with pytest.raises(SystemExit) as e:
        main([a.format(trace=path) for a in args])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_replay_of_a_workload_on_more_cpus_than_the_machine_has(tmp_path, capsys):
    """`memsim replay` only warned, then rejected the records; now it refuses before replaying."""
    from sim.workloads import page_churn

    path = tmp_path / "c.mtr"
    trace.save(path, page_churn(5000, 2000, cpus=3, seed=3))
    assert one_error(capsys, "replay", path).endswith(
        f"{path} runs on 3 CPUs, the machine has 2 (2 nodes x 1): give --cpus-per-node 2")
    assert one_error(capsys, "replay", path, "--nodes", 4, "--node-mem", "1T").endswith(
        "the machine needs 16G of page descriptors for 4T of memory; this host allows a model "
        f"{human_bytes(memory_budget())} (half its memory)") or memory_budget() >= 16 << 30
    assert cli(capsys, "replay", path, "--cpus-per-node", 2)[0] == 0


def test_run_of_a_workload_on_more_cpus_than_the_machine_has(tmp_path, capsys):
    err = one_error(capsys, "run", "fragmentation", "--set", "workload.cpus=3", "--out", tmp_path)
    assert err.endswith("fragmentation.toml:17: the workload runs on 3 CPUs, the machine of variant 'grouping-on' "
                        "has 1: set machine.cpus_per_node = 3 or workload.cpus = 1 (e.g. --set workload.cpus=1)")
    assert not tmp_path.joinpath("report.json").exists()


def _result(tmp_path) -> dict:
    run_scenario("fragmentation", ["workload.ops=20000"], out=tmp_path / "r")
    return json.loads((tmp_path / "r" / "report.json").read_text())


@pytest.mark.parametrize("edit,message", [
    (lambda r: r.pop("records"), "not a memsim result: no 'records'"),
    (lambda r: r.update(seed="x"), "not a memsim result: seed is 'x', expected an integer"),
    (lambda r: r.update(version=2), "not a memsim result: format version 2, this memsim reads 1"),
    (lambda r: r.update(variants=[]), "not a memsim result: no variants"),
    (lambda r: r["variants"].__setitem__(0, 5), "not a memsim result: variants[0] is not an object"),
    (lambda r: r["variants"][0].pop("fragmentation"), "not a memsim result: variants[0] has no 'fragmentation'"),
    (lambda r: r["variants"][0]["replay"].update(alloc_failed=None),
     "not a memsim result: variants[0].replay.alloc_failed is 'None', expected an integer"),
    (lambda r: r["variants"][0]["fragmentation"].pop("final"), "a malformed memsim result ("),
    (lambda r: r["variants"][0]["fragmentation"].update(pageblocks=5), "a malformed memsim result"),
    (lambda r: r["variants"][0]["fragmentation"]["final"][0].update(unusable_index=5), "a malformed memsim result"),
])
def test_malformed_results_are_one_error_in_report_and_analyze(tmp_path, capsys, edit, message):
    report = _result(tmp_path)
    edit(report)
    (tmp_path / "r" / "report.json").write_text(json.dumps(report))
    for args in (["report", tmp_path / "r", "--html", tmp_path / "page.html"], ["analyze", tmp_path / "r"]):
        rc, err = cli(capsys, *args)
        if rc == 0:      # analyze's summary reads less than the HTML page does
            assert args[0] == "analyze" and "malformed" in message
            continue
        assert rc == 2 and len(err) == 1 and f"{tmp_path / 'r' / 'report.json'}: {message}" in err[0], err
    assert not (tmp_path / "page.html").exists()


def test_a_result_that_is_not_utf8_json_or_a_file(tmp_path, capsys):
    bad = tmp_path / "report.json"
    for content, message in ((b"\xff\xfe", "not a memsim result: byte 0 is not UTF-8"),
                             (b"[" * 100000, "not a memsim result: nested too deeply"),
                             (b"{\n  nope\n", ":2: not a memsim result: Expecting property name")):
        bad.write_bytes(content)
        assert message in one_error(capsys, "analyze", bad)
    bad.unlink()
    bad.mkdir()
    assert one_error(capsys, "report", tmp_path, "--html", tmp_path / "x.html").endswith(f"{bad}: Is a directory")


def test_a_chart_of_malformed_data_leaves_no_figure_open():
    """`memsim report` of edited results raised inside the chart and kept the figure (pyplot holds
    every open one): a long-lived process (sweeps, the TUI) grew by a figure per bad result."""
    import matplotlib.pyplot as plt

    from sim.profilers.views import LineChart
    from sim.report import svg

    with pytest.raises(ValueError):
        svg.draw(LineChart("c.svg", "t", "x", "y", {"a": ([1, 2], [1, 2, 3])}), {})
    assert plt.get_fignums() == []


def test_a_file_that_is_not_ftrace_is_not_echoed_through_a_scenario(tmp_path, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:hunter2:0:0\n")
    (tmp_path / "s.toml").write_text(f'[workload]\ngenerator = "ftrace"\nfile = "{secret}"\n')
    err = one_error(capsys, "run", tmp_path / "s.toml", "--out", tmp_path / "out")
    assert f"s.toml:3: {secret}:1: not an ftrace event line" in err and "hunter2" not in err
