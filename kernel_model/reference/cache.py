"""Reference cache hierarchy in pure Python, with the semantics of core/cache.h.

Sets are lists: for LRU and FIFO the list order is the recency/age order (front
= most recent), other policies keep fixed ways. Lines are [block, dirty, rrpv,
shared]; an empty way is None, or a Ghost when another CPU's store emptied it
(RefCoherence: MESI between CPUs' private levels, design.md section 10).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

M64 = (1 << 64) - 1
POLICIES = ("lru", "fifo", "random", "plru", "srrip")


@dataclass
class Ghost:
    """An empty way that held `block` until a store of `cpu` (bytes [lo, hi) of the line, the access's
    tag and base) invalidated it; a miss on block while it lasts is a coherence miss."""
    block: int
    cpu: int
    lo: int
    hi: int
    tag: int = 0
    base: int = 0


def _empty(ln) -> bool:
    return ln is None or isinstance(ln, Ghost)


class RefCache:
    def __init__(self, sets: int, ways: int, line_size: int, policy: str = "lru", write_back: bool = True,
                 write_allocate: bool = True, inclusion: str = "nine", seed: int = 0, classify: bool = False) -> None:
        self.nsets, self.ways, self.line_bits = sets, ways, line_size.bit_length() - 1
        self.policy, self.write_back, self.write_allocate = policy, write_back, write_allocate
        self.inclusion = inclusion
        self.sets = [[None] * ways for _ in range(sets)]
        self.plru = [0] * sets
        self.rng = seed or 0x9E3779B97F4A7C15
        self.next: RefCache | None = None
        self.upper: list[RefCache] = []
        self.classify = classify
        self.seen: set[int] = set()
        self.shadow: OrderedDict[int, None] = OrderedDict()
        self.st = dict.fromkeys(("load_hits", "load_misses", "store_hits", "store_misses", "evictions",
                                 "writebacks", "back_invalidations", "compulsory", "capacity", "conflict",
                                 "coh_invalidations", "coh_misses"), 0)

    def link(self, lower: RefCache) -> None:
        self.next = lower
        lower.upper.append(self)

    # -- helpers
    def _set(self, block: int) -> list:
        return self.sets[block % self.nsets]

    def _find(self, s: list, block: int) -> int | None:
        return next((w for w, ln in enumerate(s) if not _empty(ln) and ln[0] == block), None)

    def _ordered(self) -> bool:
        return self.policy in ("lru", "fifo")

    def _plru_touch(self, si: int, w: int) -> None:
        levels, node = (self.ways - 1).bit_length(), 1
        for lv in range(levels):
            bit = (w >> (levels - 1 - lv)) & 1
            if bit:
                self.plru[si] &= ~(1 << node)
            else:
                self.plru[si] |= 1 << node
            node = 2 * node + bit

    def _plru_victim(self, si: int) -> int:
        levels, node, w = (self.ways - 1).bit_length(), 1, 0
        for _ in range(levels):
            bit = (self.plru[si] >> node) & 1
            w = (w << 1) | bit
            node = 2 * node + bit
        return w

    def _classify(self, block: int, miss: bool) -> None:
        if not self.classify:
            return
        seen = block in self.seen
        self.seen.add(block)
        hit = block in self.shadow
        if hit:
            self.shadow.move_to_end(block, last=False)
        else:
            if len(self.shadow) == self.nsets * self.ways:
                self.shadow.popitem(last=True)
            self.shadow[block] = None
            self.shadow.move_to_end(block, last=False)
        if miss:
            self.st["compulsory" if not seen else "conflict" if hit else "capacity"] += 1

    def _touch(self, s: list, si: int, w: int) -> int:
        if self.policy == "lru":
            s.insert(0, s.pop(w))
            return 0
        if self.policy == "plru":
            self._plru_touch(si, w)
        elif self.policy == "srrip":
            s[w][2] = 0
        return w

    def _victim(self, s: list, si: int) -> int:
        for w, ln in enumerate(s):
            if _empty(ln):
                return w
        if self.policy == "random":
            self.rng ^= (self.rng << 13) & M64
            self.rng ^= self.rng >> 7
            self.rng ^= (self.rng << 17) & M64
            return (self.rng >> 32) % self.ways
        if self.policy == "plru":
            return self._plru_victim(si)
        while True:   # srrip
            for w, ln in enumerate(s):
                if ln[2] == 3:
                    return w
            for ln in s:
                ln[2] += 1

    def _remove(self, s: list, w: int, ghost: Ghost | None = None) -> bool:
        dirty = s[w][1]
        if self._ordered():
            s.pop(w)
            s.append(ghost)
        else:
            s[w] = ghost
        return dirty

    def line(self, block: int) -> list | None:
        s = self._set(block)
        w = self._find(s, block)
        return None if w is None else s[w]

    def take_ghost(self, block: int) -> Ghost | None:
        """The ghost of block in its set, which becomes a plain empty way."""
        s = self._set(block)
        for w, ln in enumerate(s):
            if isinstance(ln, Ghost) and ln.block == block:
                s[w] = None
                return ln
        return None

    # -- operations
    def contains(self, addr: int) -> bool:
        block = addr >> self.line_bits
        return self._find(self._set(block), block) is not None

    def access(self, addr: int, size: int, store: bool) -> None:
        for block in range(addr >> self.line_bits, ((addr + max(size, 1) - 1) >> self.line_bits) + 1):
            (self.store_line if store else self.load_line)(block)

    def _invalidate_up(self, start: int, end: int) -> tuple[bool, int]:
        dirty, removed = False, 0
        for up in self.upper:
            d, r = up._invalidate_up(start, end)
            dirty, removed = dirty or d, removed + r
        for block in range(start >> self.line_bits, ((end - 1) >> self.line_bits) + 1):
            s = self._set(block)
            w = self._find(s, block)
            if w is not None:
                dirty = self._remove(s, w) or dirty
                removed += 1
        return dirty, removed

    def _evict(self, victim: int, dirty: bool) -> None:
        self.st["evictions"] += 1
        if self.inclusion == "inclusive":
            for up in self.upper:
                d, r = up._invalidate_up(victim << self.line_bits, (victim + 1) << self.line_bits)
                dirty = dirty or d
                self.st["back_invalidations"] += r
        if self.next is not None and self.next.inclusion == "exclusive":
            self.next._install(victim, dirty)
            return
        if dirty:
            self.st["writebacks"] += 1
            if self.next is not None:
                self.next.access(victim << self.line_bits, 1 << self.line_bits, True)

    def _install(self, block: int, dirty: bool) -> None:
        si = block % self.nsets
        s = self.sets[si]
        if self._ordered():
            old = s.pop()
            s.insert(0, [block, bool(dirty), 0, False])
            w = 0
        else:
            w = self._victim(s, si)
            old = s[w]
            s[w] = [block, bool(dirty), 0, False]
        if self.policy == "plru":
            self._plru_touch(si, w)
        elif self.policy == "srrip":
            s[w][2] = 2
        if not _empty(old):
            self._evict(old[0], old[1])

    def _fetch(self, block: int) -> bool:
        x = self.next
        if x is None:
            return False
        if x.inclusion != "exclusive":
            x.access(block << self.line_bits, 1 << self.line_bits, False)
            return False
        s = x._set(block)
        w = x._find(s, block)
        x._classify(block, w is None)
        if w is not None:
            x.st["load_hits"] += 1
            return x._remove(s, w)
        x.st["load_misses"] += 1
        return x._fetch(block)

    def load_line(self, block: int) -> None:
        si = block % self.nsets
        s = self.sets[si]
        w = self._find(s, block)
        self._classify(block, w is None)
        if w is not None:
            self.st["load_hits"] += 1
            self._touch(s, si, w)
            return
        self.st["load_misses"] += 1
        self._install(block, self._fetch(block))

    def store_line(self, block: int) -> None:
        si = block % self.nsets
        s = self.sets[si]
        w = self._find(s, block)
        self._classify(block, w is None)
        if w is not None:
            self.st["store_hits"] += 1
            w = self._touch(s, si, w)
            if self.write_back:
                s[w][1] = True
            elif self.next is not None:
                self.next.access(block << self.line_bits, 1 << self.line_bits, True)
            return
        self.st["store_misses"] += 1
        if not self.write_allocate:
            if self.next is not None:
                self.next.access(block << self.line_bits, 1 << self.line_bits, True)
            return
        self._install(block, self._fetch(block) or self.write_back)
        if not self.write_back and self.next is not None:
            self.next.access(block << self.line_bits, 1 << self.line_bits, True)


class RefHierarchy:
    """first levels i1 and d1 (the same object for a unified L1)."""

    def __init__(self, i1: RefCache, d1: RefCache) -> None:
        self.i1, self.d1 = i1, d1

    def access(self, addr: int, size: int, kind: int) -> None:
        if kind == 0:
            self.i1.access(addr, size, False)
        elif kind in (1, 2):
            self.d1.access(addr, size, kind == 2)
        else:
            self.d1.access(addr, size, False)
            self.d1.access(addr, size, True)


COHERENCE_STATS = ("upgrades", "invalidations_sent", "invalidations_received", "transfers", "coherence_misses",
                   "true_sharing", "false_sharing")


class RefCoherence:
    """CPUs' hierarchies kept coherent with MESI: a cache reached from one CPU's hierarchy only is
    private to it. A load of a line the CPU's path does not hold asks the other CPUs (a Modified
    copy is written back to the owner's first shared level and becomes Shared); a store to a line it
    does not hold, or holds Shared, invalidates the other copies, leaving ghosts. Then the access
    runs as without coherence, and the CPU's copies on the path become Shared (a load that found
    other copies, or hit a Shared one) or not (E, or M when dirty)."""

    def __init__(self, cpus: list[RefHierarchy]) -> None:
        self.cpus = cpus
        owners: dict[int, set[int]] = {}
        for k, h in enumerate(cpus):
            for c in (h.i1, h.d1):
                while c is not None:
                    owners.setdefault(id(c), set()).add(k)
                    c = c.next
        self._private = {i for i, o in owners.items() if len(o) == 1}
        self.st = [dict.fromkeys(COHERENCE_STATS, 0) for _ in cpus]
        self.c2c: dict[tuple, dict] = {}

    def _path(self, h: RefHierarchy, ifetch: bool) -> list[RefCache]:
        path, c = [], h.i1 if ifetch else h.d1
        while c is not None and id(c) in self._private:
            path.append(c)
            c = c.next
        return path

    def _domain(self, h: RefHierarchy) -> tuple[list[RefCache], RefCache | None]:
        """Every private level of a CPU, and the first shared level below its data path."""
        levels = []
        for c in (*self._path(h, True), *self._path(h, False)):
            if c not in levels:
                levels.append(c)
        d = self._path(h, False)
        return levels, (d[-1].next if d else h.d1)

    def access(self, cpu: int, addr: int, size: int, kind: int, tag: int = 0, base: int = 0) -> None:
        if kind == 0:
            self._pass(cpu, True, addr, size, False, tag, base)
        elif kind in (1, 2):
            self._pass(cpu, False, addr, size, kind == 2, tag, base)
        else:
            self._pass(cpu, False, addr, size, False, tag, base)
            self._pass(cpu, False, addr, size, True, tag, base)

    def _pass(self, cpu, ifetch, addr, size, store, tag, base) -> None:
        h = self.cpus[cpu]
        bits = (h.i1 if ifetch else h.d1).line_bits
        end = addr + max(size, 1)
        for line in range(addr >> bits, ((end - 1) >> bits) + 1):
            lo, hi = max(addr, line << bits), min(end, (line + 1) << bits)
            self._line(cpu, ifetch, lo, hi - lo, store, tag, base)

    def _line(self, cpu, ifetch, addr, size, store, tag, base) -> None:
        h = self.cpus[cpu]
        first = h.i1 if ifetch else h.d1
        path = self._path(h, ifetch)
        block = addr >> first.line_bits
        lo = addr - (block << first.line_bits)
        hi = lo + max(size, 1)
        copies = [ln for ln in (c.line(block) for c in path) if ln is not None]
        held, shared = bool(copies), any(ln[3] for ln in copies)
        noted = False
        for c in path:                       # the levels the lookup will miss
            if c.line(block) is not None:
                break
            g = c.take_ghost(block)
            if g is None:
                continue
            c.st["coh_misses"] += 1
            if not noted:
                self._note(cpu, block, lo, hi, tag, base, g)
                noted = True
        found = False
        if path and (not held or (store and shared)):
            for other in range(len(self.cpus)):
                if other == cpu:
                    continue
                has, dirty = self._snoop(other, block, store, Ghost(block, cpu, lo, hi, tag, base))
                if store and has:
                    self.st[cpu]["invalidations_sent"] += 1
                if dirty:
                    self.st[cpu]["transfers"] += 1
                found = found or has
            if store and held:
                self.st[cpu]["upgrades"] += 1
        first.access(addr, size, store)
        now_shared = False if store else shared if held else found
        for c in path:
            ln = c.line(block)
            if ln is not None:
                ln[3] = now_shared

    def _snoop(self, other: int, block: int, store: bool, ghost: Ghost) -> tuple[bool, bool]:
        levels, shared_level = self._domain(self.cpus[other])
        has = dirty = False
        for c in levels:
            s = c._set(block)
            w = c._find(s, block)
            if w is None:
                continue
            has, dirty = True, dirty or s[w][1]
            if store:
                c._remove(s, w, Ghost(**vars(ghost)))
                c.st["coh_invalidations"] += 1
            else:
                s[w][1], s[w][3] = False, True
        if has and store:
            self.st[other]["invalidations_received"] += 1
        if dirty and not store and shared_level is not None:
            bits = levels[0].line_bits
            shared_level.access(block << bits, 1 << bits, True)
        return has, dirty

    def _note(self, cpu, block, lo, hi, tag, base, g: Ghost) -> None:
        overlap = lo < g.hi and g.lo < hi
        st = self.st[cpu]
        st["coherence_misses"] += 1
        st["true_sharing" if overlap else "false_sharing"] += 1
        key = (block, tag, base, cpu, g.tag, g.base, g.cpu)
        e = self.c2c.setdefault(key, {"lo": [lo, g.lo], "hi": [hi, g.hi], "true_sharing": 0, "false_sharing": 0})
        e["lo"] = [min(e["lo"][0], lo), min(e["lo"][1], g.lo)]
        e["hi"] = [max(e["hi"][0], hi), max(e["hi"][1], g.hi)]
        e["true_sharing" if overlap else "false_sharing"] += 1


def served_level(h: RefHierarchy, addr: int, size: int, kind: int) -> list[int]:
    """Latency reference: for each line lookup of an access (before making it), the index of the
    level of its path that serves it (the first holding the line), len(path) for memory. A store
    that misses a no-write-allocate first level is taken there."""
    first = h.i1 if kind == 0 else h.d1
    path, c = [], first
    while c is not None:
        path.append(c)
        c = c.next
    passes = [False, True] if kind == 3 else [kind == 2]
    out = []
    for store in passes:
        bits = first.line_bits
        for line in range(addr >> bits, ((addr + max(size, 1) - 1) >> bits) + 1):
            a = max(addr, line << bits)
            level = next((i for i, lv in enumerate(path) if lv.contains(a)), len(path))
            if store and level > 0 and not first.write_allocate:
                level = 0
            out.append(level)
            first.access(a, min(addr + max(size, 1), (line + 1) << bits) - a, store)
    return out
