"""Every number and name the C headers define reaches Python unchanged.

The headers are read here on their own terms: the X-macro name lists as text, and the
numbers and struct layouts through gcc (a small program that prints them), never through
the extension. So a table that drifts on either side fails this test.
"""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import types
from pathlib import Path

import numpy as np
import pytest

from kernel_model import _core, cachegrind, caches, machine, mm, snapshot, trace
from kernel_model.reference import slab as reference_slab
from sim.guest import differential, results
from sim.guest import leaks as guest_leaks
from sim.profilers import compaction, patterns
from sim.profilers import leaks as leak_profiler
from sim.workloads import script

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "kernel_model" / "core"


def x_list(header: str, macro: str) -> list[tuple[str, ...]]:
    """The entries of `#define macro(X) X(...) X(...)`: each X's arguments (strings unquoted)."""
    text = (CORE / header).read_text()
    m = re.search(rf"^#define {macro}\(X\)((?:.*\\\n)*.*)$", text, re.M)
    assert m, f"{header}: no X-macro list {macro}"
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    return [tuple(a.strip().strip('"') for a in args.split(", ", 2)) for args in re.findall(r"X\((.*?)\)(?=\s|\\|$)",
                                                                                           body)]


def names(header: str, macro: str) -> tuple[str, ...]:
    return tuple(e[1] for e in x_list(header, macro))


C_VALUES = {
    # name in the program: C expression
    "PAGE_SHIFT": "PAGE_SHIFT", "PAGE_SIZE": "PAGE_SIZE", "MAX_PAGE_ORDER": "MAX_PAGE_ORDER",
    "NR_PAGE_ORDERS": "NR_PAGE_ORDERS", "PAGEBLOCK_ORDER": "PAGEBLOCK_ORDER",
    "PAGEBLOCK_NR_PAGES": "PAGEBLOCK_NR_PAGES", "PAGE_ALLOC_COSTLY_ORDER": "PAGE_ALLOC_COSTLY_ORDER",
    "MIGRATE_PCPTYPES": "MIGRATE_PCPTYPES", "MIGRATE_TYPES": "MIGRATE_TYPES", "MAX_NODES": "MM_MAX_NODES",
    "MAX_CPUS": "MM_MAX_CPUS", "NO_PFN": "PFN_NONE", "NO_ID": "MM_NO_ID", "NO_NODE": "MM_NO_NODE",
    "NO_SITE": "MM_NO_SITE", "ACCESS_RAW": "MM_ACCESS_RAW", "TRACE_VERSION": "MM_TRACE_VERSION",
    "PAGE_MAP_FREE": "PAGE_MAP_FREE", "PAGE_MAP_SLAB": "PAGE_MAP_SLAB", "PAGE_MAP_HOLE": "PAGE_MAP_HOLE",
    "RESULT_FAILED": "MM_RESULT_FAILED", "RESULT_ERROR": "MM_RESULT_ERROR", "ID_OBJECT": "ID_OBJECT",
    "ID_LARGE": "ID_LARGE", "KMALLOC_MAX_SIZE": "KMALLOC_MAX_CACHE_SIZE", "NR_KMALLOC": "NR_KMALLOC_CACHES",
    "MAX_KMALLOC": "MM_MAX_KMALLOC_CACHES",
    "FLAG_HWCACHE_ALIGN": "SLAB_HWCACHE_ALIGN", "FLAG_RECLAIM_ACCOUNT": "SLAB_RECLAIM_ACCOUNT",
    "FLAG_KMALLOC": "SLAB_KMALLOC", "SNAP_HEAD": "SNAP_HEAD", "SNAP_PER_NODE": "SNAP_PER_NODE",
    "SNAP_RECORDS": "SNAP_RECORDS", "SNAP_NOW_NS": "SNAP_NOW_NS", "SNAP_SLAB_PAGES": "SNAP_SLAB_PAGES",
    "SNAP_NUMA_LOCAL": "SNAP_NUMA_LOCAL", "SNAP_NUMA_REMOTE": "SNAP_NUMA_REMOTE",
    "SNAP_FREE_PAGES": "SNAP_FREE_PAGES", "SNAP_PGALLOC": "SNAP_PGALLOC", "SNAP_PGFREE": "SNAP_PGFREE",
    "SNAP_ALLOC_FAIL": "SNAP_ALLOC_FAIL", "MM_FREE_BAD_PFN": "MM_FREE_BAD_PFN",
    "MM_FREE_NOT_ALLOCATED": "MM_FREE_NOT_ALLOCATED", "MM_FREE_BAD_ORDER": "MM_FREE_BAD_ORDER",
    "MM_FREE_WRONG_KIND": "MM_FREE_WRONG_KIND", "SLAB_ENOTOBJ": "SLAB_ENOTOBJ", "SLAB_EDOUBLE": "SLAB_EDOUBLE",
    "SLAB_EWRONG_CACHE": "SLAB_EWRONG_CACHE", "SLAB_EPAGE": "SLAB_EPAGE", "LEAK_INDIRECT": "LEAK_INDIRECT",
    "LINE_USE_BUCKETS": "CACHE_USE_BUCKETS", "STACK_FRAMES": "MM_STACK_FRAMES", "SITE_LEVELS": "MM_SITE_LEVELS",
    "FLAG_DESTROYED": "SLAB_DESTROYED", "NO_TASK": "MM_NO_TASK", "MM_MAX_TASKS": "MM_MAX_TASKS",
    "MM_LEAK_ROOT": "MM_LEAK_ROOT", "MM_LEAK_NOT_LEAK": "MM_LEAK_NOT_LEAK",
    "MM_ID_VOTE_SHIFT": "MM_ID_VOTE_SHIFT", "MM_ID_VOTE_COUNT_MAX": "MM_ID_VOTE_COUNT_MAX",
    "MM_THERMAL_STEPS": "MM_THERMAL_STEPS", "THERMAL_MAX": "MM_THERMAL_MAX",
    "CACHE_CHAIN_MAX": "CACHE_MAX_CHAIN", "LATENCY_MEMORY": "MM_LAT_MEMORY", "LATENCY_PS": "MM_LAT_PS",
    "C2C_FREE": "CACHE_C2C_FREE", "TAG_SITE_SHIFT": "MM_TAG_SITE_SHIFT",
    "CACHE_GHOST_BYTES": "sizeof(struct cache_ghost)", "ORDER_MAX_WAYS": "CACHE_ORDER_MAX_WAYS",
}
STRUCTS = {
    "mm_op": ("OP_DTYPE", "op flags cpu site id arg0 arg1"),
    "mm_id": ("ID_DTYPE", "pfn offset state order"),
    "page": ("PAGE_DTYPE", "next prev freelist inuse order flags info"),
    "mm_trace_header": ("TRACE_HEADER_DTYPE",
                        "magic version header_size record_size nr_records nr_ids nr_sites strtab_offset "
                        "strtab_size flags"),
    "mm_align": ("ALIGN_DTYPE", "addr cache accesses split field_split lo hi lines need"),
    "cache_c2c": ("C2C_DTYPE", "block tag base cpu lo hi true_sharing false_sharing"),
}


