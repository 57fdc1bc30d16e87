"""Machine.from_procfs: the machine a /proc + /sys snapshot describes, the free lists exactly the
snapshot's, the rest of each zone in use by the documented rule; pre-trace frees take imported
memory; bad snapshots are one clear error naming the file and line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_model import Machine, trace
from kernel_model._core import NO_ID, ZONE_NAMES
from kernel_model.mm import MAX_PAGE_ORDER, MIGRATE_PCPTYPES, MIGRATETYPE_NAMES, PAGEBLOCK_ORDER
from kernel_model.procfs import ZoneFreeState, format_buddyinfo, parse_pagetypeinfo, parse_zoneinfo
from kernel_model.procfs_import import SnapshotError
from kernel_model.slabinfo import parse_slabinfo
from kernel_model.trace import NO_NODE, Op
from sim.cli import main


def _free_blocks(m: Machine) -> dict[int, tuple[int, int]]:
    out = {}
    for node in range(m.nodes):
        for (order, mt), pfns in m.free_lists(node).items():
            out.update({p: (order, mt) for p in pfns})
    return out


def check_layout(m: Machine) -> None:
    """No free block has a free buddy it would merge with; pageblock types as counted."""
    free = _free_blocks(m)
    layout = {(n, z): (start, spanned) for n, z, start, spanned, _ in m.zone_layout()}
    for pfn, (order, _mt) in free.items():
        buddy = pfn ^ (1 << order)
        zone = next(k for k, (s, n) in layout.items() if s <= pfn < s + n)
        same_zone = layout[zone][0] <= buddy < sum(layout[zone])   # buddies of two zones never merge
        if order < MAX_PAGE_ORDER and same_zone and free.get(buddy, (None,))[0] == order:
            assert order >= PAGEBLOCK_ORDER, f"free buddies {pfn} and {buddy} of order {order}"
            blocks = m._core.pageblock_migratetypes(zone[0], ZONE_NAMES.index(zone[1]))
            base = layout[zone][0] >> PAGEBLOCK_ORDER
            a, b = blocks[(pfn >> PAGEBLOCK_ORDER) - base], blocks[(buddy >> PAGEBLOCK_ORDER) - base]
            assert a != b and (a >= MIGRATE_PCPTYPES or b >= MIGRATE_PCPTYPES)


@pytest.mark.parametrize("when", ["before", "after"])
def test_the_snapshot_round_trips(linux_capture, when):
    """buddyinfo and pagetypeinfo of the imported machine are the snapshot's, byte for byte; its
    zoneinfo is the snapshot's line for line where the model has the data."""
    d = linux_capture / when
    m = Machine.from_procfs(d)
    assert m.pagetypeinfo() == (d / "pagetypeinfo.txt").read_text()
    # buddyinfo: the snapshot's where pagetypeinfo agrees with it (read a moment apart, after/'s do not)
    real_buddy = {(z.node, z.zone): [sum(row[o] for row in z.nr_free) for o in range(11)]
                  for z in parse_pagetypeinfo((d / "pagetypeinfo.txt").read_text())}
    assert m.buddyinfo() == format_buddyinfo([ZoneFreeState(n, z, [c], [0]) for (n, z), c in real_buddy.items()])
    if when == "before":
        assert m.buddyinfo() == (d / "buddyinfo.txt").read_text()
    check_layout(m)
    ours, theirs = m.zoneinfo().splitlines(), (d / "zoneinfo.txt").read_text().splitlines()

    def key(line):
        return re.sub(r"\s*-?\d+\)?$", "", line.split("(")[0]).strip()
    keys = {key(line) for line in ours}
    theirs = [line for line in theirs if key(line) in keys and not line.startswith("      nr_free_cma")]
    assert [key(line) for line in ours] == [key(line) for line in theirs]
    buddy = {k: sum(n << o for o, n in enumerate(c)) for k, c in real_buddy.items()}
    zone = None
    for mine, real in zip(ours, theirs, strict=True):
        if mine.startswith("Node "):
            zone = (int(mine.split()[1].rstrip(",")), mine.split()[3])
            assert mine == real
        elif key(mine) in ("pages free", "nr_free_pages"):   # buddyinfo's count, read a moment apart
            assert int(mine.split()[-1]) == buddy.get(zone, 0)
        else:
            assert mine == real, zone


