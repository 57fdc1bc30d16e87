"""The C core is freestanding: no libc, no malloc, no headers beyond stdint/stddef."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "kernel_model" / "core"
FLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffreestanding", "-nostdlib", "-fno-builtin"]


def test_core_includes_only_freestanding_headers():
    for src in CORE.glob("*.[ch]"):
        for inc in re.findall(r'#include\s*[<"]([^>"]+)[>"]', src.read_text()):
            assert inc in {"stdint.h", "stddef.h"} or (CORE / inc).exists(), f"{src.name} includes {inc}"


def _link(tmp_path: Path, extra: list[str]) -> subprocess.CompletedProcess:
    # A full static link with no libc: any libc or libgcc call is an undefined symbol.
    return subprocess.run(
        ["gcc", *FLAGS, *extra, "-static", "-Wl,-e,mm_machine_init", "-o", str(tmp_path / "core.elf"),
         *map(str, sorted(CORE.glob("*.c")))],
        capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("debug", [[], ["-DMM_DEBUG"]], ids=["release", "MM_DEBUG"])
def test_core_links_without_libc_64bit(tmp_path, debug):
    """The debug build's MM_BUG_ON reporting needs no libc either."""
    r = _link(tmp_path, debug)
    assert r.returncode == 0, r.stderr


def test_core_links_without_libc_32bit(tmp_path):
    """The guest build: 32-bit, and no 64-bit division helpers from libgcc."""
    probe = subprocess.run(["gcc", "-m32", "-c", "-x", "c", "-", "-o", str(tmp_path / "p.o")],
                           input="int x;", capture_output=True, text=True)
    if probe.returncode != 0 or shutil.which("gcc") is None:
        pytest.skip("gcc cannot build 32-bit objects here")
    r = _link(tmp_path, ["-m32", "-fno-pic", "-no-pie"])
    assert r.returncode == 0, r.stderr


# -- the core without Python: tests/c/replay_trace.c on the freestanding objects ------------------

SANITIZE = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-DMM_DEBUG"]


@pytest.fixture(scope="module")
def replay_trace(tmp_path_factory) -> Path:
    """The driver, linked with the core compiled as the freestanding test compiles it; in the
    sanitizer run (a debug extension) with ASan, UBSan and MM_DEBUG as well."""
    from kernel_model import _core

    extra = SANITIZE if _core.DEBUG else []
    d = tmp_path_factory.mktemp("replay_trace")
    objs = []
    for src in sorted(CORE.glob("*.c")):
        obj = d / f"{src.stem}.o"
        r = subprocess.run(["gcc", *[f for f in FLAGS if f != "-nostdlib"], *extra, "-c", str(src), "-o", str(obj)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        objs.append(str(obj))
    exe = d / "replay_trace"
    r = subprocess.run(["gcc", "-std=gnu99", "-O1", "-Wall", "-Wextra", "-Werror", *extra, "-I", str(CORE),
                        str(Path(__file__).parent / "c" / "replay_trace.c"), *objs, "-o", str(exe)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return exe


def _workloads():
    from sim.workloads import kmalloc_churn, page_churn
    from sim.workloads.mixed_mobility import mixed_mobility_churn
    from sim.workloads.object_graph import object_graph
    from sim.workloads.script import Workload

    w = Workload(cpus=4)
    for cpu, (mode, nodes) in enumerate([("interleave", [0, 1]), ("bind", [1]), ("preferred", [1]),
                                         ("weighted_interleave", [0, 1])]):
        w.mempolicy(mode, nodes, cpu=cpu)
    pages = [w.alloc_pages(i % 3, "movable", cpu=i % 4) for i in range(400)]
    objects = [w.kmalloc(24 + i, cpu=i % 4) for i in range(400)]
    for i in range(0, 400, 3):
        w.free_pages(pages[i], cpu=i % 4)
        w.free(objects[i], cpu=(i + 1) % 4)
    return [
        ("page churn", page_churn(20000, 2000, cpus=2, seed=1), dict(cpus_per_node=1)),
        ("kmalloc churn", kmalloc_churn(20000, 2000, cpus=4, seed=2), dict(cpus_per_node=2)),
        ("object graph", object_graph(1500, leaks=2, population=200, seed=6), dict(cpus_per_node=1)),
        ("mixed mobility, pcp off", mixed_mobility_churn(20000, 3000, seed=3), dict(cpus_per_node=1, pcp=False)),
        ("no mobility grouping", page_churn(20000, 2000, seed=4), dict(cpus_per_node=1, mobility_grouping=False)),
        ("memory policies", w.trace(), dict(cpus_per_node=2, min_free_kbytes=512)),
    ]


@pytest.mark.parametrize("name,workload,config", _workloads(), ids=[w[0] for w in _workloads()])
def test_the_freestanding_core_replays_as_the_extension_does(replay_trace, tmp_path, name, workload, config):
    from kernel_model import Machine, trace

    m = Machine(nodes=2, node_mem="16M", **config)
    expected = m.replay(workload, results=True).results
    trace.save(tmp_path / "t.mtr", workload)
    zonelists = [",".join(map(str, m.zonelist(n))) for n in range(m.nodes)]
    r = subprocess.run([str(replay_trace), str(tmp_path / "t.mtr"), str(tmp_path / "results"), str(m.node_pages[0]),
                        str(m.cpus_per_node), str(int(m.pcp)), str(int(m.mobility_grouping)), str(m.min_free_kbytes),
                        *zonelists], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "results").read_bytes() == expected.tobytes(), name
