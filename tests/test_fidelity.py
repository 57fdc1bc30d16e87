"""memsim fidelity: every figure is the model's and Linux's own, the deltas and distances computed
right, on the shipped capture and on captures broken on purpose. (Whether the model meets the
targets is reported, not asserted: docs/fidelity.md.)"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from kernel_model import Machine
from kernel_model.ftrace import import_ftrace
from kernel_model.procfs import parse_buddyinfo
from kernel_model.slabinfo import parse_slabinfo
from sim.cli import main
from sim.experiments.fidelity import COUNTERS, score_capture
from sim.scenario import load, run_scenario
from sim.scenario.spec import ScenarioError


@pytest.fixture(scope="module")
def scored():
    from conftest import LINUX_2NODE

    return score_capture(LINUX_2NODE)


def _numastat(path):
    return {k: int(v) for k, v in (line.split() for line in path.read_text().splitlines())}


def test_figures_are_the_models_and_linuxs(linux_capture, scored):
    before, after = linux_capture / "before", linux_capture / "after"
    m = Machine.from_procfs(before)
    t, _ = import_ftrace(linux_capture / "trace.txt.xz")
    numa_before = m.numastat()
    res = m.replay(t)
    assert scored["replay"] == {"records": len(t), "errors": res.nr_errors, "alloc_failed": res.alloc_failed,
                                "pretrace_freed": res.pretrace_freed, "pretrace_skipped": res.pretrace_skipped}
    for n in range(2):
        rb, ra = _numastat(before / f"node{n}_numastat.txt"), _numastat(after / f"node{n}_numastat.txt")
        for c in COUNTERS:
            got = scored["numastat"][str(n)][c]
            assert got["real"] == ra[c] - rb[c]
            assert got["model"] == m.numastat()[n][c] - numa_before[n][c]
            assert got["rel_error"] == (None if not got["real"] else (got["model"] - got["real"]) / got["real"])
        memfree = int(re.search(r"MemFree:\s+(\d+)", (after / f"node{n}_meminfo.txt").read_text()).group(1))
        assert scored["memfree_kb"][str(n)]["real"] == memfree
        assert scored["memfree_kb"][str(n)]["model"] == m.nr_free_pages(n) * 4
    real = {f"{n}/{z}": c for n, z, c in parse_buddyinfo((after / "buddyinfo.txt").read_text())}
    was = {f"{n}/{z}": c for n, z, c in parse_buddyinfo((before / "buddyinfo.txt").read_text())}
    free = scored["free_pages_by_order"]
    total = 0
    for key, z in free["zones"].items():
        assert z["real"] == real[key] and z["before"] == was[key]
        assert z["distance"] == sum(abs(a - b) << o for o, (a, b) in enumerate(zip(z["model"], z["real"], strict=True)))
        total += z["distance"]
    assert free["distance"] == total and free["before_distance"] == sum(z["before_distance"]
                                                                        for z in free["zones"].values())
    slab_b = {r["name"]: r["active_objs"] for r in parse_slabinfo((before / "slabinfo.txt").read_text())}
    slab_a = {r["name"]: r["active_objs"] for r in parse_slabinfo((after / "slabinfo.txt").read_text())}
    for name in ("dentry", "vm_area_struct", "maple_node"):
        assert scored["slab"][name]["real"] == slab_a[name] - slab_b[name]
    kmalloc64 = sum(slab_a[n] - slab_b[n] for n in ("kmalloc-64", "kmalloc-cg-64", "kmalloc-rcl-64", "dma-kmalloc-64")
                    if n in slab_a)
    assert scored["slab"]["kmalloc-64"]["real"] == kmalloc64
    assert scored["met"] == sum(t["met"] for t in scored["targets"])
    numastat_targets = [t for t in scored["targets"] if "numa" in t["target"] or "node" in t["target"]
                        and "MemFree" not in t["target"]]
    assert len(numastat_targets) == sum(abs(v["real"]) > 1000 for c in scored["numastat"].values() for v in c.values())


def test_the_command_prints_the_table_and_json(linux_capture, capsys, scored):
    assert main(["fidelity", str(linux_capture), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == json.loads(json.dumps(scored))
    assert {"numastat", "memfree_kb", "free_pages_by_order", "slab"} <= set(out)
    assert set(out["numastat"]["0"]["numa_hit"]) >= {"model", "real"}
    assert main(["fidelity", str(linux_capture)]) == 0
    text = capsys.readouterr().out
    assert "numastat delta" in text and f"targets: {scored['met']} of {len(scored['targets'])} met" in text
    assert re.search(r"node 1 numa_miss\s+[\d,]+\s+6,451", text)


@pytest.mark.parametrize("breakage,where", [
    (lambda c: (c / "trace.txt.xz").unlink(), "no trace.txt or trace.txt.xz"),
    (lambda c: (c / "after" / "node1_numastat.txt").unlink(), "after/node1_numastat.txt: No such file"),
    (lambda c: (c / "after" / "node0_meminfo.txt").write_text("Node 0 MemTotal: 1 kB\n"),
     "after/node0_meminfo.txt: no \"Node N MemFree"),
    (lambda c: (c / "after" / "node0_meminfo.txt").write_bytes(b"\xff\xfe bad"),
     "after/node0_meminfo.txt: not UTF-8 text (byte 0)"),
    (lambda c: (c / "after" / "buddyinfo.txt").write_text("Node 0, zone DMA 1 x\n"),
     "after/buddyinfo.txt:1: not a buddyinfo line"),
    (lambda c: (c / "before" / "node0_numastat.txt").write_text("numa_hit 1\nnuma_miss\n"),
     "before/node0_numastat.txt:2: not a numastat line"),
])
def test_bad_captures_are_one_clear_error(tmp_path, linux_capture, capsys, breakage, where):
    capture = tmp_path / "cap"
    shutil.copytree(linux_capture, capture, ignore=shutil.ignore_patterns("*.log", "serial*"))
    breakage(capture)
    assert main(["fidelity", str(capture)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and where in err[0] and "Traceback" not in err[0]


def test_linux_trace_scenario_scores_itself(tmp_path, scored):
    report = run_scenario("linux-trace", ["profile.profilers=['fragmentation']"], out=tmp_path).report
    fid = report["fidelity"]
    assert fid["numastat"] == scored["numastat"] and fid["free_pages_by_order"] == scored["free_pages_by_order"]
    assert all(v["replay"]["errors"] == 0 for v in report["variants"])
    assert "Fidelity against the capture" in (tmp_path / "report.html").read_text()


def _scenario(tmp_path, text):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("machine,extra,message", [
    ('state = "snap"\nnodes = 2', "", "s.toml:5: machine.state describes the machine from a snapshot; "
                                      "machine.nodes cannot be given with it"),
    ('state = "snap"', "[topology]\ndistances = [[10]]\nnode_mem = '4M'\n", "[topology] cannot be given"),
    ('state = "snap"', "[guest]\nnodes = 1\n", "[guest] cannot be given"),
    ("nodes = 1", "[[variant]]\nname = 'a'\nmachine = { state = 'snap', node_mem = '8M' }\n",
     "machine.state describes the machine from a snapshot"),
])
def test_machine_state_in_scenarios(tmp_path, linux_capture, machine, extra, message):
    path = _scenario(tmp_path, f"[scenario]\nname = 's'\n[machine]\n{machine}\n[workload]\ngenerator = 'page_churn'\n"
                               f"ops = 100\n{extra}")
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load(path)


def test_machine_state_resolves_against_the_scenario_file(tmp_path, linux_capture):
    shutil.copytree(linux_capture / "before", tmp_path / "snap")
    path = _scenario(tmp_path, "[scenario]\nname = 's'\n[machine]\nstate = 'snap'\npcp = false\n"
                               "[workload]\ngenerator = 'kmalloc_churn'\nops = 2000\nlive_objects = 100\ncpus = 2\n")
    report = run_scenario(load(path), write=False).report
    assert report["variants"][0]["machine"] == {"state": "snap", "pcp": False}
    (tmp_path / "snap" / "slabinfo.txt").unlink()
    with pytest.raises(ScenarioError, match=r"s.toml:4: .*snap/slabinfo.txt: missing"):
        run_scenario(load(path), write=False)


def test_replay_starts_from_a_snapshot(tmp_path, linux_capture, capsys, scored):
    assert main(["trace", "convert", str(linux_capture / "trace.txt.xz"), str(tmp_path / "t.mtr")]) == 0
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "t.mtr"), "--state", str(linux_capture / "before"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["pretrace_freed"], out["pretrace_skipped"]) == (scored["replay"]["pretrace_freed"],
                                                               scored["replay"]["pretrace_skipped"])
    assert main(["replay", str(tmp_path / "t.mtr"), "--state", str(tmp_path)]) == 2
    assert "zoneinfo.txt: missing" in capsys.readouterr().err