@pytest.fixture(scope="module")
def c_facts(tmp_path_factory) -> dict[str, int]:
    """The headers' numbers and struct layouts as gcc compiles them: name -> value."""
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "snapshot.h"', '#include "vmstat.h"',
             '#include "leak.h"', '#include "thermal.h"', "int main(void)", "{"]
    for name, expr in C_VALUES.items():
        lines.append(f'\tprintf("{name} %llu\\n", (unsigned long long)({expr}));')
    for struct, (_, fields) in STRUCTS.items():
        lines.append(f'\tprintf("sizeof.{struct} %zu\\n", sizeof(struct {struct}));')
        for f in fields.split():
            lines.append(f'\tprintf("{struct}.{f} %zu %zu\\n", offsetof(struct {struct}, {f}), '
                         f'sizeof(((struct {struct} *)0)->{f}));')
    lines += ['\tprintf("TRACE_MAGIC %s\\n", MM_TRACE_MAGIC);', "\treturn 0;", "}"]
    d = tmp_path_factory.mktemp("c_facts")
    (d / "facts.c").write_text("\n".join(lines) + "\n")
    subprocess.run(["gcc", "-std=gnu99", "-I", str(CORE), "-o", str(d / "facts"), str(d / "facts.c")],
                   check=True, capture_output=True, timeout=120)
    out = subprocess.run([str(d / "facts")], check=True, capture_output=True, text=True, timeout=60).stdout
    facts: dict = {}
    for line in out.splitlines():
        key, *vals = line.split()
        facts[key] = vals[0] if key == "TRACE_MAGIC" else tuple(map(int, vals)) if len(vals) > 1 else int(vals[0])
    return facts


def test_op_codes():
    ops = x_list("trace_ops.h", "MM_OPS")
    assert [(f"OP_{name.upper()}", int(code)) for _, code, name in ops] == [(i, int(c)) for i, c, _ in ops]
    assert [(op.name, op.value) for op in trace.Op] == [(name.upper(), int(code)) for _, code, name in ops]
    assert trace.Op is _core.Op and _core.NR_OP_CODES == len(ops)


