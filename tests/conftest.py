"""Shared fixtures: the real Linux captures in ../shared/data (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MEMSIM_SHARED", REPO.parent / "shared"))
LINUX_2NODE = SHARED / "data" / "linux-6.1-qemu-2node"


@pytest.fixture
def linux_capture() -> Path:
    """The Linux 6.1 two-node QEMU capture (buddyinfo, pagetypeinfo, zoneinfo ...)."""
    if not LINUX_2NODE.is_dir():
        message = f"real-data capture not found at {LINUX_2NODE} (set MEMSIM_SHARED)"
        if os.environ.get("CI"):
            pytest.fail(message)   # CI always has shared/ beside the checkout
        pytest.skip(message)
    return LINUX_2NODE
