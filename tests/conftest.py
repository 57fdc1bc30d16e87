"""Shared fixtures: the real Linux 6.1 capture the repository ships (data/linux-6.1-qemu-2node).

Under `make sanitize` (MEMSIM_SANITIZE=1) this process runs the ASan/UBSan debug extension with
the sanitizer runtime preloaded; the programs the tests start (gcc, valgrind, other Pythons)
run without the preload, on the release extension.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

if os.environ.pop("MEMSIM_SANITIZE", None) == "1":
    for var in ("LD_PRELOAD", "PYTHONPATH"):
        os.environ.pop(var, None)
    from kernel_model import _core

    assert _core.DEBUG, f"make sanitize imported a release extension: {_core.__file__}"
    # nor the sanitizer build's path: processes spawned by multiprocessing (Dask's LocalCluster
    # workers) inherit sys.path, and would load the ASan extension without its runtime
    san = str(Path(_core.__file__).resolve().parents[1])
    sys.path[:] = [p for p in sys.path if str(Path(p).resolve()) != san]

REPO = Path(__file__).resolve().parents[1]
LINUX_2NODE = REPO / "data" / "linux-6.1-qemu-2node"


@pytest.fixture
def linux_capture() -> Path:
    """The Linux 6.1 two-node QEMU capture (buddyinfo, pagetypeinfo, zoneinfo, trace.txt.xz ...)."""
    assert LINUX_2NODE.is_dir(), f"the shipped capture is missing: {LINUX_2NODE}"
    return LINUX_2NODE


# Every shipped scenario that writes an HTML report, with overrides that keep it quick (linux-trace
# replays a fixed capture). The report tests and the browser test share one run of each.
SHIPPED_REPORTS = {
    "fragmentation": ["workload.ops=40000"],
    "slab-churn": ["workload.ops=40000", "workload.live_objects=4000"],
    "numa-policies": ["workload.objects=4000", "workload.accesses=40000"],
    "cache-thrash": ["workload.accesses=40000"],
    "stack-depth": ["workload.excursions=4000"],
    "memory-pressure": ["workload.ops=20000"],
    "leak": ["workload.operations=12000", "workload.population=400"],
    "linux-trace": [],
}


@pytest.fixture(scope="session")
def shipped_report(tmp_path_factory):
    """shipped_report(name) -> the report directory of that scenario's run (run once per session)."""
    from sim.scenario import run_scenario

    done: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in done:
            out = tmp_path_factory.mktemp(name)
            run_scenario(name, SHIPPED_REPORTS[name], out=out)
            done[name] = out
        return done[name]
    return get