def test_what_the_import_takes_from_each_file(linux_capture):
    d = linux_capture / "before"
    m = Machine.from_procfs(d)
    real = {(z.node, z.zone): z for z in parse_zoneinfo((d / "zoneinfo.txt").read_text())}
    assert m.zones() == [(0, "DMA"), (0, "DMA32"), (1, "DMA32")] and m.cpu_to_node == [0, 1]
    assert m.zonelist(0) == [0, 1] and m.zonelist(1) == [1, 0]
    for (node, name), z in real.items():
        mine = m.zone(node, name)
        for k in ("spanned", "present", "managed", "min", "low", "high"):
            assert mine[k] == z[k], (node, name, k)
        assert mine["protection"] == z.protection
        if z["spanned"]:
            assert mine["start_pfn"] == z["start_pfn"]
            assert mine["pcp"] == [(ps["count"], ps["high"], ps["batch"]) for ps in z.pagesets]
            # holes, then reserved pages at the start of the span; the rest managed
            codes = m.page_map(node)[mine["start_pfn"] - m.node_start_pfn(node):][:mine["spanned"]]
            unmanaged = mine["spanned"] - mine["managed"]
            assert (codes[:unmanaged] == 0xFF).all() and (codes[unmanaged:] != 0xFF).all()
    assert m.node_pages == [3840 + 113501, 128870]
    # the slab caches, with (at least) their active objects
    for row in parse_slabinfo((d / "slabinfo.txt").read_text()):
        cache = next(c for c in m.caches() if c.name == row["name"])
        assert m.slab_stats(cache)["objects"] >= row["active_objs"], row["name"]
    assert Machine.from_procfs(d).buddyinfo() == m.buddyinfo()   # deterministic


def test_frees_of_what_came_before_the_trace_take_imported_memory(linux_capture):
    m = Machine.from_procfs(linux_capture / "before")
    rec = trace.empty(5)
    rec["op"] = [Op.PAGE_FREE, Op.PAGE_FREE, Op.CACHE_FREE, Op.CACHE_FREE, Op.PAGE_FREE]
    rec["id"] = NO_ID
    rec["arg0"] = [0, 3, 0, 0, 11]
    rec["arg1"] = [0x25000, 0x1000, 0, 0, 0x25000]          # pfn hints: node 1, node 0's DMA32
    rec["site"] = [0, 0, 1, 2, 0]
    t = trace.Trace(rec, ["", "dentry", "no_such_cache"], nr_ids=1)
    dentry = next(c for c in m.caches() if c.name == "dentry")
    slabs = m.slab_stats(dentry)["slabs"]
    before = (m.zone(1, "DMA32")["imported"], m.zone(0, "DMA32")["imported"], m._core.imported_left()[dentry.index])
    res = m.replay(t, results=True)
    assert res.error_counts == {"bad_arg": 1}       # order 11
    assert (res.pretrace_freed, res.pretrace_skipped) == (3, 1)   # no cache named no_such_cache
    after = (m.zone(1, "DMA32")["imported"], m.zone(0, "DMA32")["imported"], m._core.imported_left()[dentry.index])
    assert after == (before[0] - 1, before[1] - 8, before[2] - 1)
    # the imported objects run out: further frees are skipped and counted
    many = trace.Trace(np.repeat(rec[2:3], before[2] + 5), t.sites, nr_ids=1)
    res = m.replay(many)
    assert res.ok and (res.pretrace_freed, res.pretrace_skipped) == (before[2] - 1, 6)
    assert m.slab_stats(dentry)["slabs"] < slabs // 10   # its slabs went back to the page allocator
    # a machine not imported has nothing to free: skipped, not an error
    res = Machine(nodes=2, node_mem="8M").replay(t)
    assert res.pretrace_skipped == 4 and res.error_counts == {"bad_arg": 1}


