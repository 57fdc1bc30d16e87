"""Shared fixtures: the real Linux 6.1 capture the repository ships (data/linux-6.1-qemu-2node)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINUX_2NODE = REPO / "data" / "linux-6.1-qemu-2node"


@pytest.fixture
def linux_capture() -> Path:
    """The Linux 6.1 two-node QEMU capture (buddyinfo, pagetypeinfo, zoneinfo, trace.txt.xz ...)."""
    assert LINUX_2NODE.is_dir(), f"the shipped capture is missing: {LINUX_2NODE}"
    return LINUX_2NODE
