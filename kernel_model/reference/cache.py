"""Reference cache hierarchy in pure Python, with the semantics of core/cache.h.

Sets are lists: for LRU and FIFO the list order is the recency/age order (front
= most recent), other policies keep fixed ways. Lines are [block, dirty, rrpv].
"""

from __future__ import annotations

from collections import OrderedDict

M64 = (1 << 64) - 1
POLICIES = ("lru", "fifo", "random", "plru", "srrip")


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
                                 "writebacks", "back_invalidations", "compulsory", "capacity", "conflict"), 0)

    def link(self, lower: RefCache) -> None:
        self.next = lower
        lower.upper.append(self)

    # -- helpers
    def _set(self, block: int) -> list:
        return self.sets[block % self.nsets]

    def _find(self, s: list, block: int) -> int | None:
        return next((w for w, ln in enumerate(s) if ln is not None and ln[0] == block), None)

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
            if ln is None:
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

    def _remove(self, s: list, w: int) -> bool:
        dirty = s[w][1]
        if self._ordered():
            s.pop(w)
            s.append(None)
        else:
            s[w] = None
        return dirty

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
            s.insert(0, [block, bool(dirty), 0])
            w = 0
        else:
            w = self._victim(s, si)
            old = s[w]
            s[w] = [block, bool(dirty), 0]
        if self.policy == "plru":
            self._plru_touch(si, w)
        elif self.policy == "srrip":
            s[w][2] = 2
        if old is not None:
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
