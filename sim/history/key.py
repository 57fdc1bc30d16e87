"""What identifies a run: the fully resolved scenario (overrides applied, [output] and [sweep]
left out), its seed, the content of the input files it reads and the code that runs it. Two
runs with the same key compute the same thing, so a finished key is never run twice."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sim.scenario.spec import ScenarioSpec

KEY_CHARS = 16                  # hex digits of the key: directory names stay short, collisions stay absent
GIT_TIMEOUT = 10                # seconds for each git call
SOURCES = ("kernel_model", "sim", "setup.py", "pyproject.toml")   # what the code identity covers
REPO = Path(__file__).resolve().parents[2]


def input_files(spec: ScenarioSpec) -> list[Path]:
    """The files a run reads (workload.file of the scenario and of its variants)."""
    files = [w.file for w in (spec.workload, *(v.workload for v in spec.variants)) if w.file is not None]
    return sorted(set(files))


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def input_hashes(spec: ScenarioSpec, cache: dict[str, str] | None = None) -> dict[str, str]:
    """{path: sha256 of its content}; a missing file hashes as "missing" (the run then fails on
    its own). `cache` keeps hashes across the points of one sweep."""
    cache = {} if cache is None else cache
    for f in input_files(spec):
        if str(f) not in cache:
            try:
                cache[str(f)] = file_hash(f)
            except OSError:
                cache[str(f)] = "missing"
    return {str(f): cache[str(f)] for f in input_files(spec)}


@functools.cache
def code_version() -> str:
    """memsim's version and, in a git checkout, its commit ("0.1.0+g1a2b3c4d5e6f"); uncommitted
    changes to the sources add a hash of the diff ("...+dirty.9f8e7d6c"), so editing the code
    while sweeping never reuses results of other code."""
    try:
        base = version("memsim")
    except PackageNotFoundError:
        base = "unknown"
    if not (REPO / ".git").exists():
        return base

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True,
                              timeout=GIT_TIMEOUT).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        changes = git("status", "--porcelain", "--untracked-files=all", "--", *SOURCES)
        if changes:
            untracked = [line[3:] for line in changes.splitlines() if line.startswith("??")]
            h = hashlib.sha256(git("diff", "HEAD", "--", *SOURCES).encode())
            for name in sorted(untracked):
                h.update(name.encode() + b"\0")
                path = REPO / name
                h.update(path.read_bytes() if path.is_file() else b"")
            return f"{base}+g{commit[:12]}.dirty.{h.hexdigest()[:12]}"
        return f"{base}+g{commit[:12]}"
    except (OSError, subprocess.SubprocessError):
        return base


def resolved(spec: ScenarioSpec, seed: int) -> dict:
    """The scenario as it runs with this seed (the scenario's own seed replaced by the one that
    runs, so `--seeds` and scenario.seed name the same run)."""
    data = spec.resolved()
    data["scenario"] = {**data.get("scenario", {}), "seed": seed}
    return data


def run_key(spec: ScenarioSpec, seed: int, inputs: dict[str, str], code: str) -> str:
    """The key of running spec with seed: a hash of canonical JSON."""
    blob = json.dumps({"scenario": resolved(spec, seed), "inputs": sorted(inputs.values()), "code": code},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:KEY_CHARS]
