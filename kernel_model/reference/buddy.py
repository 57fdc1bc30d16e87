"""Reference buddy allocator in pure Python, written from Linux 6.1 mm/page_alloc.c.

It mirrors the C core's behaviour (same pfns, same list order) with plain Python
data: a block table keyed by head pfn, free lists as pfn-linked lists; zones of any
type on each node, zonelists by node then highest zone first, lowmem reserves in the
watermark check. Used by the property tests and as the baseline of `memsim bench buddy`.
"""

from __future__ import annotations

from kernel_model._core import ALLOC_MT_MASK, ALLOC_ZONE_MASK, ALLOC_ZONE_SHIFT, LOWMEM_RESERVE_RATIO
from kernel_model.mm import (
    MAX_PAGE_ORDER,
    MIGRATE_HIGHATOMIC,
    MIGRATE_ISOLATE,
    MIGRATE_MOVABLE,
    MIGRATE_PCPTYPES,
    MIGRATE_RECLAIMABLE,
    MIGRATE_TYPES,
    MIGRATE_UNMOVABLE,
    PAGE_ALLOC_COSTLY_ORDER,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
    ZONE_NAMES,
)
from kernel_model.trace import NO_NODE, Op

ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE = (ZONE_NAMES.index(n) for n in ("DMA", "DMA32", "Normal", "Movable"))
# gfp_zone of the allocation records' zone field: none (Normal), DMA, DMA32, HIGHMEM|MOVABLE
GFP_HIGHEST_ZONE = (ZONE_NORMAL, ZONE_DMA, ZONE_DMA32, ZONE_MOVABLE)

BUDDY, PCP, ALLOCATED = "buddy", "pcp", "allocated"
FALLBACKS = {
    MIGRATE_UNMOVABLE: (MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE),
    MIGRATE_MOVABLE: (MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE),
    MIGRATE_RECLAIMABLE: (MIGRATE_UNMOVABLE, MIGRATE_MOVABLE),
}


class PfnList:
    """A doubly linked list of pfns with O(1) push at either end and removal."""

    def __init__(self) -> None:
        self.next: dict[int, int | None] = {}
        self.prev: dict[int, int | None] = {}
        self.head: int | None = None
        self.tail: int | None = None

    def push(self, pfn: int, tail: bool) -> None:
        if self.head is None:
            self.head = self.tail = pfn
            self.next[pfn] = self.prev[pfn] = None
        elif tail:
            self.next[self.tail], self.prev[pfn], self.next[pfn] = pfn, self.tail, None
            self.tail = pfn
        else:
            self.prev[self.head], self.next[pfn], self.prev[pfn] = pfn, self.head, None
            self.head = pfn

    def remove(self, pfn: int) -> None:
        p, n = self.prev.pop(pfn), self.next.pop(pfn)
        if p is None:
            self.head = n
        else:
            self.next[p] = n
        if n is None:
            self.tail = p
        else:
            self.prev[n] = p

    def __len__(self) -> int:
        return len(self.next)

    def __iter__(self):
        pfn = self.head
        while pfn is not None:
            yield pfn
            pfn = self.next[pfn]


class Block:
    __slots__ = ("state", "order", "mt")

    def __init__(self, state: str, order: int, mt: int) -> None:
        self.state, self.order, self.mt = state, order, mt


class Pcp:
    def __init__(self) -> None:
        self.count = self.high = self.batch = self.free_factor = 0
        self.lists = [PfnList() for _ in range(MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1))]


