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


def test_core_links_without_libc_64bit(tmp_path):
    r = _link(tmp_path, [])
    assert r.returncode == 0, r.stderr


def test_core_links_without_libc_32bit(tmp_path):
    """The guest build: 32-bit, and no 64-bit division helpers from libgcc."""
    probe = subprocess.run(["gcc", "-m32", "-c", "-x", "c", "-", "-o", str(tmp_path / "p.o")],
                           input="int x;", capture_output=True, text=True)
    if probe.returncode != 0 or shutil.which("gcc") is None:
        pytest.skip("gcc cannot build 32-bit objects here")
    r = _link(tmp_path, ["-m32", "-fno-pic", "-no-pie"])
    assert r.returncode == 0, r.stderr
