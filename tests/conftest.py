"""Shared fixtures: the real Linux 6.1 capture the repository ships (data/linux-6.1-qemu-2node).

Under `make sanitize` (MEMSIM_SANITIZE=1) this process runs the ASan/UBSan debug extension with
the sanitizer runtime preloaded; the programs the tests start (gcc, valgrind, other Pythons)
run without the preload, on the release extension.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

if os.environ.pop("MEMSIM_SANITIZE", None) == "1":
    for var in ("LD_PRELOAD", "PYTHONPATH"):
        os.environ.pop(var, None)
    from kernel_model import _core

    assert _core.DEBUG, f"make sanitize imported a release extension: {_core.__file__}"

REPO = Path(__file__).resolve().parents[1]
LINUX_2NODE = REPO / "data" / "linux-6.1-qemu-2node"


@pytest.fixture
def linux_capture() -> Path:
    """The Linux 6.1 two-node QEMU capture (buddyinfo, pagetypeinfo, zoneinfo, trace.txt.xz ...)."""
    assert LINUX_2NODE.is_dir(), f"the shipped capture is missing: {LINUX_2NODE}"
    return LINUX_2NODE