class Zone:
    def __init__(self, node: int, zone_idx: int, start: int, spanned: int, nr_cpus: int, no_mobility: bool) -> None:
        self.node, self.zone_idx, self.start, self.spanned = node, zone_idx, start, spanned
        self.managed = 0
        self.lowmem_reserve = [0] * len(ZONE_NAMES)
        self.no_mobility = no_mobility
        self.free_lists = [[PfnList() for _ in range(MIGRATE_TYPES)] for _ in range(MAX_PAGE_ORDER + 1)]
        self.blocks: dict[int, Block] = {}   # head pfn -> block; other pfns have no entry
        self.pageblock: dict[int, int] = {}  # pageblock index -> migratetype
        self.nr_free_pages = 0
        self.wmark = (0, 0, 0)
        self.pcp = [Pcp() for _ in range(nr_cpus)]
        for pfn in range(start - start % PAGEBLOCK_NR_PAGES, start + spanned, PAGEBLOCK_NR_PAGES):
            self.set_pageblock(pfn, MIGRATE_MOVABLE)

    def spans(self, pfn: int) -> bool:
        return self.start <= pfn < self.start + self.spanned

    def get_pageblock(self, pfn: int) -> int:
        return self.pageblock[pfn >> PAGEBLOCK_ORDER]

    def set_pageblock(self, pfn: int, mt: int) -> None:
        if self.no_mobility and mt < MIGRATE_PCPTYPES:
            mt = MIGRATE_UNMOVABLE
        self.pageblock[pfn >> PAGEBLOCK_ORDER] = mt

    # free lists
    def add_free(self, pfn: int, order: int, mt: int, tail: bool) -> None:
        self.blocks[pfn] = Block(BUDDY, order, mt)
        self.free_lists[order][mt].push(pfn, tail)
        self.nr_free_pages += 1 << order

    def del_free(self, pfn: int) -> Block:
        b = self.blocks.pop(pfn)
        self.free_lists[b.order][b.mt].remove(pfn)
        self.nr_free_pages -= 1 << b.order
        return b

    def is_free_buddy(self, pfn: int, order: int) -> bool:
        b = self.blocks.get(pfn) if self.spans(pfn) else None
        return b is not None and b.state == BUDDY and b.order == order

    def free_one(self, pfn: int, order: int, mt: int, to_tail: bool) -> None:
        buddy = 0
        while order < MAX_PAGE_ORDER:
            buddy = pfn ^ (1 << order)
            if not self.is_free_buddy(buddy, order):
                break
            if order >= PAGEBLOCK_ORDER:
                bmt = self.get_pageblock(buddy)
                if mt != bmt and (mt >= MIGRATE_PCPTYPES or bmt >= MIGRATE_PCPTYPES):
                    break
            self.del_free(buddy)
            pfn &= buddy
            order += 1
        if not to_tail and order < MAX_PAGE_ORDER - 1:
            higher = buddy & pfn
            to_tail = self.is_free_buddy(higher ^ (1 << (order + 1)), order + 1)
        self.add_free(pfn, order, mt, to_tail)

    # allocation
    def rmqueue_smallest(self, order: int, mt: int) -> int | None:
        for o in range(order, MAX_PAGE_ORDER + 1):
            pfn = self.free_lists[o][mt].head
            if pfn is None:
                continue
            self.del_free(pfn)
            for high in range(o - 1, order - 1, -1):   # expand
                self.add_free(pfn + (1 << high), high, mt, False)
            self.blocks[pfn] = Block(ALLOCATED, order, mt)
            return pfn
        return None

    def can_steal(self, order: int, start_mt: int) -> bool:
        return (order >= PAGEBLOCK_ORDER // 2 or start_mt in (MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE)
                or self.no_mobility)

    def suitable_fallback(self, order: int, mt: int) -> tuple[int | None, bool]:
        for fmt in FALLBACKS[mt]:
            if self.free_lists[order][fmt].head is not None:
                return fmt, self.can_steal(order, mt)
        return None, False

    def steal(self, pfn: int, start_mt: int, whole_block: bool) -> None:
        order = self.blocks[pfn].order
        old = self.get_pageblock(pfn)
        if old != MIGRATE_HIGHATOMIC:
            if order >= PAGEBLOCK_ORDER:
                for i in range(1 << (order - PAGEBLOCK_ORDER)):
                    self.set_pageblock(pfn + i * PAGEBLOCK_NR_PAGES, start_mt)
            elif whole_block:
                free, movable = self.move_freepages_block(pfn, start_mt)
                if start_mt == MIGRATE_MOVABLE:
                    alike = movable
                elif old == MIGRATE_MOVABLE:
                    alike = PAGEBLOCK_NR_PAGES - (free + movable)
                else:
                    alike = 0
                if free:
                    if free + alike >= PAGEBLOCK_NR_PAGES // 2 or self.no_mobility:
                        self.set_pageblock(pfn, start_mt)
                    return
        self.del_free(pfn)
        self.add_free(pfn, order, start_mt, True)

    def move_freepages_block(self, pfn: int, mt: int) -> tuple[int, int]:
        start = pfn & ~(PAGEBLOCK_NR_PAGES - 1)
        end = start + PAGEBLOCK_NR_PAGES
        if not (self.spans(start) and self.spans(end - 1)):
            return 0, 0
        moved = movable = 0
        p = start
        while p < end:
            b = self.blocks.get(p)
            if b is None:
                p += 1
                continue
            if b.state == BUDDY:
                self.del_free(p)
                self.add_free(p, b.order, mt, True)
                moved += 1 << b.order
            elif b.state == ALLOCATED and b.mt == MIGRATE_MOVABLE:
                movable += 1 << b.order
            p += 1 << b.order
        return moved, movable

    def rmqueue_fallback(self, order: int, start_mt: int) -> bool:
        for current in range(MAX_PAGE_ORDER, order - 1, -1):
            fmt, can_steal = self.suitable_fallback(current, start_mt)
            if fmt is None:
                continue
            if not can_steal and start_mt == MIGRATE_MOVABLE and current > order:
                for current in range(order, MAX_PAGE_ORDER + 1):
                    fmt, can_steal = self.suitable_fallback(current, start_mt)
                    if fmt is not None:
                        break
            self.steal(self.free_lists[current][fmt].head, start_mt, can_steal)
            return True
        return False

    def rmqueue(self, order: int, mt: int) -> int | None:
        while True:
            pfn = self.rmqueue_smallest(order, mt)
            if pfn is not None or not self.rmqueue_fallback(order, mt):
                return pfn

    def watermark_ok(self, order: int, mark: int, highest: int) -> bool:
        if self.nr_free_pages - ((1 << order) - 1) <= mark + self.lowmem_reserve[highest]:
            return False
        if order == 0:
            return True
        return any(self.free_lists[o][t].head is not None
                   for o in range(order, MAX_PAGE_ORDER + 1) for t in range(MIGRATE_PCPTYPES))

    # per-CPU lists
    def pcp_alloc(self, cpu: int, order: int, mt: int) -> int | None:
        pcp = self.pcp[cpu]
        lst = pcp.lists[MIGRATE_PCPTYPES * order + mt]
        pcp.free_factor >>= 1
        if lst.head is None:
            batch = pcp.batch if pcp.batch <= 1 else max(pcp.batch >> order, 2)
            got = 0
            for _ in range(batch):
                pfn = self.rmqueue(order, mt)
                if pfn is None:
                    break
                self.blocks[pfn].state = PCP
                lst.push(pfn, True)
                got += 1
            pcp.count += got << order
            if lst.head is None:
                return None
        pfn = lst.head
        lst.remove(pfn)
        pcp.count -= 1 << order
        return pfn

    def pcp_free(self, cpu: int, pfn: int, order: int, list_mt: int) -> None:
        pcp = self.pcp[cpu]
        pindex = MIGRATE_PCPTYPES * order + list_mt
        self.blocks[pfn].state = PCP
        pcp.lists[pindex].push(pfn, False)
        pcp.count += 1 << order
        free_high = bool(pcp.free_factor) and 0 < order <= PAGE_ALLOC_COSTLY_ORDER
        high = 0 if free_high else pcp.high
        if pcp.count >= high:
            if free_high:
                n = pcp.count
            elif high < pcp.batch:
                n = 1
            else:
                lo, hi = pcp.batch, high - pcp.batch
                n = pcp.batch << pcp.free_factor
                if n < hi:
                    pcp.free_factor += 1
                n = min(max(n, lo), hi)
            self.pcp_free_bulk(pcp, n, pindex)

    def pcp_free_bulk(self, pcp: Pcp, count: int, pindex: int) -> None:
        count = min(count, pcp.count)
        lo, hi = 0, len(pcp.lists) - 1
        pindex -= 1
        while count > 0:
            while True:
                pindex += 1
                if pindex > hi:
                    pindex = lo
                if pcp.lists[pindex].head is not None:
                    break
                if pindex == hi:
                    hi -= 1
                if pindex == lo:
                    lo += 1
            lst = pcp.lists[pindex]
            order = pindex // MIGRATE_PCPTYPES
            while True:
                pfn = lst.tail
                lst.remove(pfn)
                b = self.blocks.pop(pfn)
                count -= 1 << order
                pcp.count -= 1 << order
                self.free_one(pfn, order, b.mt, False)
                if count <= 0 or lst.head is None:
                    break