def test_a_trace_cache_named_like_an_imported_one_is_that_cache(linux_capture):
    m = Machine.from_procfs(linux_capture / "before")
    caches = m._core.nr_caches
    dentry = next(c for c in m.caches() if c.name == "dentry")
    rec = trace.empty(2)
    rec["op"] = [Op.CACHE_CREATE, Op.CACHE_ALLOC]
    rec["id"] = [0, 1]
    rec["arg0"] = [192, 0]
    rec["arg1"] = [8, 0]
    rec["site"] = [1, 0]
    res = m.replay(trace.Trace(rec, ["", "dentry"], nr_ids=2), results=True)
    assert res.ok and m._core.nr_caches == caches and res.results[0] == dentry.index
    pfn = int(res.results[1]) >> 12
    slab = next(s for n in range(m.nodes) for s in m._core.slabs(n) if s[0] <= pfn < s[0] + (1 << s[2]))
    assert slab[1] == dentry.index


def test_import_mode_counts_nothing_and_pcp_off_keeps_pcp_pages_in_use(linux_capture):
    m = Machine.from_procfs(linux_capture / "before", pcp=False)
    assert all(count == 0 for nid, name in m.zones() for count, _, _ in m.zone(nid, name)["pcp"])
    assert all(s["pgalloc"] == 0 for s in m.zone_stats().values())
    assert m.buddyinfo() == (linux_capture / "before" / "buddyinfo.txt").read_text()


# ---- bad snapshots -----------------------------------------------------------------------

def _snapshot(tmp_path: Path, linux_capture: Path) -> Path:
    d = tmp_path / "snap"
    shutil.copytree(linux_capture / "before", d)
    return d


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))


