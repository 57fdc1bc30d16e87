"""A Machine built from a Linux /proc + /sys snapshot: Machine.from_procfs(DIR).

The snapshot directory holds zoneinfo, buddyinfo, pagetypeinfo and slabinfo (/proc) and
nodeN_distance (/sys/devices/system/node/nodeN/distance), each as NAME.txt or NAME, as the
capture scripts in data/*/README.txt write them. What comes from where:

- zoneinfo: every zone's node, type, start_pfn, spanned, present and managed pages, its min/low/
  high watermarks, its protection (lowmem_reserve[]), its numa counters, and per CPU the pcp
  count, high and batch. The CPUs are the pagesets' CPUs.
- pagetypeinfo: the free blocks of every order and migratetype (the free lists; buddyinfo,
  read a moment apart, may differ by a block or two: pagetypeinfo's counts are taken, and
  buddyinfo's totals only for a list of 100,000 blocks or more, which pagetypeinfo prints as
  ">100000") and the number of pageblocks of each migratetype.
- nodeN_distance: the SLIT distances (the zonelists follow from them as in Linux).
- nodeN_cpulist (optional): which CPUs each node has; without it the CPUs are numbered node by
  node, as many on each node as the CPUs divide evenly (what a QEMU -numa cpus=... line gives).
- slabinfo: each cache's name, object size and active objects.

The placement rule (the snapshot says how many blocks of each kind, not where):

1. In each zone the absent pages (spanned - present) come first, then the reserved ones
   (present - managed): neither is ever given to the allocator. The managed pages are the rest
   of the span, up to its end.
2. The managed pages start as the largest naturally aligned blocks that tile them (as
   memblock hands memory to the buddy allocator). The free blocks are cut out of them largest
   order first (migratetypes in enum order): each takes a whole block of its order whose buddy
   is not all managed (at the ends of the managed pages) if there is one, else the smallest block
   that can hold it with room for a buddy that stays in use (an order-10 block takes a whole
   order-10 one), the highest such block first, split as expand() does, the upper half free. No free
   block's buddy is then a free block of its order: the free lists are a state Linux can be in,
   and exactly the snapshot's.
3. Pageblock migratetypes match the "Number of blocks type" table: pageblocks holding free pages
   take the migratetype most of their free pages have, most free pages first, while that type
   has pageblocks left; the others take the remaining counts from the lowest pfn up, Unmovable,
   Reclaimable, HighAtomic, Isolate, then Movable.
4. Everything else is in use: imported blocks (allocated before the model started). From them,
   in order: each CPU's pcp count as order-0 pages on its pageblock's migratetype's list, then
   the slab caches' active objects (their slab pages), allocated on each node in proportion to
   the node's slab pages (nr_slab_reclaimable + nr_slab_unreclaimable of zoneinfo's per-node
   stats).

A free in a later trace of a page the trace did not allocate takes an imported block of its
order (Machine.replay); of a kmem_cache object, one of the cache's imported objects.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kernel_model import _core
from kernel_model.mm import (
    MAX_PAGE_ORDER,
    MIGRATE_TYPES,
    MIGRATETYPE_NAMES,
    NR_PAGE_ORDERS,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
    ZONE_NAMES,
)
from kernel_model.procfs import FREECOUNT_CAP, ZONEINFO_NUMA, ZoneRecord, parse_zoneinfo
from kernel_model.slabinfo import parse_slabinfo

# "remaining pageblocks" order of the rule above
_REST_ORDER = [MIGRATETYPE_NAMES.index(n) for n in ("Unmovable", "Reclaimable", "HighAtomic", "Isolate", "Movable")]


class SnapshotError(ValueError):
    """A snapshot that does not describe a machine: the message names the file and line."""


def _file(path: Path, name: str) -> Path:
    for candidate in (path / f"{name}.txt", path / name):
        if candidate.is_file():
            return candidate
    raise SnapshotError(f"{path / (name + '.txt')}: missing (the snapshot needs /proc/{name})")


def read_text(path: Path, error: type[ValueError] = SnapshotError) -> str:
    """A /proc or /sys text of a snapshot, or one `error` naming the file."""
    try:
        return path.read_text()
    except OSError as e:
        raise error(f"{path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise error(f"{path}: not UTF-8 text (byte {e.start})") from None


def parse_file(path: Path, parser, error: type[ValueError] = SnapshotError):
    """parser (kernel_model.procfs, slabinfo: they say "line N: ...") over the file's text; a
    parse error becomes one `error` naming the file and line."""
    text = read_text(path, error)
    try:
        return parser(text)
    except ValueError as e:
        raise error(f"{path}:{str(e).removeprefix('line ')}") from None


@dataclass
class FreeArea:
    """One zone of buddyinfo and pagetypeinfo, with where it was read."""

    per_order: list[int]                 # free blocks per order: per_type's sums
    per_type: list[list[int]]            # pagetypeinfo [migratetype][order]
    pageblocks: list[int]                # pagetypeinfo's "Number of blocks type"
    where: str                           # "pagetypeinfo.txt:LINE" of the zone's free counts


@dataclass
class Snapshot:
    """What Machine.from_procfs reads, checked."""

    path: Path
    zones: list[ZoneRecord]
    free: dict[tuple[int, str], FreeArea]
    distances: list[list[int]]
    cpu_to_node: list[int]
    slabinfo: list[dict]
    slab_lines: dict[str, int]
    zoneinfo_file: Path
    slab_file: Path

    @property
    def nodes(self) -> int:
        return len(self.distances)

    def populated(self) -> list[ZoneRecord]:
        return [z for z in self.zones if z["spanned"]]


def _read_free(path: Path, nodes_zones: set[tuple[int, str]]) -> dict[tuple[int, str], FreeArea]:
    buddy_file, pti_file = _file(path, "buddyinfo"), _file(path, "pagetypeinfo")
    buddy: dict[tuple[int, str], tuple[list[int], int]] = {}
    for lineno, line in enumerate(read_text(buddy_file).splitlines(), 1):
        if not line.strip():
            continue
        m = re.fullmatch(rf"Node (\d+), zone\s+(\S+)((?:\s+\d+){{{NR_PAGE_ORDERS}}})\s*", line)
        if not m:
            raise SnapshotError(f"{buddy_file}:{lineno}: not a buddyinfo line ({NR_PAGE_ORDERS} orders)")
        buddy[int(m.group(1)), m.group(2)] = ([int(x) for x in m.group(3).split()], lineno)
    types: dict[tuple[int, str], tuple[list[list[int]], int]] = {}
    blocks: dict[tuple[int, str], list[int]] = {}
    for lineno, line in enumerate(read_text(pti_file).splitlines(), 1):
        if ", type " in line:
            m = re.fullmatch(rf"Node\s+(\d+), zone\s+(\S+), type\s+(\S+)((?:\s+>?\d+){{{NR_PAGE_ORDERS}}})\s*",
                             line)
            if not m or m.group(3) not in MIGRATETYPE_NAMES:
                raise SnapshotError(f"{pti_file}:{lineno}: not a pagetypeinfo free count line")
            key = int(m.group(1)), m.group(2)
            counts, _ = types.setdefault(key, ([[0] * NR_PAGE_ORDERS for _ in MIGRATETYPE_NAMES], lineno))
            # a count of FREECOUNT_CAP or more prints as ">100000": -1 until buddyinfo resolves it
            counts[MIGRATETYPE_NAMES.index(m.group(3))] = [-1 if x.startswith(">") else int(x)
                                                           for x in m.group(4).split()]
        elif re.match(r"Node \d+, zone", line):
            m = re.fullmatch(rf"Node (\d+), zone\s+(\S+)((?:\s+\d+){{{MIGRATE_TYPES}}})\s*", line)
            if not m:
                raise SnapshotError(f"{pti_file}:{lineno}: not a pagetypeinfo pageblock count line")
            blocks[int(m.group(1)), m.group(2)] = [int(x) for x in m.group(3).split()]
    out = {}
    for key in sorted(nodes_zones):
        if key not in buddy:
            raise SnapshotError(f"{buddy_file}: no line for node {key[0]} zone {key[1]}")
        if key not in types or key not in blocks:
            raise SnapshotError(f"{pti_file}: no free counts or pageblock counts for node {key[0]} zone {key[1]}")
        per_order, bline = buddy[key]
        per_type, tline = types[key]
        for o in range(NR_PAGE_ORDERS):
            # a list of FREECOUNT_CAP blocks or more prints as ">100000": buddyinfo's total tells it
            capped = [t for t in range(MIGRATE_TYPES) if per_type[t][o] < 0]
            known = sum(per_type[t][o] for t in range(MIGRATE_TYPES) if t not in capped)
            if len(capped) == 1 and per_order[o] - known >= FREECOUNT_CAP:
                per_type[capped[0]][o] = per_order[o] - known
            elif capped:
                raise SnapshotError(f"{pti_file}:{tline}: node {key[0]} zone {key[1]}: the free blocks of order {o} "
                                    f"are past what pagetypeinfo counts, and {buddy_file.name}:{bline} does not "
                                    "tell them apart")
        # read a moment apart, the two may differ by a block or two: pagetypeinfo's lists are taken
        out[key] = FreeArea([sum(row[o] for row in per_type) for o in range(NR_PAGE_ORDERS)], per_type, blocks[key],
                            f"{pti_file}:{tline}")
    return out


def _read_distances(path: Path, nodes: int) -> list[list[int]]:
    rows = []
    for n in range(nodes):
        f = _file(path, f"node{n}_distance")
        text = read_text(f).split()
        try:
            row = [int(x) for x in text]
        except ValueError:
            raise SnapshotError(f"{f}:1: not a line of distances") from None
        if len(row) != nodes:
            raise SnapshotError(f"{f}:1: {len(row)} distances for {nodes} nodes")
        rows.append(row)
    return rows


def _read_cpus(path: Path, nodes: int, nr_cpus: int, zoneinfo: Path) -> list[int]:
    cpu_to_node = [-1] * nr_cpus
    files = [p for n in range(nodes) for p in (path / f"node{n}_cpulist.txt", path / f"node{n}_cpulist") if p.is_file()]
    if not files:
        if nr_cpus % nodes:
            raise SnapshotError(f"{zoneinfo}: {nr_cpus} CPUs do not divide over {nodes} nodes; give "
                                f"nodeN_cpulist files (or cpu_to_node) to say where they are")
        return [c * nodes // nr_cpus for c in range(nr_cpus)]
    for n in range(nodes):
        f = _file(path, f"node{n}_cpulist")
        for part in read_text(f).strip().split(","):
            if not part:
                continue
            m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
            if not m:
                raise SnapshotError(f"{f}:1: not a CPU list")
            lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
            for c in range(lo, hi + 1):
                if c >= nr_cpus:
                    raise SnapshotError(f"{f}:1: CPU {c}, but zoneinfo's pagesets have {nr_cpus} CPUs")
                cpu_to_node[c] = n
    if -1 in cpu_to_node:
        raise SnapshotError(f"{path}: CPU {cpu_to_node.index(-1)} is on no node's cpulist")
    return cpu_to_node


def read_snapshot(path: str | Path, cpu_to_node: Sequence[int] | None = None) -> Snapshot:
    """Read and check a snapshot directory (see the module's docstring)."""
    path = Path(path)
    if not path.is_dir():
        raise SnapshotError(f"{path}: not a directory (a /proc + /sys snapshot such as a capture's before/)")
    zf = _file(path, "zoneinfo")
    zones = parse_file(zf, parse_zoneinfo)
    if not zones:
        raise SnapshotError(f"{zf}:1: no zones")
    names = ZONE_NAMES
    nodes = max(z.node for z in zones) + 1
    nr_cpus = 0
    for z in zones:
        if z.zone not in names:
            raise SnapshotError(f"{zf}:{z.line}: zone {z.zone!r} is not one the model has ({', '.join(names)})")
        need = ["pages free", "min", "low", "high", "spanned", "present", "managed"]
        missing = [k for k in need if k not in z.values] + ([] if z.protection else ["protection"])
        if missing:
            raise SnapshotError(f"{zf}:{z.line}: node {z.node} zone {z.zone} has no {missing[0]} line")
        if len(z.protection) != len(names):
            raise SnapshotError(f"{zf}:{z.lines['protection']}: {len(z.protection)} protection values, "
                                f"the model has {len(names)} zone types")
        if z["present"] > z["spanned"] or z["managed"] > z["present"]:
            bad = "present" if z["present"] > z["spanned"] else "managed"
            raise SnapshotError(f"{zf}:{z.lines[bad]}: node {z.node} zone {z.zone}: {bad} {z[bad]} exceeds its "
                                f"{'spanned' if bad == 'present' else 'present'} pages")
        if not z["spanned"]:
            continue
        if z.zone == "Device":
            raise SnapshotError(f"{zf}:{z.line}: a populated Device zone (the model has no ZONE_DEVICE memory)")
        if "start_pfn" not in z.values or not z.pagesets:
            raise SnapshotError(f"{zf}:{z.line}: populated zone without start_pfn or pagesets")
        if z["start_pfn"] + z["spanned"] > _core.NO_PFN:
            raise SnapshotError(f"{zf}:{z.lines['spanned']}: the zone ends beyond the model's 32-bit pfns")
        for ps in z.pagesets:
            if set(ps) != {"cpu", "line", "count", "high", "batch"}:
                raise SnapshotError(f"{zf}:{ps['line']}: a pageset without its count, high and batch")
        cpus = [ps["cpu"] for ps in z.pagesets]
        if cpus != list(range(len(cpus))) or (nr_cpus and len(cpus) != nr_cpus):
            raise SnapshotError(f"{zf}:{z.pagesets[0]['line']}: pagesets of CPUs {cpus}: the model needs CPUs "
                                f"0..N-1, the same in every zone")
        nr_cpus = len(cpus)
    if not nr_cpus:
        raise SnapshotError(f"{zf}:1: no populated zone")
    if nr_cpus > _core.MAX_CPUS or nodes > _core.MAX_NODES:
        raise SnapshotError(f"{zf}:1: {nodes} nodes and {nr_cpus} CPUs; the model has at most "
                            f"{_core.MAX_NODES} and {_core.MAX_CPUS}")
    spans = sorted((z["start_pfn"], z["start_pfn"] + z["spanned"], z) for z in zones if z["spanned"])
    for (_, end, a), (start, _, b) in zip(spans, spans[1:], strict=False):
        if start < end:
            raise SnapshotError(f"{zf}:{b.line}: node {b.node} zone {b.zone} overlaps node {a.node} zone {a.zone}")
    present = {(z.node, z.zone) for z in zones if z["present"]}
    free = _read_free(path, present)
    for z in zones:
        if (z.node, z.zone) not in present:
            continue
        fa = free[z.node, z.zone]
        free_pages = sum(n << o for o, n in enumerate(fa.per_order))
        pcp = sum(ps["count"] for ps in z.pagesets)
        if free_pages + pcp > z["managed"]:
            raise SnapshotError(f"{fa.where}: node {z.node} zone {z.zone}: {free_pages} free pages and {pcp} on pcp "
                                f"lists, more than its {z['managed']} managed pages")
        nblocks = ((z["start_pfn"] + z["spanned"] + PAGEBLOCK_NR_PAGES - 1) >> PAGEBLOCK_ORDER) - \
            (z["start_pfn"] >> PAGEBLOCK_ORDER)
        if sum(fa.pageblocks) != nblocks:
            raise SnapshotError(f"{fa.where}: node {z.node} zone {z.zone} spans {nblocks} pageblocks, the "
                                f"\"Number of blocks type\" table counts {sum(fa.pageblocks)}")
    sf = _file(path, "slabinfo")
    slabinfo = parse_file(sf, parse_slabinfo)
    slab_lines = {}
    for lineno, line in enumerate(read_text(sf).splitlines(), 1):
        if lineno > 2 and line.split():
            slab_lines[line.split()[0]] = lineno
    for row in slabinfo:
        if not 0 < row["objsize"] <= 4 << 20 and row["active_objs"]:
            raise SnapshotError(f"{sf}:{slab_lines[row['name']]}: object size {row['objsize']} out of range 1..4M")
    distances = _read_distances(path, nodes)
    cpus = list(cpu_to_node) if cpu_to_node is not None else _read_cpus(path, nodes, nr_cpus, zf)
    if len(cpus) != nr_cpus or any(not 0 <= n < nodes for n in cpus):
        raise SnapshotError(f"cpu_to_node {cpus}: {nr_cpus} CPUs on nodes 0..{nodes - 1} needed")
    return Snapshot(path, zones, free, distances, cpus, slabinfo, slab_lines, zf, sf)


# ---- the placement rule -------------------------------------------------------------------

def _tile(start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) as the largest naturally aligned blocks, lowest first."""
    out = []
    while start < end:
        order = MAX_PAGE_ORDER
        while order and (start & ((1 << order) - 1) or start + (1 << order) > end):
            order -= 1
        out.append((start, order))
        start += 1 << order
    return out


@dataclass
class ZoneLayout:
    free_blocks: np.ndarray    # rows (pfn, order, migratetype) in list order
    used_blocks: np.ndarray
    pageblocks: np.ndarray     # migratetype per pageblock


def layout_zone(z: ZoneRecord, fa: FreeArea) -> ZoneLayout:
    """Where a zone's free blocks, imported blocks and pageblock types go (rules 1-3)."""
    start, spanned, managed = z["start_pfn"], z["spanned"], z["managed"]
    lo, hi = start + spanned - managed, start + spanned
    pool: list[list[int]] = [[] for _ in range(NR_PAGE_ORDERS)]   # max-heaps of in-use blocks by pfn
    edge: list[list[int]] = [[] for _ in range(NR_PAGE_ORDERS)]   # the same, whose buddy is not all managed
    for pfn, order in _tile(lo, hi):
        buddy = pfn ^ (1 << order)
        heapq.heappush(edge[order] if order < MAX_PAGE_ORDER and not lo <= buddy < hi - (1 << order) + 1
                       else pool[order], -pfn)
    free = []
    for order in range(MAX_PAGE_ORDER, -1, -1):
        for mt in range(MIGRATE_TYPES):
            for _ in range(fa.per_type[mt][order]):
                if edge[order]:   # a block whose buddy is never free: it may be free whole
                    free.append((-heapq.heappop(edge[order]), order, mt))
                    continue
                # the smallest in-use block with room for the free one and a buddy in use
                k = next((k for k in range(min(order + 1, MAX_PAGE_ORDER), NR_PAGE_ORDERS) if pool[k] or edge[k]),
                         None)
                if k is None:
                    raise SnapshotError(f"{fa.where}: node {z.node} zone {z.zone}: its free blocks do not fit its "
                                        f"{managed} managed pages (order {order} and below left over)")
                pfn = -heapq.heappop(pool[k] if pool[k] else edge[k])
                while k > order + 1:
                    k -= 1
                    heapq.heappush(pool[k], -pfn)   # the lower half stays in use
                    pfn += 1 << k
                if k == order + 1:
                    heapq.heappush(pool[order], -pfn)   # the buddy, in use
                    pfn += 1 << order
                free.append((pfn, order, mt))
    base = start >> PAGEBLOCK_ORDER
    nblocks = ((start + spanned + PAGEBLOCK_NR_PAGES - 1) >> PAGEBLOCK_ORDER) - base
    free_by_block = np.zeros((nblocks, MIGRATE_TYPES), np.int64)
    for pfn, order, mt in free:
        for p in range(pfn, pfn + (1 << order), PAGEBLOCK_NR_PAGES):
            free_by_block[(p >> PAGEBLOCK_ORDER) - base, mt] += min(1 << order, PAGEBLOCK_NR_PAGES)
    left = list(fa.pageblocks)
    types = np.full(nblocks, -1, np.int64)
    for i in sorted(range(nblocks), key=lambda i: (-free_by_block[i].sum(), i)):
        if not free_by_block[i].sum():
            break
        mt = int(np.argmax(free_by_block[i]))
        if left[mt]:
            types[i], left[mt] = mt, left[mt] - 1
    rest = iter(mt for mt in _REST_ORDER for _ in range(left[mt]))
    for i in range(nblocks):
        if types[i] < 0:
            types[i] = next(rest)
    used = sorted((-p, k) for heaps in (pool, edge) for k, heap in enumerate(heaps) for p in heap)
    used_rows = [(pfn, k, int(types[(pfn >> PAGEBLOCK_ORDER) - base])) for pfn, k in used]
    return ZoneLayout(np.array(free, np.uint32).reshape(-1, 3), np.array(used_rows, np.uint32).reshape(-1, 3),
                      types.astype(np.uint8))


def _node_slab_share(snap: Snapshot) -> list[float]:
    pages = [0] * snap.nodes
    for z in snap.zones:
        pages[z.node] += z.values.get("nr_slab_reclaimable", 0) + z.values.get("nr_slab_unreclaimable", 0)
    total = sum(pages)
    return [p / total for p in pages] if total else [1 / snap.nodes] * snap.nodes


def build(cls: type, path: str | Path, cpu_to_node: Sequence[int] | None = None, **kwargs) -> Any:
    """Machine.from_procfs (cls: Machine, which this module does not import): the machine the
    snapshot at path describes; kwargs are Machine's own."""
    laid_out = {"nodes", "node_mem", "cpus_per_node", "topology", "zones", "distances", "min_free_kbytes"} & set(kwargs)
    if laid_out:
        raise ValueError(f"a machine from a snapshot takes its layout from it, not from {sorted(laid_out)[0]}")
    snap = read_snapshot(path, cpu_to_node)
    layout = [{"zones": [{"zone": z.zone, "start_pfn": z["start_pfn"], "spanned_pages": z["spanned"],
                          "usable_pfns": []} for z in snap.populated() if z.node == n]} for n in range(snap.nodes)]
    nr_kmalloc = len(kwargs.get("kmalloc_classes") or _core.KMALLOC_SIZES)
    kwargs.setdefault("max_caches", nr_kmalloc + len(snap.slabinfo) + 256)
    m = cls(zones=layout, cpu_to_node=snap.cpu_to_node, distances=snap.distances, **kwargs)
    core = m._core
    for z in snap.populated():
        zt = ZONE_NAMES.index(z.zone)
        fa = snap.free.get((z.node, z.zone))
        if fa is None:   # spanned but nothing present: holes only, pageblocks as memmap_init leaves them
            nblocks = len(core.pageblock_migratetypes(z.node, zt))
            core.import_zone(z.node, zt, 0, 0, np.zeros((0, 3), np.uint32), np.zeros((0, 3), np.uint32),
                             np.full(nblocks, MIGRATETYPE_NAMES.index("Movable"), np.uint8))
            continue
        zl = layout_zone(z, fa)
        core.import_zone(z.node, zt, z["present"], z["managed"], zl.free_blocks, zl.used_blocks, zl.pageblocks)
    keys = [(z.node, ZONE_NAMES.index(z.zone)) for z in snap.zones]
    # min_free_kbytes as the zones' min watermarks add up to (sysctl vm is not part of /proc's snapshot)
    core.finish_import(sum(z["min"] for z in snap.zones) * 4,
                       {k: (z["min"], z["low"], z["high"]) for k, z in zip(keys, snap.zones, strict=True)},
                       {k: z.protection for k, z in zip(keys, snap.zones, strict=True)},
                       {k: [(ps["high"], ps["batch"]) for ps in z.pagesets]
                        for k, z in zip(keys, snap.zones, strict=True) if z["spanned"]},
                       {k: [z.values.get(name, 0) for name in ZONEINFO_NUMA]
                        for k, z in zip(keys, snap.zones, strict=True)})
    for z, (nid, zt) in zip(snap.zones, keys, strict=True):
        for ps in z.pagesets if m.pcp else ():   # without pcp lists their pages stay in use
            if ps["count"] and core.import_pcp_pages(nid, zt, ps["cpu"], ps["count"]) != ps["count"]:
                raise SnapshotError(f"{snap.zoneinfo_file}:{ps['line']}: node {nid} zone {z.zone} has not "
                                    f"{ps['count']} pages in use for CPU {ps['cpu']}'s pcp lists")
    m.node_pages = [sum(z["managed"] for z in snap.zones if z.node == n) for n in range(snap.nodes)]
    ends = [z["start_pfn"] + z["spanned"] for z in snap.populated()]
    m._layout = [(z.node, ZONE_NAMES.index(z.zone), z["start_pfn"], z["spanned"],
                  [(end - z["managed"], end)] if z["managed"] else []) for z, end in zip(snap.populated(), ends,
                                                                                          strict=True)]
    m.snapshot_path = snap.path
    _import_slabs(m, snap)
    return m


def _import_slabs(m: Any, snap: Snapshot) -> None:
    """Every slabinfo cache with its active objects (rule 4): the kmalloc-N caches the model has
    take their rows, the others become caches of the row's object size."""
    core, share = m._core, _node_slab_share(snap)
    by_name = {c.name: c for c in m.caches()}
    objs, start, left, imported = [], [], [], {}
    first_cpu = [m.cpu_to_node.index(n) if n in m.cpu_to_node else 0 for n in range(snap.nodes)]
    core.set_importing(True)
    try:
        for row in snap.slabinfo:
            cache = by_name.get(row["name"]) or m.kmem_cache_create(row["name"], row["objsize"])
            imported[row["name"]] = cache.index
            while len(start) <= cache.index:
                start.append(sum(len(o) for o in objs))
                left.append(0)
                objs.append(np.zeros(0, np.uint64))
            got, counts = [], [int(row["active_objs"] * f) for f in share]
            counts[share.index(max(share))] += row["active_objs"] - sum(counts)
            for nid, n in enumerate(counts):
                if n:
                    got.append(core.import_objects(cache.index, n, first_cpu[nid], nid))
            objs[cache.index] = np.concatenate(got) if got else np.zeros(0, np.uint64)
            left[cache.index] = len(objs[cache.index])
            if left[cache.index] < row["active_objs"]:
                where = f"{snap.slab_file}:{snap.slab_lines[row['name']]}"
                raise SnapshotError(f"{where}: the {row['active_objs']} objects of {row['name']} do not fit the "
                                    "memory the zones have in use")
    finally:
        core.set_importing(False)
    start = np.cumsum([0] + [len(o) for o in objs])[:-1] if objs else np.zeros(0, np.int64)
    core.set_imported_objects(np.concatenate(objs) if objs else np.zeros(0, np.uint64), start, left)
    m._imported_caches = imported
