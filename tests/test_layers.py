"""The tree shows the pipeline: every import goes down the layers (or within one), none goes up,
and no modules import each other in a cycle. Imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

REPO = Path(__file__).resolve().parents[1]
# lowest first: workload -> op stream -> core -> counters -> profilers -> results -> reports -> CLI
LAYERS = [
    ("kernel_model",),
    ("sim.fields", "sim.progress", "sim.driver"),
    ("sim.workloads",),
    ("sim.profilers", "sim.experiments", "sim.guest"),
    ("sim.report",),
    ("sim.scenario",),
    ("sim.history", "sim.sweep"),
    ("sim.tui",),
    ("sim.bench", "sim.commands", "sim.cli", "sim"),
]


def layer(module: str) -> int:
    best = None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if module == p or module.startswith(p + "."):
                if best is None or len(p) > best[1]:
                    best = (i, len(p))
    assert best is not None, f"{module} is in no layer"
    return best[0]


def modules() -> dict[str, Path]:
    out = {}
    for package in ("kernel_model", "sim"):
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The project modules a module imports (`from a.b import c` counts a.b.c when c is a module)."""
    out = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(pkg + ([base] if base else []))
            out |= {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
    return {m for m in out if m in known}


def test_imports_go_down_the_layers_and_never_in_a_cycle():
    mods = modules()
    g = nx.DiGraph()
    upward = []
    for name, path in mods.items():
        g.add_node(name)
        for target in imports(path, name, set(mods)):
            if target == name or name.startswith(target + "."):
                continue   # a module and the package it lives in (package __init__ runs first anyway)
            g.add_edge(name, target)
            if layer(target) > layer(name):
                upward.append(f"{name} -> {target}")
    assert upward == []
    cycles = list(nx.simple_cycles(g))
    assert cycles == [], cycles[:5]