@pytest.mark.parametrize("breakage,where", [
    (lambda d: (d / "zoneinfo.txt").unlink(), "zoneinfo.txt: missing"),
    (lambda d: (d / "node1_distance.txt").unlink(), "node1_distance.txt: missing"),
    (lambda d: _edit(d / "zoneinfo.txt", "        present  3998", "        present  4096"),
     "zoneinfo.txt:52: node 0 zone DMA: present 4096 exceeds its spanned pages"),
    (lambda d: _edit(d / "zoneinfo.txt", "        managed  113501", "        managed"),
     "zoneinfo.txt:94: not a zoneinfo line"),
    (lambda d: _edit(d / "zoneinfo.txt", "        protection: (0, 443, 443, 443, 443)", "        protection: (0, 443"),
     "zoneinfo.txt:55: not a zoneinfo protection line"),
    (lambda d: _edit(d / "buddyinfo.txt", "     86 \n", "\n"), "buddyinfo.txt:2: not a buddyinfo line"),
    (lambda d: _edit(d / "pagetypeinfo.txt", "type      Movable      0      0      0      0      0      0      0"
                     "      0      0      1      3", "type      Movable      0      0      0      0      0      0"
                     "      0      0      0      1 >100000"),
     "pagetypeinfo.txt:5: node 0 zone DMA: the free blocks of order 10 are past what pagetypeinfo counts"),
    (lambda d: _edit(d / "pagetypeinfo.txt", "type      Movable      0      0      0      0      0      0      0"
                     "      0      0      1      3", "type      Movable      0      0      0      0      0      0"
                     "      0      0      0      1      3      4"),
     "pagetypeinfo.txt:6: not a pagetypeinfo free count line"),
    (lambda d: _edit(d / "pagetypeinfo.txt", "Node 0, zone    DMA32           45",
                     "Node 0, zone    DMA32           46"),
     "node 0 zone DMA32 spans 248 pageblocks, the \"Number of blocks type\" table counts 249"),
    (lambda d: _edit(d / "zoneinfo.txt", "start_pfn:           131072", "start_pfn:           130000"),
     "node 1 zone DMA32 overlaps node 0 zone DMA32"),
    (lambda d: _edit(d / "zoneinfo.txt", "        managed  3840", "        managed  3000"),
     "node 0 zone DMA: 3808 free pages and 0 on pcp lists, more than its 3000 managed pages"),
    (lambda d: _edit(d / "node0_distance.txt", "10 21", "10"), "node0_distance.txt:1: 1 distances for 2 nodes"),
    (lambda d: _edit(d / "slabinfo.txt", "dentry             10479", "dentry             x"),
     "slabinfo.txt:"),
])
def test_bad_snapshots_are_one_clear_error(tmp_path, linux_capture, capsys, breakage, where):
    d = _snapshot(tmp_path, linux_capture)
    breakage(d)
    with pytest.raises(SnapshotError, match=re.escape(where)):
        Machine.from_procfs(d)
    capture = tmp_path / "cap"
    capture.mkdir()
    d.rename(capture / "before")
    for name in ("after", "trace.txt.xz"):
        (capture / name).symlink_to(linux_capture / name)
    assert main(["fidelity", str(capture)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and where.split(":")[0] in err[0] and "Traceback" not in err[0]


def test_cpus_by_node_from_cpulist_files(tmp_path, linux_capture):
    d = _snapshot(tmp_path, linux_capture)
    (d / "node0_cpulist.txt").write_text("1\n")
    (d / "node1_cpulist.txt").write_text("0\n")
    assert Machine.from_procfs(d).cpu_to_node == [1, 0]
    (d / "node1_cpulist.txt").write_text("0-2\n")
    with pytest.raises(SnapshotError, match="node1_cpulist.txt:1: CPU 2, but zoneinfo's pagesets have 2 CPUs"):
        Machine.from_procfs(d)
    with pytest.raises(ValueError, match="layout from it, not from node_mem"):
        Machine.from_procfs(linux_capture / "before", node_mem="4M")


# ---- any state the model can be in imports back as itself ----------------------------------

def _write_snapshot(m: Machine, d: Path) -> None:
    d.mkdir()
    (d / "zoneinfo.txt").write_text(m.zoneinfo())
    (d / "buddyinfo.txt").write_text(m.buddyinfo())
    (d / "pagetypeinfo.txt").write_text(m.pagetypeinfo())
    (d / "slabinfo.txt").write_text(m.slabinfo())
    for n in range(m.nodes):
        (d / f"node{n}_distance.txt").write_text(" ".join(str(10 if i == n else 21) for i in range(m.nodes)) + "\n")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_model_states_import_as_themselves(tmp_path_factory, data):
    """A machine's own /proc texts, after random churn on multi-zone nodes, import to a machine
    with the same free lists, pageblock counts, watermarks, reserves and pcp counts."""
    from test_zones import zoned

    names = ["DMA", "DMA32", "Normal"]
    nodes = data.draw(st.integers(1, 2))
    layout = []
    for _ in range(nodes):
        chosen = sorted(data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True)),
                        key=ZONE_NAMES.index)
        layout.append([(n, (s := data.draw(st.integers(600, 3000))), s - data.draw(st.integers(0, 300)))
                       for n in chosen])
    m = zoned(layout, cpus_per_node=1, pcp=data.draw(st.booleans()))
    live = []
    for _ in range(data.draw(st.integers(0, 300))):
        if live and data.draw(st.integers(0, 2)) == 0:
            pfn, order, cpu = live.pop(data.draw(st.integers(0, len(live) - 1)))
            m.free_pages(pfn, order, cpu)
        else:
            order, cpu = data.draw(st.sampled_from([0, 0, 0, 1, 2, 3, 5, 9])), data.draw(st.integers(0, nodes - 1))
            pfn = m.alloc_pages(order, data.draw(st.sampled_from(MIGRATETYPE_NAMES[:3])).lower(), cpu)
            if pfn is not None:
                live.append((pfn, order, cpu))
    d = tmp_path_factory.mktemp("state") / "snap"
    _write_snapshot(m, d)
    copy = Machine.from_procfs(d)
    assert copy.buddyinfo() == m.buddyinfo() and copy.pagetypeinfo() == m.pagetypeinfo()
    check_layout(copy)
    for node, name in m.zones():
        a, b = m.zone(node, name), copy.zone(node, name)
        for k in ("start_pfn", "spanned", "present", "managed", "min", "low", "high", "protection", "pcp"):
            assert a[k] == b[k], (node, name, k)
    # and it runs: every page not free is imported, so a churn replays without errors
    rec = trace.empty(200)
    rec["op"] = [Op.PAGE_ALLOC, Op.PAGE_FREE] * 100
    rec["id"] = np.repeat(np.arange(100), 2)
    rec["arg1"] = [NO_NODE, 0] * 100
    rec["flags"] = [1, 0] * 100
    assert copy.replay(rec).ok
