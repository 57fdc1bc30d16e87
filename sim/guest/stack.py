"""Static worst-case stack depth of the firmware, as scripts/checkstack.pl and -fstack-usage
allow: per-function frames from gcc's .su files, the call graph from the disassembly (a
networkx DiGraph), and the deepest path from each entry point.

On i386 every call also pushes a 4-byte return address, which no .su frame counts. Recursion
(the cache hierarchy walks its levels recursively) has no static bound: each recursive
strongly connected component is charged `recursion_depth` times its largest frame, and named.
"""

from __future__ import annotations

import re
from pathlib import Path

import networkx as nx

RETURN_ADDRESS = 4
# boot.S: _start pushes the multiboot info and magic before it calls fw_main
ASM_FRAMES = {"_start": 8}
_FUNC = re.compile(r"^([0-9a-f]+) <([^>+-]+)>:$")   # not <sym-0x10>: objdump's name for padding
_CALL = re.compile(r"\scall\s+[0-9a-f]+ <([^>+]+)(?:\+0x[0-9a-f]+)?>")
_INDIRECT = re.compile(r"\scall\s+\*")


def _base(name: str) -> str:
    """One name for gcc's clones in .su files and symbols alike: foo.isra.0 and foo.isra -> foo.isra."""
    return re.sub(r"\.\d+$", "", name)


def frames(build: Path) -> dict[str, int]:
    """Bytes per function from every .su file (the largest where a name repeats)."""
    out: dict[str, int] = {}
    for su in sorted(build.glob("*.su")):
        for line in su.read_text().splitlines():
            where, size, _ = line.split("\t")
            name = _base(where.rsplit(":", 1)[1])
            out[name] = max(out.get(name, 0), int(size))
    return out


def call_graph(disassembly: str) -> tuple[nx.DiGraph, set[str]]:
    """Caller -> callee edges from objdump -d output, and the functions with indirect calls."""
    g, indirect, current = nx.DiGraph(), set(), None
    for line in disassembly.splitlines():
        m = _FUNC.match(line)
        if m:
            current = _base(m.group(2))
            g.add_node(current)
            continue
        if current is None:
            continue
        m = _CALL.search(line)
        if m:
            g.add_edge(current, _base(m.group(1)))
        elif _INDIRECT.search(line):
            indirect.add(current)
    return g, indirect


def worst_case(build: Path, entries: tuple[str, ...] = ("_start",), recursion_depth: int = 8) -> dict:
    """The deepest stack from each entry point: bytes and the path that reaches them."""
    frame = {**frames(build), **ASM_FRAMES}
    g, indirect = call_graph((build / "memsim-fw.dis").read_text())
    dag = nx.condensation(g)
    members = dag.graph["mapping"]               # function -> component
    comp_funcs: dict[int, list[str]] = {}
    for f, c in members.items():
        comp_funcs.setdefault(c, []).append(f)
    recursive = {c for c, fs in comp_funcs.items() if len(fs) > 1 or g.has_edge(fs[0], fs[0])}
    missing = sorted(f for f in g if f not in frame and f not in ("_start",))

    def weight(c: int) -> int:
        biggest = max(frame.get(f, 0) for f in comp_funcs[c]) + RETURN_ADDRESS
        return biggest * (recursion_depth if c in recursive else 1)

    best: dict[int, tuple[int, list[int]]] = {}
    for c in reversed(list(nx.topological_sort(dag))):
        below = max((best[d] for d in dag.successors(c)), default=(0, []), key=lambda x: x[0])
        best[c] = (weight(c) + below[0], [c] + below[1])
    out = {}
    for e in entries:
        if e not in members:
            continue
        total, path = best[members[e]]
        out[e] = {"bytes": total - RETURN_ADDRESS,   # nothing pushed a return address for the entry itself
                  "path": [sorted(comp_funcs[c], key=lambda f: -frame.get(f, 0))[0] for c in path],
                  "recursive": [sorted(comp_funcs[c]) for c in path if c in recursive]}
    return {"entries": out, "recursion_depth": recursion_depth, "indirect_calls": sorted(indirect),
            "functions_without_frame": missing, "frames": frame}
