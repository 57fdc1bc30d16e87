"""The firmware in QEMU: topology discovery, differential equality with the host model, and
every way a guest run can go wrong ending in one clear error with no process left behind.

These boot real guests (TCG); CI has QEMU (make install) and never skips them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from kernel_model import Topology, trace
from sim.cli import main
from sim.guest import qemu
from sim.guest.differential import compare, host_machine
from sim.guest.results import NODE_DTYPE, RESULTS_ADDR, RESULTS_DTYPE, ZONE_DTYPE
from sim.workloads import kmalloc_churn, page_churn
from sim.workloads.mixed_mobility import mixed_mobility_churn
from sim.workloads.object_graph import object_graph

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def firmware():
    if shutil.which("qemu-system-x86_64") is None:
        message = "qemu-system-x86_64 not installed (make install)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    r = subprocess.run(["make", "-s", "firmware"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def _memsim_guests() -> list[str]:
    """QEMU processes started by sim.guest (their RAM lives in a memsim-guest-* directory), from
    /proc: whole command lines (ps cuts them at the terminal's width)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "qemu-system" in args and "memsim-guest-" in args:
            found.append(args)
    return found


def test_results_layout_is_the_guests():
    """Every offset of the Python view equals gcc -m32's offsetof for firmware/results.h."""
    checks = [f"_Static_assert(sizeof(struct fw_results) == {RESULTS_DTYPE.itemsize}, \"size\");",
              f"_Static_assert(sizeof(struct fw_node) == {NODE_DTYPE.itemsize}, \"node size\");"]
    for dt, struct in ((RESULTS_DTYPE, "fw_results"), (NODE_DTYPE, "fw_node"), (ZONE_DTYPE, "fw_zone")):
        for name in dt.names:
            off = dt.fields[name][1]
            checks.append(f"_Static_assert(offsetof(struct {struct}, {name}) == {off}, \"{name}\");")
    src = "#include <stddef.h>\n#include \"results.h\"\n" + "\n".join(checks) + "\n"
    r = subprocess.run(["gcc", "-m32", "-ffreestanding", "-fsyntax-only", "-I", str(REPO / "firmware"),
                        "-I", str(REPO / "kernel_model" / "core"), "-x", "c", "-"],
                       input=src, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("distances", [
    [[10]],
    [[10, 21], [31, 10]],
    [[10, 21, 31, 41], [22, 10, 23, 33], [32, 24, 10, 25], [42, 34, 26, 10]],
])
def test_guest_sees_the_configured_topology_and_matches_the_model(distances):
    topo = Topology.from_slit(distances, "32M")
    t = kmalloc_churn(6000, 600, cpus=len(distances), seed=len(distances))
    run = qemu.run(topo, t, "pcp=1", timeout=60)
    seen = run.topology_seen
    assert seen["distances"] == distances
    assert seen["cpus"] == list(range(len(distances)))                 # one CPU per node, in order
    for i, node in enumerate(seen["nodes"]):
        assert sum(r["size"] for r in node["memory"]) == (32 << 20) - (0x60000 if i == 0 else 0)
        assert node["start_pfn"] == (i * (32 << 20)) >> 12 and node["usable_pfns"]
        # Linux's zones: the node's span cut at 16 MiB (DMA) and 4 GiB (DMA32)
        lo, hi = node["start_pfn"], node["start_pfn"] + node["spanned_pages"]
        want = [(name, max(lo, a), min(hi, b)) for name, a, b in (("DMA", 0, 4096), ("DMA32", 4096, 1 << 20))
                if max(lo, a) < min(hi, b)]
        assert [(z["zone"], z["start_pfn"], z["start_pfn"] + z["spanned_pages"]) for z in node["zones"]] == want
    diff = compare(t, run)
    assert diff["matches_model"], diff
    m = host_machine(run)
    assert m.zones() == [(i, z["zone"]) for i, node in enumerate(seen["nodes"]) for z in node["zones"]]
    # the DMA zone keeps its lowmem reserve from requests up to Normal, as Linux sets it up
    assert m.zone(0, "DMA")["protection"][2] == m.zone(0, "DMA32")["managed"] // 256 > 0


@pytest.mark.parametrize("name,workload,cmdline", [
    ("mixed mobility churn, pcp off", mixed_mobility_churn(20000, 3000, seed=3), "pcp=0 grouping=1"),
    ("page churn, no mobility grouping", page_churn(20000, 2000, seed=4), "pcp=1 grouping=0"),
    ("object graph: kmem_caches, references, roots", object_graph(1500, leaks=2, population=200, seed=6),
     "pcp=1 grouping=1"),
])
def test_differential_equality(name, workload, cmdline):
    topo = Topology.from_slit([[10, 21], [31, 10]], "32M")
    run = qemu.run(topo, workload, cmdline, timeout=60)
    pcp, grouping = "pcp=1" in cmdline, "grouping=1" in cmdline
    diff = compare(workload, run, pcp, grouping)
    assert diff["matches_model"], (name, diff)
    assert diff["records"] == len(workload)


def test_the_analyses_ops_run_in_the_guest_as_in_the_model():
    """CACHE_DESTROY (a busy one too), NOT_LEAK, TASK and the thermal model with its policy: the
    guest's every record, slab count and temperature are the host twin's; the guest's leak scan
    treats NOT_LEAK objects as kmemleak does (grey: never unreferenced)."""
    from sim.guest import leaks
    from sim.workloads.handoff import handoff
    from sim.workloads.hot_node import hot_node
    from sim.workloads.leak_classes import leak_classes
    from sim.workloads.task_stacks import task_stacks

    topo = Topology.from_slit([[10, 21], [21, 10]], "32M")
    thermal = {"heat_per_access": 4, "heat_per_page": 20, "half_life": 1_000_000, "throttle": 25_000}
    line = "pcp=1 grouping=1 thermal_access=4 thermal_page=20 thermal_half_life=1000000 thermal_throttle=25000"
    driver = leak_classes(rounds=800, seed=1)
    for workload, cmdline, model in ((driver, "pcp=1 grouping=1", None),
                                     (task_stacks(tasks=6, cpus=2, slices=300, seed=2), "pcp=1 grouping=1", None),
                                     (hot_node(ticks=1500, policy="thermal", seed=3), line, thermal),
                                     (handoff(n_objects=300, accesses=3000, cpus=2, seed=4), line, thermal)):
        run = qemu.run(topo, workload, cmdline, timeout=90, inspect=leaks.report)
        diff = compare(workload, run, thermal=model)
        assert diff["matches_model"] and diff["checks"]["thermal"], diff
        if model is not None:
            assert max(x["peak"] for x in run.results.thermal().values()) > 0
        if workload is driver:        # kmemleak_not_leak'd objects (never freed) are grey in the guest's scan
            marked = {int(i) for i in driver.records["id"][driver.records["op"] == trace.Op.NOT_LEAK]}
            kinds = run.inspected["kinds"]
            assert marked and marked <= set(kinds) and {kinds[i] for i in marked} == {"still_reachable"}
            assert not marked & set(run.inspected["unreferenced"])


def test_a_difference_is_found():
    """The check can fail: the host twin with pcp on against a guest that ran with pcp off."""
    topo = Topology.from_slit([[10, 20], [20, 10]], "32M")
    t = page_churn(5000, 800, seed=2)
    run = qemu.run(topo, t, "pcp=0", timeout=60)
    diff = compare(t, run, pcp=True)
    assert not diff["matches_model"] and diff["first_difference"] is not None


def _fails(topo, module, cmdline="", timeout=30.0, on_running=None) -> str:
    start = time.monotonic()
    with pytest.raises(qemu.GuestError) as e:
        qemu.run(topo, module, cmdline, timeout=timeout, on_running=on_running)
    assert time.monotonic() - start < timeout + 15
    assert not _memsim_guests()
    return str(e.value)


def test_triple_fault_is_a_clear_error():
    assert "triple-faulted" in _fails(Topology.from_slit([[10]], "32M"), page_churn(100, 10), "fault=triple")


def test_malformed_trace_module_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.mtr"
    bad.write_bytes(b"MEMSIMTR" + bytes(100))
    assert "not a valid memsim trace" in _fails(Topology.from_slit([[10]], "32M"), bad)


def test_hung_guest_is_killed_at_the_timeout():
    assert "did not finish within 2 s" in _fails(Topology.from_slit([[10]], "32M"), page_churn(100, 10),
                                                 "fault=hang", timeout=2)


def test_a_watcher_that_never_returns_is_bounded_by_the_timeout():
    async def forever(qmp, mem, pid):
        await asyncio.sleep(3600)

    assert "did not finish within 2 s" in _fails(Topology.from_slit([[10]], "32M"), page_churn(100, 10),
                                                 "fault=hang", timeout=2, on_running=forever)


def test_qemu_killed_mid_run_is_a_clear_error():
    async def kill(qmp, mem, pid):
        os.kill(pid, 9)

    message = _fails(Topology.from_slit([[10, 20], [20, 10]], "32M"), page_churn(100, 10), "fault=hang",
                     on_running=kill)
    assert "killed by signal 9" in message


def test_guest_run_cli_json(tmp_path, capsys):
    assert main(["guest", "run", "guest-numa", "--nodes", "2", "--dist", "10,21;31,10", "--mem", "32M",
                 "--set", "workload.ops=20000", "--set", "workload.live_objects=2000", "--set", "workload.cpus=2",
                 "--out", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["topology_seen"]["distances"] == [[10, 21], [31, 10]]
    assert [n["cpus"] for n in report["topology_seen"]["nodes"]] == [[0], [1]]
    assert report["matches_model"] is True and report["topology_matches"] is True
    assert report["comparison"]["errors"] == {}
    assert {"qemu_start_s", "first_event_s", "run_s"} <= set(report["timings"])
    assert json.loads((tmp_path / "guest.json").read_text())["matches_model"] is True
    # the run's page, and `memsim report` renders the same one from guest.json
    assert main(["report", str(tmp_path), "--html", str(tmp_path / "again.html")]) == 0
    assert (tmp_path / "again.html").read_bytes() == (tmp_path / "report.html").read_bytes()
    assert "all 8 checks agree" in (tmp_path / "report.html").read_text()
    (tmp_path / "guest.json").write_text('{"scenario": "x"}')
    assert main(["report", str(tmp_path), "--html", str(tmp_path / "again.html")]) == 2
    assert "guest.json: not a memsim guest result (no seed)" in capsys.readouterr().err


def test_min_free_kbytes_reaches_the_guest(tmp_path, capsys):
    """[machine] min_free_kbytes (here through --set) is on the firmware's command line: the guest's
    watermarks per node are the ones Linux's formula gives for it, and the host twin's (which derives
    them itself from the same setting, not from the guest) are equal."""
    assert main(["guest", "run", "guest-numa", "--nodes", "2", "--dist", "10,21;21,10", "--mem", "32M",
                 "--set", "machine.min_free_kbytes=3000",
                 "--set", "workload.ops=5000", "--set", "workload.live_objects=500", "--set", "workload.cpus=2",
                 "--out", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "min_free_kbytes=3000" in report["guest"]["cmdline"] and report["guest"]["min_free_kbytes"] == 3000
    marks = report["comparison"]["watermarks"]
    assert marks["guest"]["min_free_kbytes"] == 3000 and report["comparison"]["checks"]["watermarks"] is True
    guest = {int(n): w for n, w in marks["guest"]["nodes"].items()}
    assert guest == {int(n): w for n, w in marks["host"]["nodes"].items()}
    # __setup_per_zone_wmarks: pages_min = 3000 kB / 4 split by managed pages; both nodes are alike here
    managed = [sum(b - a for a, b in n["usable_pfns"]) for n in report["topology_seen"]["nodes"]]
    mins = [750 * m // sum(managed) for m in managed]
    assert [guest[n]["min"] for n in range(2)] == mins
    default = main(["guest", "run", "guest-numa", "--nodes", "2", "--dist", "10,21;21,10", "--mem", "32M",
                    "--set", "workload.ops=5000",
                    "--set", "workload.live_objects=500", "--set", "workload.cpus=2", "--out", str(tmp_path), "--json"])
    other = json.loads(capsys.readouterr().out)
    assert default == 0 and other["guest"]["min_free_kbytes"] != 3000     # derived as Linux does without the key


def test_guest_kmalloc_classes_reach_the_firmware(tmp_path, capsys):
    """[machine] kmalloc_classes goes to the firmware's command line: the guest lays out those caches
    and serves every request from them exactly as the host model with the same classes does (records,
    slabs, objects and object sizes per cache), and a host twin with Linux's classes differs."""
    classes = [24, 40, 72, 152, 296, 416, 560, 640, 1024, 1088, 1376, 4096, 8192]
    sets = ["workload.ops=30000", "workload.live_objects=3000", "workload.cpus=2"]
    assert main(["guest", "run", "guest-numa", "--nodes", "2", "--dist", "10,21;31,10", "--mem", "32M",
                 *[a for s in sets for a in ("--set", s)], "--set", f"machine.kmalloc_classes={classes}",
                 "--out", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["guest"]["cmdline"].endswith(f" kmalloc_classes={','.join(map(str, classes))}")
    assert report["matches_model"] is True, report["comparison"]
    from sim.scenario import build_workload, load

    spec = load("guest-numa", sets)
    t = build_workload(spec, spec.workload, spec.seed)
    run = qemu.run(Topology.from_slit([[10, 20], [20, 10]], "32M"), t,
                   f"pcp=1 kmalloc_classes={','.join(map(str, classes))}", timeout=60)
    assert compare(t, run, kmalloc_classes=classes)["matches_model"]
    linux = compare(t, run)
    assert not linux["matches_model"] and not linux["checks"]["slab"] and not linux["checks"]["records"]


@pytest.mark.parametrize("value", ["16,8", "8,12", "8,,16", "16384", "8,x"])
def test_guest_refuses_bad_kmalloc_classes(value):
    assert "firmware status 7: a command-line value the firmware or the core cannot use" in \
        _fails(Topology.from_slit([[10]], "32M"), page_churn(100, 10), f"kmalloc_classes={value}")


def test_guest_run_bad_input_is_one_line(capsys):
    assert main(["guest", "run", "guest-numa", "--dist", "10,x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "distances" in err[0]


def test_live_view_reads_the_running_guest_through_shared_memory(tmp_path):
    """While the guest replays, the host sees its progress; stop/cont over QMP give a still picture,
    and pmemsave of the stopped guest writes the same bytes the shared mapping shows."""
    seen = []
    dump = tmp_path / "results.bin"

    async def watch(qmp, mem, pid):
        for _ in range(5000):
            try:
                r = mem.results()
            except ValueError:      # not booted yet
                r = None
            if r is not None and r["stage"] == 3 and 0 < r.done < r.records:
                await qmp.execute("stop")
                a = mem.results()
                await qmp.execute("pmemsave", {"val": RESULTS_ADDR, "size": RESULTS_DTYPE.itemsize,
                                               "filename": str(dump)})
                b = mem.results()
                seen.append((a.done, b.done, a.nr_free().sum(), b.nr_free().sum()))
                assert dump.read_bytes() == mem.read(RESULTS_ADDR, RESULTS_DTYPE.itemsize)
                await qmp.execute("cont")
                return
            await asyncio.sleep(0.001)

    t = kmalloc_churn(400000, 20000, cpus=2, seed=9)
    run = qemu.run(Topology.from_slit([[10, 20], [20, 10]], "64M"), t, "pcp=1", on_running=watch, timeout=120)
    assert run.results.done == len(t)
    assert seen and seen[0][0] == seen[0][1] and seen[0][2] == seen[0][3]   # stopped: nothing moves
    assert 0 < seen[0][0] < len(t)
    assert np.frombuffer(run.record_results, np.uint64).shape == (len(t),)
    assert trace.OP_DTYPE.itemsize == 24


def test_static_stack_bound_covers_the_measured_high_water(capsys):
    from sim.guest.stack import worst_case

    static = worst_case(REPO / "firmware" / "build")["entries"]["_start"]
    assert static["path"][:3] == ["_start", "fw_main", "mm_replay_run"]
    measured = []
    for workload in (kmalloc_churn(20000, 2000, cpus=2, seed=1), object_graph(800, leaks=1, population=100)):
        run = qemu.run(Topology.from_slit([[10, 20], [20, 10]], "32M"), workload, "pcp=1", timeout=60)
        measured.append(int(run.results["stack_high_water"]))
    assert 0 < max(measured) <= static["bytes"]
    assert main(["stack", "--static"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"_start: worst case {static['bytes']:,} bytes") and "mm_replay_run" in out


def test_guest_leak_scan_finds_exactly_the_planted_leaks(tmp_path, capsys):
    from sim.workloads.object_graph import planted_leaks

    assert main(["run", "guest-leak", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "guest.json").read_text())
    from sim.scenario import build_workload, load

    sc = load("guest-leak")
    truth = planted_leaks(build_workload(sc, sc.workload, report["seed"]))
    assert {k: set(v) for k, v in report["leak_scan"]["by_kind"].items()} == truth
    assert set(report["leak_scan"]["unreferenced"]) == truth["definitely_lost"] | truth["indirectly_lost"]
    assert report["matches_model"] and "leak scan of guest memory" in capsys.readouterr().out


def test_monitor_guest_streams_progress(tmp_path, capsys):
    assert main(["monitor", "--guest", "guest-numa", "--set", "workload.ops=300000", "--out", str(tmp_path),
                 "--interval", "0.01"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("guest ")]
    done = [int(line.split()[2].replace(",", "")) for line in lines]
    assert len(done) >= 2 and done == sorted(done) and done[0] < 300000


def test_metadata_that_does_not_fit_is_a_clean_failure():
    """A header with nr_ids = 2^29: the id map (8 bytes per id) and the allocation records need
    4 GiB each, which once wrapped to 0 in 32 bits and left the replay writing over the rest of
    the metadata while the guest reported success."""
    t = page_churn(1000, 100, seed=1)
    big = trace.Trace(t.records, t.sites, nr_ids=1 << 29)
    with pytest.raises(qemu.GuestError, match="firmware status 5: the firmware's metadata does not fit"):
        qemu.run(Topology.from_slit([[10, 20], [20, 10]], "512M"), big, "pcp=1", timeout=60)


def test_q35_guest_reads_hmat_latencies():
    latency = [[100, 200], [210, 110]]
    topo = Topology.from_slit([[10, 21], [21, 10]], "32M", latency=latency, bandwidth=[[9000, 4000], [4000, 9000]])
    t = page_churn(3000, 300, seed=1)
    run = qemu.run(topo, t, "pcp=1", machine="q35", timeout=60)
    assert run.topology_seen["hmat_latency"] == latency
    assert compare(t, run)["matches_model"]


def test_ctrl_c_kills_qemu_and_removes_its_directory():
    import signal
    import sys
    import tempfile

    script = ("from kernel_model import Topology\nfrom sim.guest import qemu\nfrom sim.workloads import page_churn\n"
              "try:\n    qemu.run(Topology.from_slit([[10]], '32M'), page_churn(100, 10), 'fault=hang', timeout=60)\n"
              "except KeyboardInterrupt:\n    print('interrupted')\n")
    p = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not _guests_of(p.pid) and time.monotonic() < deadline:   # this process's guest, not another's
        time.sleep(0.05)
    assert _guests_of(p.pid), "the guest never started"
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=20)
    assert "interrupted" in out
    assert not _guests_of(p.pid)
    assert not list(Path(tempfile.gettempdir()).glob(f"memsim-guest-{p.pid}-*"))


# A `memsim guest run` whose guest hangs (fault=hang on the firmware's command line), as a process
# of its own to signal; argv[1] is its --out.
HANGING_GUEST_RUN = """
import sys
import sim.scenario.guest as g
cmdline = g.firmware_cmdline
g.firmware_cmdline = lambda spec, *a: cmdline(spec, *a) + " fault=hang"
from sim.cli import main
sys.exit(main(["guest", "run", "guest-numa", "--nodes", "3", "--set", "workload.ops=1000",
               "--set", "workload.live_objects=100", "--out", sys.argv[1]]))
"""


def _guests_of(pid: int) -> list[str]:
    """QEMU processes whose directory belongs to memsim process pid (memsim-guest-<pid>-*)."""
    return [g for g in _memsim_guests() if f"memsim-guest-{pid}-" in g]


def _start_hanging_guest(tmp_path) -> subprocess.Popen:
    import sys

    p = subprocess.Popen([sys.executable, "-c", HANGING_GUEST_RUN, str(tmp_path / "out")], cwd=REPO,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not _guests_of(p.pid) and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.05)
    assert _guests_of(p.pid), "the guest never started"
    return p


@pytest.mark.parametrize("signum,status", [("SIGTERM", 143), ("SIGHUP", 129)])
def test_sigterm_and_sighup_are_handled_like_ctrl_c(tmp_path, signum, status):
    import signal
    import tempfile

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "guest.json").write_text("{}")   # an earlier run's result: it must not look like this one's
    p = _start_hanging_guest(tmp_path)
    p.send_signal(getattr(signal, signum))
    _, err = p.communicate(timeout=30)
    assert p.returncode == status and err.splitlines() == [f"memsim: interrupted ({signum})"]
    assert not (tmp_path / "out" / "guest.json").exists()
    assert not _guests_of(p.pid)
    assert not list(Path(tempfile.gettempdir()).glob(f"memsim-guest-{p.pid}-*"))


def test_qemu_dies_with_a_sigkilled_memsim_and_its_directory_goes_at_the_next_start(tmp_path):
    import signal
    import tempfile

    p = _start_hanging_guest(tmp_path)
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=30)
    deadline = time.monotonic() + 10          # PR_SET_PDEATHSIG: the kernel kills QEMU with its parent
    while _guests_of(p.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _guests_of(p.pid)
    left = list(Path(tempfile.gettempdir()).glob(f"memsim-guest-{p.pid}-*"))
    assert len(left) == 1                     # nothing could remove it: memsim had no chance to run
    mine = Path(tempfile.mkdtemp(prefix=f"memsim-guest-{os.getpid()}-"))   # a live process's directory
    try:
        assert left[0] in qemu.remove_stale_workdirs() and not left[0].exists()
        assert mine.exists()
    finally:
        shutil.rmtree(mine)


def test_guest_options_out_of_range_are_one_error(capsys):
    for args, message in [(["--nodes", "0"], "argument --nodes: expected an integer in 1..8, got '0'"),
                          (["--timeout", "0"], "argument --timeout: expected a number in 0.001..86400, got '0'"),
                          (["--timeout", "-1"], "argument --timeout: expected a number in 0.001..86400"),
                          (["--mem", "0"], "guest memory '0': every node needs whole MiB (at least 1M)"),
                          (["--mem", "3G"], "guest memory '3G' on 3 nodes: 9216M in all, the guest takes 2M..4G")]:
        with contextlib.suppress(SystemExit):
            assert main(["guest", "run", "guest-numa", *args]) == 2
        err = capsys.readouterr().err.splitlines()
        assert message in err[-1] and not any("Traceback" in line for line in err)


def test_a_workload_on_more_cpus_than_the_guest_has_is_refused_before_it_boots(capsys, tmp_path):
    """The README's example once printed "identical" while 74 k of 200 k records were rejected."""
    dirs = set(Path(tempfile.gettempdir()).glob("memsim-guest-*"))
    assert main(["guest", "run", "guest-numa", "--nodes", "2", "--mem", "64M", "--dist", "10,21;31,10",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and ("the workload runs on 3 CPUs, the guest has 2 (one per node): boot 3 nodes (--nodes 3, "
                              "or [guest] nodes = 3) or run the workload on 2 (--set workload.cpus=2)") in err[0]
    assert set(Path(tempfile.gettempdir()).glob("memsim-guest-*")) == dirs


def test_rejected_records_are_never_reported_as_identical(tmp_path, capsys):
    """Both sides reject the same records: they agree, but the replay is not clean (exit 1)."""
    from sim.report.text import guest as summary

    rec = trace.empty(3)
    rec[0] = (trace.Op.PAGE_ALLOC, 0, 0, 0, 0, 0, trace.NO_NODE)
    rec[1] = (trace.Op.PAGE_FREE, 0, 0, 0, 0, 0, 0)
    rec[2] = (trace.Op.PAGE_FREE, 0, 0, 0, 0, 0, 0)     # a double free
    trace.save(tmp_path / "t.mtr", trace.Trace(rec))
    (tmp_path / "s.toml").write_text('[guest]\nnodes = 1\nmem = "32M"\n'
                                     '[workload]\ngenerator = "trace"\nfile = "t.mtr"\n')
    assert main(["guest", "run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["matches_model"] is True and report["comparison"]["errors"] == {"double_free": 1}
    text = summary(report)
    assert "identical" not in text and "REJECTED 1 of 3 records (double_free 1)" in text


def test_an_unwritable_out_fails_before_the_guest_boots(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    dirs = set(Path(tempfile.gettempdir()).glob("memsim-guest-*"))
    assert main(["guest", "run", "guest-numa", "--out", str(tmp_path / "file")]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err
    assert set(Path(tempfile.gettempdir()).glob("memsim-guest-*")) == dirs