def test_replay_errors():
    errors = x_list("replay.h", "MM_REPLAY_ERRORS")
    assert machine.REPLAY_ERRORS == tuple(e[1] for e in errors)
    assert _core.REPLAY_ERROR_TEXT == tuple(e[2] for e in errors)
    assert _core.NR_REPLAY_ERROR_CODES == results.NR_ERRORS == len(errors)
    assert str(machine.ReplayError(7, "double_free", 3)) == f"record 7: {errors[7][2]} (id 3)"


@pytest.mark.parametrize("header,macro,python", [
    ("mm_types.h", "MM_ZONE_STATS", [machine.ZONE_STATS]),
    ("mm_types.h", "MM_NUMA_STATS", [machine.NUMASTAT, differential.NUMASTAT]),
    ("mm_types.h", "MM_MIGRATETYPES", [mm.MIGRATETYPE_NAMES]),
    ("mm_types.h", "MM_WATERMARKS", [_core.WMARK_NAMES]),
    ("mm_types.h", "MM_MPOL_MODES", [tuple(machine.MPOL_MODES)]),
    ("cachegrind.h", "CG_EVENTS", [cachegrind.CG_EVENTS]),
    ("cache.h", "CACHE_POLICIES", [caches.POLICIES]),
    ("cache.h", "CACHE_INCLUSIONS", [caches.INCLUSION]),
    ("cache.h", "CACHE_ACCESS_KINDS", [tuple(caches.KINDS)]),
    ("leak.h", "MM_LEAK_KINDS", [leak_profiler.KINDS]),
])
def test_name_tables(header, macro, python):
    expected = names(header, macro)
    for table in python:
        assert tuple(table) == expected


def test_every_free_error_has_a_message():
    assert set(machine._FREE_ERRORS) == {getattr(_core, n) for n in dir(_core) if n.startswith("MM_FREE_")} - {0}
    assert set(machine._SLAB_ERRORS) == {getattr(_core, n) for n in dir(_core) if n.startswith("SLAB_E")}


def test_enum_values_follow_the_lists():
    """Each table's index is the enum value: the lists are in value order, and the values the
    Python side uses by name agree."""
    for i, (ident, _) in enumerate(x_list("mm_types.h", "MM_MIGRATETYPES")):
        assert getattr(mm, ident) == i
    assert machine.MPOL_MODES == {n: i for i, n in enumerate(names("mm_types.h", "MM_MPOL_MODES"))}
    assert caches.KINDS == {n: i for i, n in enumerate(names("cache.h", "CACHE_ACCESS_KINDS"))}
    assert leak_profiler.WHITE == [e[0] for e in x_list("leak.h", "MM_LEAK_KINDS")].index("LEAK_INDIRECT")
    assert script.MIGRATETYPES == {n.lower(): i for i, n in enumerate(mm.MIGRATETYPE_NAMES[:mm.MIGRATE_PCPTYPES])}
    assert set(script.POLICIES.items()) < set(machine.MPOL_MODES.items())


def test_numbers(c_facts):
    python = {
        "PAGE_SHIFT": mm.PAGE_SHIFT, "PAGE_SIZE": mm.PAGE_SIZE, "MAX_PAGE_ORDER": mm.MAX_PAGE_ORDER,
        "NR_PAGE_ORDERS": mm.NR_PAGE_ORDERS, "PAGEBLOCK_ORDER": mm.PAGEBLOCK_ORDER,
        "PAGEBLOCK_NR_PAGES": mm.PAGEBLOCK_NR_PAGES, "PAGE_ALLOC_COSTLY_ORDER": mm.PAGE_ALLOC_COSTLY_ORDER,
        "MIGRATE_PCPTYPES": mm.MIGRATE_PCPTYPES, "MIGRATE_TYPES": mm.MIGRATE_TYPES,
        "NO_ID": trace.NO_ID, "NO_NODE": trace.NO_NODE, "ACCESS_RAW": trace.ACCESS_RAW,
        "TRACE_VERSION": trace.VERSION, "PAGE_MAP_FREE": machine.PAGE_MAP_FREE,
        "PAGE_MAP_SLAB": machine.PAGE_MAP_SLAB, "PAGE_MAP_HOLE": machine.PAGE_MAP_HOLE,
        "RESULT_FAILED": machine.ReplayResult.FAILED, "RESULT_ERROR": machine.ReplayResult.ERROR,
        "ID_OBJECT": guest_leaks.ID_OBJECT, "ID_LARGE": guest_leaks.ID_LARGE,
        "LEAK_INDIRECT": leak_profiler.WHITE,
    }
    for name in C_VALUES:
        assert getattr(_core, name) == c_facts[name], name
        assert python.get(name, c_facts[name]) == c_facts[name], name
    assert trace.MAGIC == c_facts["TRACE_MAGIC"].encode()
    assert (compaction.FREE, compaction.SLAB, compaction.HOLE, compaction.MOVABLE) == (
        c_facts["PAGE_MAP_FREE"], c_facts["PAGE_MAP_SLAB"], c_facts["PAGE_MAP_HOLE"], mm.MIGRATE_MOVABLE)
    assert results.NR_MT == c_facts["MIGRATE_TYPES"] and results.NR_ORDERS == c_facts["NR_PAGE_ORDERS"]
    assert patterns.PAGE_SIZE == c_facts["PAGE_SIZE"]


