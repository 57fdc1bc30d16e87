"""Reference SLUB allocator in pure Python, written from Linux 6.1 mm/slub.c.

Freelists are deques (head on the left), slabs are objects, lists are Python lists;
pages come from the reference buddy allocator. Same contract as the C core: the
same addresses, the same slab lists, the same pages taken and given back.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from kernel_model.mm import MAX_PAGE_ORDER, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE, PAGE_SHIFT, PAGE_SIZE
from kernel_model.reference.buddy import RefMachine
from kernel_model.trace import NO_NODE, Op

KMALLOC_SIZES = (8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192)   # Linux 6.1's kmalloc-N
SLUB_MAX_ORDER = 3
MAX_OBJS_PER_PAGE = 32767
ZERO_SIZE_PTR = 16
RECLAIM_ACCOUNT, HWCACHE_ALIGN = 2, 1


def get_order(size: int) -> int:
    return max(size - 1, 0).bit_length() - PAGE_SHIFT if size - 1 >= PAGE_SIZE else 0


def calc_slab_order(size: int, min_objects: int, max_order: int, fract: int) -> int:
    if PAGE_SIZE // size > MAX_OBJS_PER_PAGE:
        return get_order(size * MAX_OBJS_PER_PAGE) - 1
    order = get_order(min_objects * size)
    while order <= max_order:
        slab = PAGE_SIZE << order
        if slab % size <= slab // fract:
            break
        order += 1
    return order


def calculate_order(size: int, nr_cpus: int) -> int:
    """mm/slub.c calculate_order with slub_max_order 3 and min_objects from the CPU count."""
    min_objects = min(4 * (nr_cpus.bit_length() + 1), (PAGE_SIZE << SLUB_MAX_ORDER) // size)
    while min_objects > 1:
        for fract in (16, 8, 4):
            order = calc_slab_order(size, min_objects, SLUB_MAX_ORDER, fract)
            if order <= SLUB_MAX_ORDER:
                return order
        min_objects -= 1
    order = calc_slab_order(size, 1, SLUB_MAX_ORDER, 1)
    return order if order <= SLUB_MAX_ORDER else calc_slab_order(size, 1, MAX_PAGE_ORDER + 1, 1)


@dataclass
class RefCache:
    object_size: int
    size: int
    align: int
    flags: int
    order: int
    min_order: int
    objects: int
    min_partial: int
    cpu_partial_slabs: int


@dataclass
class RefSlab:
    pfn: int
    cache: int
    order: int
    objects: int
    node: int
    freelist: deque = field(default_factory=deque)
    inuse: int = 0
    frozen: bool = False


@dataclass
class RefCpu:
    slab: RefSlab | None = None
    freelist: deque = field(default_factory=deque)
    partial: list = field(default_factory=list)   # a stack: the head is the last element


class RefSlabAllocator:
    def __init__(self, pages: RefMachine, nr_nodes: int, kmalloc_classes: Sequence[int] = KMALLOC_SIZES) -> None:
        """kmalloc_classes: the kmalloc caches' sizes, ascending; a request goes to the smallest that
        holds it, above the largest to the page allocator."""
        self.pages = pages
        self.nr_cpus = len(pages.cpu_to_node)
        self.nr_nodes = nr_nodes
        self.caches: list[RefCache] = []
        self.cpu: list[list[RefCpu]] = []
        self.partial: list[list[list[RefSlab]]] = []      # [cache][node]: head is index 0
        self.nr_slabs: list[list[int]] = []
        self.slabs: dict[int, RefSlab] = {}
        self.classes = tuple(kmalloc_classes)
        self.kmalloc = [self.create(s, s if s & (s - 1) == 0 else 8, 0) for s in self.classes]

    def create(self, size: int, align: int, flags: int) -> int:
        if flags & HWCACHE_ALIGN:
            ralign = 64
            while size <= ralign // 2:
                ralign //= 2
            align = max(align, ralign)
        align = -(-max(align, 8) // 8) * 8
        slot = -(-(-(-size // 8) * 8) // align) * align
        order = calculate_order(slot, self.nr_cpus)
        objects = (PAGE_SIZE << order) // slot
        nr = 6 if slot >= PAGE_SIZE else 24 if slot >= 1024 else 52 if slot >= 256 else 120
        self.caches.append(RefCache(size, slot, align, flags, order, get_order(slot), objects,
                                    min(max((slot.bit_length() - 1) // 2, 5), 10), -(-nr * 2 // objects)))
        self.cpu.append([RefCpu() for _ in range(self.nr_cpus)])
        self.partial.append([[] for _ in range(self.nr_nodes)])
        self.nr_slabs.append([0] * self.nr_nodes)
        return len(self.caches) - 1

    # slabs
    def new_slab(self, cache: int, cpu: int, nid: int | None) -> RefSlab | None:
        s = self.caches[cache]
        mt = MIGRATE_RECLAIMABLE if s.flags & RECLAIM_ACCOUNT else MIGRATE_UNMOVABLE
        order = s.order
        pfn = self.pages.alloc_pages(order, mt, cpu, nid)
        if pfn is None:
            order = s.min_order
            pfn = self.pages.alloc_pages(order, mt, cpu, nid)
            if pfn is None:
                return None
        objects = (PAGE_SIZE << order) // s.size
        slab = RefSlab(pfn, cache, order, objects, self.pages.zone_of(pfn).node, deque(range(objects)))
        self.slabs[pfn] = slab
        return slab

    def discard(self, slab: RefSlab, cpu: int) -> None:
        self.nr_slabs[slab.cache][slab.node] -= 1
        del self.slabs[slab.pfn]
        self.pages.free_block(slab.pfn, slab.order, cpu)

    def unfreeze_partials(self, cache: int, slabs: list[RefSlab], cpu: int) -> None:
        """slabs in list order (head first)."""
        s, discard = self.caches[cache], []
        for slab in slabs:
            slab.frozen = False
            if not slab.inuse and len(self.partial[cache][slab.node]) >= s.min_partial:
                discard.append(slab)
            else:
                self.partial[cache][slab.node].append(slab)
        for slab in reversed(discard):
            self.discard(slab, cpu)

    def put_cpu_partial(self, cache: int, slab: RefSlab, drain: bool, cpu: int) -> None:
        c = self.cpu[cache][cpu]
        if c.partial and drain and len(c.partial) >= self.caches[cache].cpu_partial_slabs:
            old, c.partial = c.partial, [slab]
            self.unfreeze_partials(cache, old[::-1], cpu)
        else:
            c.partial.append(slab)

    def deactivate(self, cache: int, slab: RefSlab, freelist: deque, cpu: int) -> None:
        s = self.caches[cache]
        tail = bool(slab.freelist)
        slab.inuse -= len(freelist)
        slab.freelist = deque(list(freelist) + list(slab.freelist))
        slab.frozen = False
        n = self.partial[cache][slab.node]
        if not slab.inuse and len(n) >= s.min_partial:
            self.discard(slab, cpu)
        elif slab.freelist:
            if tail:
                n.append(slab)
            else:
                n.insert(0, slab)

    def get_partial_node(self, cache: int, nid: int, cpu: int) -> tuple[RefSlab | None, deque | None]:
        s, n = self.caches[cache], self.partial[cache][nid]
        got, got_free, extra = None, None, 0
        for slab in list(n):
            n.remove(slab)
            slab.frozen = True
            if got is None:
                got, got_free = slab, slab.freelist
                slab.freelist, slab.inuse = deque(), slab.objects
            else:
                self.put_cpu_partial(cache, slab, False, cpu)
                extra += 1
            if extra > s.cpu_partial_slabs // 2:
                break
        return got, got_free

    # allocation and free
    def alloc(self, cache: int, cpu: int, nid: int | None = None) -> int | None:
        c = self.cpu[cache][cpu]
        if nid is not None and not self.pages.node_managed(nid):
            nid = None
        if c.freelist and (nid is None or c.slab.node == nid):
            return self._obj(c.slab, c.freelist.popleft())
        slab = c.slab
        while True:
            if slab is not None:
                if nid is not None and slab.node != nid:
                    freelist, c.slab, c.freelist = c.freelist, None, deque()
                    self.deactivate(cache, slab, freelist, cpu)
                elif c.freelist:
                    return self._obj(slab, c.freelist.popleft())
                elif slab.freelist:
                    c.freelist, slab.freelist, slab.inuse = slab.freelist, deque(), slab.objects
                    return self._obj(slab, c.freelist.popleft())
                else:
                    slab.inuse, slab.frozen, c.slab = slab.objects, False, None
            if c.partial:
                slab = c.slab = c.partial.pop()
                continue
            node = self.pages.cpu_to_node[cpu] if nid is None else nid
            slab, freelist = self.get_partial_node(cache, node, cpu)
            if slab is None:
                slab = self.new_slab(cache, cpu, nid)
                if slab is None:
                    return None
                freelist, slab.freelist = slab.freelist, deque()
                slab.inuse, slab.frozen = slab.objects, True
                self.nr_slabs[cache][slab.node] += 1
            c.slab, c.freelist = slab, freelist
            return self._obj(slab, c.freelist.popleft())

    def _obj(self, slab: RefSlab, idx: int) -> int:
        return (slab.pfn << PAGE_SHIFT) + idx * self.caches[slab.cache].size

    def free(self, slab_pfn: int, idx: int, cpu: int) -> None:
        slab = self.slabs[slab_pfn]
        cache, c = slab.cache, self.cpu[slab.cache][cpu]
        if c.slab is slab:
            c.freelist.appendleft(idx)
            return
        prior = bool(slab.freelist)
        slab.freelist.appendleft(idx)
        slab.inuse -= 1
        if slab.frozen:
            return
        if not prior:
            slab.frozen = True
            self.put_cpu_partial(cache, slab, True, cpu)
            return
        n = self.partial[cache][slab.node]
        if not slab.inuse and len(n) >= self.caches[cache].min_partial:
            n.remove(slab)
            self.discard(slab, cpu)

    def kmalloc_cache(self, size: int) -> int:
        return self.kmalloc[next(i for i, s in enumerate(self.classes) if size <= s)]

    def kmalloc_alloc(self, size: int, cpu: int, nid: int | None = None) -> int | None:
        if size == 0:
            return ZERO_SIZE_PTR
        if size > self.classes[-1]:
            pfn = self.pages.alloc_pages(get_order(size), MIGRATE_UNMOVABLE, cpu, nid)
            return None if pfn is None else pfn << PAGE_SHIFT
        return self.alloc(self.kmalloc_cache(size), cpu, nid)

    def slab_of(self, addr: int) -> RefSlab:
        """The slab holding addr: slabs are naturally aligned blocks, so try each alignment."""
        pfn = addr >> PAGE_SHIFT
        for k in range(MAX_PAGE_ORDER + 1):
            slab = self.slabs.get(pfn & ~((1 << k) - 1))
            if slab is not None and slab.order >= k:
                return slab
        raise KeyError(f"{addr:#x} is in no slab")

    def free_addr(self, addr: int, cpu: int, large_order: int | None = None) -> None:
        """Free a live object (or, with large_order, a large kmalloc) by address."""
        if addr == ZERO_SIZE_PTR:
            return
        if large_order is not None:
            self.pages.free_block(addr >> PAGE_SHIFT, large_order, cpu)
            return
        slab = self.slab_of(addr)
        self.free(slab.pfn, (addr - (slab.pfn << PAGE_SHIFT)) // self.caches[slab.cache].size, cpu)

    def replay_kmalloc(self, records) -> list[int | None]:
        """Replay well-formed KMALLOC / KFREE records; returns the address of every KMALLOC."""
        live: dict[int, tuple[int, int | None]] = {}
        out: list[int | None] = []
        for op, cpu, ident, size, node in zip(records["op"].tolist(), records["cpu"].tolist(),
                                              records["id"].tolist(), records["arg0"].tolist(),
                                              records["arg1"].tolist(), strict=True):
            if op == Op.KMALLOC:
                addr = self.kmalloc_alloc(size, cpu, None if node == NO_NODE else node)
                if addr is not None:
                    live[ident] = (addr, get_order(size) if size > self.classes[-1] else None)
                out.append(addr)
            elif op == Op.KFREE and ident in live:
                addr, large = live.pop(ident)
                self.free_addr(addr, cpu, large)
        return out
