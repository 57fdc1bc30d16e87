"""Builds kernel_model._core: the Cython layer plus the freestanding C core."""

import os
import platform

from Cython.Build import cythonize
from setuptools import Extension, setup

CORE = ["page_alloc.c", "mempolicy.c", "slab.c", "replay.c", "vmstat.c", "cachegrind.c", "lackey.c", "ftrace.c",
        "cache.c", "leak.c", "snapshot.c", "thermal.c", "bug.c"]
# MEMSIM_SANITIZE=1 (make sanitize): the debug build, with the core's MM_BUG_ON checks and ASan/UBSan
SANITIZE = ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-wrapv", "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all", "-DMM_DEBUG"]


def _host_simd() -> list[str]:
    """-mavx2 when the building machine has it (the cache lookup compares four ways at once), unless
    MEMSIM_PORTABLE=1 asks for a build that runs on any x86-64."""
    if os.environ.get("MEMSIM_PORTABLE") == "1" or platform.machine() not in ("x86_64", "AMD64"):
        return []
    try:
        with open("/proc/cpuinfo") as f:
            return ["-mavx2"] if " avx2" in f.read() else []
    except OSError:
        return []


if os.environ.get("MEMSIM_SANITIZE") == "1":
    compile_args, link_args = [*SANITIZE, "-Wall", "-Wno-unused-function"], SANITIZE
else:
    compile_args = ["-O3", *_host_simd(), "-flto", "-fvisibility=hidden", "-Wall", "-Wno-unused-function"]
    link_args = ["-O3", "-flto"]

ext = Extension(
    "kernel_model._core",
    sources=["kernel_model/_core.pyx"] + [f"kernel_model/core/{f}" for f in CORE],
    include_dirs=["kernel_model"],
    extra_compile_args=compile_args,
    extra_link_args=link_args,
)

setup(ext_modules=cythonize([ext], compiler_directives={"language_level": "3"}))