def test_kmalloc_sizes(c_facts):
    text = (CORE / "slab.h").read_text()
    sizes = tuple(int(x) for x in re.search(r"^#define KMALLOC_SIZES (.*)$", text, re.M).group(1).split(","))
    assert len(sizes) == c_facts["NR_KMALLOC"] and sizes[-1] == c_facts["KMALLOC_MAX_SIZE"]
    assert _core.KMALLOC_SIZES == machine.LINUX_KMALLOC_CLASSES == sizes == reference_slab.KMALLOC_SIZES
    # the analyzer's default classes are the machine's default, not a list of its own
    assert inspect.signature(patterns.analyze).parameters["kmalloc_classes"].default is machine.LINUX_KMALLOC_CLASSES


def test_snapshot_rows(c_facts):
    rows = np.arange(snapshot.Snapshots.size(2, 3), dtype=np.uint64)
    s = snapshot.Snapshots(rows, 2, 3)
    head, per = c_facts["SNAP_HEAD"], c_facts["SNAP_PER_NODE"]
    assert len(rows) == head + 2 * per + 3 + 2
    assert int(s.now_ns[0]) == c_facts["SNAP_NOW_NS"] and int(s.numa_remote[0]) == c_facts["SNAP_NUMA_REMOTE"]
    assert int(s.free_pages[0, 1]) == head + per + c_facts["SNAP_FREE_PAGES"]
    assert int(s.alloc_fail[0, 0]) == head + c_facts["SNAP_ALLOC_FAIL"]
    assert int(s.stack_depth[0, 0]) == head + 2 * per and s.stack_depth.shape == (1, 3)
    assert s.temperature[0].tolist() == [head + 2 * per + 3, head + 2 * per + 4]


@pytest.mark.parametrize("struct", sorted(STRUCTS))
def test_struct_layouts(c_facts, struct):
    """The numpy views of records, id-map entries, page descriptors and the trace header."""
    attr, fields = STRUCTS[struct]
    dt = getattr(_core, attr)
    assert dt.itemsize == c_facts[f"sizeof.{struct}"]
    assert list(dt.names) == fields.split()
    for f in fields.split():
        assert (dt.fields[f][1], dt.fields[f][0].itemsize) == c_facts[f"{struct}.{f}"], f
    assert trace.OP_DTYPE is _core.OP_DTYPE and trace.HEADER is _core.TRACE_HEADER_DTYPE
    assert guest_leaks.ID_DTYPE is _core.ID_DTYPE and guest_leaks.PAGE_DTYPE is _core.PAGE_DTYPE


def _stub_names(tree: ast.Module) -> tuple[set[str], dict[str, set[str]]]:
    top, members = set(), {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            top.add(node.name)
            members[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} | {
                t.id for n in node.body if isinstance(n, (ast.AnnAssign, ast.Assign))
                for t in ([n.target] if isinstance(n, ast.AnnAssign) else n.targets) if isinstance(t, ast.Name)}
        elif isinstance(node, ast.FunctionDef):
            top.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            top.add(node.target.id)
        elif isinstance(node, ast.Assign):
            top.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in top if not n.startswith("_")}, members


def test_the_stub_lists_the_extension_api():
    """kernel_model/_core.pyi names every public name of the extension, and nothing else."""
    top, members = _stub_names(ast.parse((REPO / "kernel_model" / "_core.pyi").read_text()))
    public = {n for n, v in vars(_core).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert top == public
    for cls in (c for c in public if isinstance(getattr(_core, c), type)):
        obj = getattr(_core, cls)
        if issubclass(obj, int):   # an enum: its members
            assert members[cls] == set(obj.__members__), cls
        else:
            declared = {n for n in vars(obj) if not n.startswith("_")} | ({"__init__"} & set(vars(obj)))
            assert members[cls] - {"__init__"} == declared - {"__init__"}, cls