class RefMachine:
    """Same contract as the C core's Machine for page allocation; see kernel_model.Machine.

    zones: every populated zone as (node, zone type, start_pfn, spanned_pages, usable pfn
    ranges), in the order the machine set them up (a node's zones lowest type first)."""

    def __init__(self, zones: list[tuple[int, int, int, int, list[tuple[int, int]]]], cpu_to_node: list[int],
                 zonelists: list[list[int]], pcp: bool = True, mobility_grouping: bool = True,
                 min_free_kbytes: int | None = None, lowmem_reserve_ratio=LOWMEM_RESERVE_RATIO) -> None:
        self.cpu_to_node = list(cpu_to_node)
        self.zonelists = zonelists
        self.nr_nodes = len(zonelists)
        self.pcp = pcp
        self.no_mobility = not mobility_grouping
        self.zones: list[Zone] = []          # in set-up order (what drain_all_pages walks)
        self.node_zones: dict[tuple[int, int], Zone] = {}
        for nid, zt, start, spanned, usable in zones:
            z = Zone(nid, zt, start, spanned, len(cpu_to_node), self.no_mobility)
            self.zones.append(z)
            self.node_zones[nid, zt] = z
            for lo, hi in usable:
                self.free_range(z, lo, hi)
        # build_zonelists_in_node_order: nodes in zonelist order, each with its managed zones from the highest
        self.zonerefs = [[self.node_zones[n, zt] for n in zonelists[nid]
                          for zt in range(len(ZONE_NAMES) - 1, -1, -1)
                          if (n, zt) in self.node_zones and self.node_zones[n, zt].managed]
                         for nid in range(self.nr_nodes)]
        self.setup_lowmem_reserve(lowmem_reserve_ratio)
        self.setup_watermarks(min_free_kbytes)
        self.setup_pcp()
        self.policy = [{"mode": "default", "nodes": [], "weights": {}, "il_prev": None, "il_weight": 0}
                       for _ in self.cpu_to_node]
        self.numastat = [dict.fromkeys(("numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node",
                                        "other_node"), 0) for _ in range(self.nr_nodes)]

    @classmethod
    def like(cls, machine) -> RefMachine:
        """A reference machine configured like a kernel_model.Machine."""
        layout = [(nid, ZONE_NAMES.index(zone), start, spanned, usable)
                  for nid, zone, start, spanned, usable in machine.zone_layout()]
        return cls(layout, machine.cpu_to_node, [machine.zonelist(n) for n in range(machine.nodes)],
                   machine.pcp, machine.mobility_grouping, machine.min_free_kbytes, machine.lowmem_reserve_ratio)

    def free_range(self, z: Zone, start: int, end: int) -> None:
        z.managed += end - start
        while start < end:
            order = MAX_PAGE_ORDER
            while order and start % (1 << order):
                order -= 1
            while start + (1 << order) > end:
                order -= 1
            z.free_one(start, order, z.get_pageblock(start), True)
            start += 1 << order

    def node_managed(self, nid: int) -> int:
        return sum(z.managed for z in self.zones if z.node == nid)

    def setup_lowmem_reserve(self, ratio) -> None:
        """zone i keeps (managed pages of zones i+1..j of its node) // ratio[i] from requests up to zone j."""
        for nid in range(self.nr_nodes):
            managed = [self.node_zones[nid, t].managed if (nid, t) in self.node_zones else 0
                       for t in range(len(ZONE_NAMES))]
            for i in range(len(ZONE_NAMES) - 1):
                if (nid, i) not in self.node_zones:
                    continue
                z = self.node_zones[nid, i]
                for j in range(i + 1, len(ZONE_NAMES)):
                    z.lowmem_reserve[j] = sum(managed[i + 1:j + 1]) // ratio[i] if ratio[i] and z.managed else 0

    def setup_watermarks(self, min_free_kbytes: int | None) -> None:
        lowmem = sum(z.managed for z in self.zones)
        if not min_free_kbytes:
            min_free_kbytes = min(max(_isqrt(lowmem * 4 * 16), 128), 262144)
        self.min_free_kbytes = min_free_kbytes
        pages_min = min_free_kbytes >> 2
        for z in self.zones:
            if not lowmem:
                break
            wmin = pages_min * z.managed // lowmem
            tmp = max(wmin >> 2, z.managed // 10000 * 10 + z.managed % 10000 * 10 // 10000)
            z.wmark = (wmin, wmin + tmp, wmin + 2 * tmp)

    def setup_pcp(self) -> None:
        for z in self.zones:
            batch = max(min(z.managed >> 10, 256) // 4, 1)
            batch = max((1 << ((batch + batch // 2).bit_length() - 1)) - 1, 1)
            cpus = sum(1 for n in self.cpu_to_node if n == z.node) or len(self.cpu_to_node)
            high = max(z.wmark[1] // cpus, batch << 2)
            for p in z.pcp:
                p.batch, p.high = batch, high

    def zone_of(self, pfn: int) -> Zone | None:
        return next((z for z in self.zones if z.spans(pfn)), None)

    def set_mempolicy(self, cpu: int, mode: str, nodes=(), weights=None) -> None:
        pol = self.policy[cpu]
        pol.update(mode=mode, nodes=sorted(nodes), il_prev=None, il_weight=0)
        if weights:
            pol["weights"].update(dict(zip(nodes, weights, strict=True)))

    def _interleave_node(self, pol: dict) -> int:
        nodes = pol["nodes"]

        def after(prev):
            return next((n for n in nodes if prev is None or n > prev), nodes[0])
        if pol["mode"] == "interleave":
            pol["il_prev"] = after(pol["il_prev"])
            return pol["il_prev"]
        if not pol["il_weight"] or pol["il_prev"] not in nodes:
            pol["il_prev"] = after(pol["il_prev"])
            pol["il_weight"] = pol["weights"].get(pol["il_prev"], 1)
        pol["il_weight"] -= 1
        return pol["il_prev"]

    def alloc_pages(self, order: int, mt: int, cpu: int = 0, nid: int | None = None) -> int | None:
        """Allocate following the CPU's memory policy (or prefer node nid, as alloc_pages_node);
        mt may carry GFP zone bits as the allocation records do (mm_alloc_flags)."""
        local, everything = self.cpu_to_node[cpu], list(range(self.nr_nodes))
        pol = self.policy[cpu]
        if nid is not None:
            return self._alloc_from(order, mt, cpu, nid, everything)
        mode = pol["mode"]
        if mode == "preferred":
            return self._alloc_from(order, mt, cpu, pol["nodes"][0], everything)
        if mode == "bind":
            return self._alloc_from(order, mt, cpu, local, pol["nodes"])
        if mode == "preferred_many":
            pfn = self._alloc_from(order, mt, cpu, local, pol["nodes"])
            return pfn if pfn is not None else self._alloc_from(order, mt, cpu, local, everything)
        if mode in ("interleave", "weighted_interleave"):
            target = self._interleave_node(pol)
            pfn = self._alloc_from(order, mt, cpu, target, everything)
            if pfn is not None and self.zone_of(pfn).node == target:
                self.numastat[target]["interleave_hit"] += 1
            return pfn
        return self._alloc_from(order, mt, cpu, local, everything)

    def _alloc_from(self, order: int, flags: int, cpu: int, preferred: int, allowed) -> int | None:
        mt = MIGRATE_UNMOVABLE if self.no_mobility else flags & ALLOC_MT_MASK
        highest = GFP_HIGHEST_ZONE[(flags & ALLOC_ZONE_MASK) >> ALLOC_ZONE_SHIFT]
        zones = [z for z in self.zonerefs[preferred] if z.zone_idx <= highest and z.node in allowed]
        if not zones:
            return None
        pz = zones[0].node   # the preferred zone's node: numa_hit / numa_miss are against it
        for wm in (1, 0):   # low watermark, then min (the slow path)
            for z in zones:
                if not z.watermark_ok(order, z.wmark[wm], highest):
                    continue
                if self.pcp and order <= PAGE_ALLOC_COSTLY_ORDER:
                    pfn = z.pcp_alloc(cpu, order, mt)
                else:
                    pfn = z.rmqueue(order, mt)
                if pfn is not None:
                    n = z.node
                    z.blocks[pfn] = Block(ALLOCATED, order, mt)
                    if n == pz:
                        self.numastat[n]["numa_hit"] += 1
                    else:
                        self.numastat[n]["numa_miss"] += 1
                        self.numastat[pz]["numa_foreign"] += 1
                    self.numastat[n]["local_node" if n == self.cpu_to_node[cpu] else "other_node"] += 1
                    return pfn
        return None

    def free_pages(self, pfn: int, order: int, cpu: int = 0) -> None:
        z = self.zone_of(pfn)
        b = z.blocks.get(pfn) if z else None
        if b is None or b.state != ALLOCATED or b.order != order:
            raise ValueError(f"pfn {pfn} is not an allocated order-{order} block")
        self.free_block(pfn, order, cpu)

    def free_block(self, pfn: int, order: int, cpu: int) -> None:
        """Free an allocated block (also the slab allocator's path)."""
        z = self.zone_of(pfn)
        b = z.blocks[pfn]
        mt = z.get_pageblock(pfn)
        b.mt = mt
        if self.pcp and order <= PAGE_ALLOC_COSTLY_ORDER and mt != MIGRATE_ISOLATE:
            z.pcp_free(cpu, pfn, order, MIGRATE_MOVABLE if mt >= MIGRATE_PCPTYPES else mt)
        else:
            del z.blocks[pfn]
            z.free_one(pfn, order, mt, False)

    def drain_all_pages(self) -> None:
        for cpu in range(len(self.cpu_to_node)):
            for z in self.zones:
                if z.pcp[cpu].count:
                    z.pcp_free_bulk(z.pcp[cpu], z.pcp[cpu].count, 0)

    def _zones_of(self, nid: int) -> list[Zone]:
        """A node's zones, highest type first (as Machine.free_lists lists them)."""
        return sorted((z for z in self.zones if z.node == nid), key=lambda z: -z.zone_idx)

    def nr_free(self) -> list[list[list[int]]]:
        """Free blocks [node][migratetype][order], a node's zones summed."""
        return [[[sum(len(z.free_lists[o][t]) for z in self._zones_of(n)) for o in range(MAX_PAGE_ORDER + 1)]
                 for t in range(MIGRATE_TYPES)] for n in range(self.nr_nodes)]

    def free_lists(self, nid: int) -> dict[tuple[int, int], list[int]]:
        return {(o, t): [pfn for z in self._zones_of(nid) for pfn in z.free_lists[o][t]]
                for o in range(MAX_PAGE_ORDER + 1) for t in range(MIGRATE_TYPES)}

    def pcp_lists(self, nid: int, cpu: int) -> dict[tuple[int, int], list[int]]:
        return {(i // MIGRATE_PCPTYPES, i % MIGRATE_PCPTYPES): [pfn for z in self._zones_of(nid)
                                                                 for pfn in z.pcp[cpu].lists[i]]
                for i in range(MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1))}

    def pageblock_counts(self, nid: int) -> list[int]:
        return [sum(1 for z in self._zones_of(nid) for mt in z.pageblock.values() if mt == t)
                for t in range(MIGRATE_TYPES)]

    def replay_pages(self, records) -> list[int | None]:
        """Replay page alloc/free records (well-formed ones); returns the pfn of every alloc record."""
        live: dict[int, tuple[int, int]] = {}
        out: list[int | None] = []
        for op, mt, cpu, ident, order, node in zip(records["op"].tolist(), records["flags"].tolist(),
                                                   records["cpu"].tolist(), records["id"].tolist(),
                                                   records["arg0"].tolist(), records["arg1"].tolist(), strict=False):
            if op == Op.PAGE_ALLOC:
                pfn = self.alloc_pages(order, mt, cpu, None if node == NO_NODE else node)
                if pfn is not None:
                    live[ident] = (pfn, order)
                out.append(pfn)
            elif op == Op.PAGE_FREE and ident in live:
                pfn, order = live.pop(ident)
                self.free_pages(pfn, order, cpu)
        return out


def _isqrt(x: int) -> int:
    import math

    return math.isqrt(x)
