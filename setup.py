"""Builds kernel_model._core: the Cython layer plus the freestanding C core."""

from Cython.Build import cythonize
from setuptools import Extension, setup

CORE = ["page_alloc.c", "slab.c", "replay.c", "vmstat.c", "cachegrind.c", "lackey.c", "cache.c"]

ext = Extension(
    "kernel_model._core",
    sources=["kernel_model/_core.pyx"] + [f"kernel_model/core/{f}" for f in CORE],
    include_dirs=["kernel_model"],
    extra_compile_args=["-O3", "-flto", "-fvisibility=hidden", "-Wall", "-Wno-unused-function"],
    extra_link_args=["-O3", "-flto"],
)

setup(ext_modules=cythonize([ext], compiler_directives={"language_level": "3"}))
