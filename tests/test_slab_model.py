"""The C slab allocator against the pure-Python reference SLUB: same addresses, same slabs and lists."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule
from slab_invariants import check_slab_invariants
from test_buddy_model import assert_same_state

from kernel_model import Machine
from kernel_model.reference.buddy import RefMachine
from kernel_model.reference.slab import RefSlabAllocator, get_order

sizes = st.one_of(st.sampled_from([8, 16, 24, 64, 96, 100, 192, 200, 512, 700, 2048, 4096, 8192]),
                  st.integers(0, 9000), st.integers(8193, 70000))
# a machine's own kmalloc classes: ascending multiples of 8 up to 8 KiB (None: Linux's)
class_lists = st.one_of(st.none(), st.lists(st.integers(1, 1024).map(lambda k: 8 * k), min_size=1, max_size=24,
                                            unique=True).map(sorted))


def assert_same_slabs(m: Machine, ref: RefSlabAllocator) -> None:
    core = m._core
    assert core.nr_caches == len(ref.caches)
    for cache in range(core.nr_caches):
        for nid in range(m.nodes):
            assert core.node_partial(cache, nid) == [s.pfn for s in ref.partial[cache][nid]]
            assert core.cache(cache)["nodes"][nid]["nr_slabs"] == ref.nr_slabs[cache][nid]
        for cpu in range(len(m.cpu_to_node)):
            active, free, partial = core.cpu_freelist(cache, cpu)
            c = ref.cpu[cache][cpu]
            assert active == (c.slab.pfn if c.slab else None)
            assert free == list(c.freelist)
            assert partial == [s.pfn for s in reversed(c.partial)]
    ours = {s[0]: s for nid in range(m.nodes) for s in core.slabs(nid)}
    assert sorted(ours) == sorted(ref.slabs)
    for pfn, (_, cache, order, inuse, frozen, free) in ours.items():
        r = ref.slabs[pfn]
        assert (cache, order, inuse, frozen, free) == (r.cache, r.order, r.inuse, r.frozen, list(r.freelist))


class SlabVersusReference(RuleBasedStateMachine):
    objects = Bundle("objects")   # (addr, cache index or None, large order or None)
    caches = Bundle("caches")

    @initialize(nodes=st.integers(1, 2), node_pages=st.integers(300, 3000), cpus_per_node=st.integers(1, 2),
                pcp=st.booleans(), classes=class_lists)
    def setup(self, nodes, node_pages, cpus_per_node, pcp, classes):
        self.m = Machine(nodes=nodes, node_mem=node_pages * 4096, cpus_per_node=cpus_per_node, pcp=pcp,
                         kmalloc_classes=classes)
        self.pages = RefMachine.like(self.m)
        self.ref = RefSlabAllocator(self.pages, nodes, *([classes] if classes else []))
        self.peak = {"kmalloc": 0, "all": 0}
        self.ncpus = nodes * cpus_per_node
        self.live: dict[int, int] = {}   # slab objects: addr -> cache

    def _node(self, node):
        return None if node is None else node % self.m.nodes

    @rule(target=objects, size=sizes, cpu=st.integers(0, 3), node=st.one_of(st.none(), st.integers(0, 1)))
    def kmalloc(self, size, cpu, node):
        cpu, node = cpu % self.ncpus, self._node(node)
        addr = self.m.kmalloc(size, cpu=cpu, node=node)
        assert addr == self.ref.kmalloc_alloc(size, cpu, node)
        if addr is None or addr == 16:
            return (addr, None, None) if addr == 16 else None
        if size > self.m.kmalloc_classes[-1]:
            return addr, None, get_order(size)
        cache = self.m.kmalloc_cache(size).index
        self.live[addr] = cache
        return addr, cache, None

    @rule(target=caches, size=st.integers(1, 5000), align=st.sampled_from([8, 16, 64, 256]),
          reclaimable=st.booleans(), hwcache=st.booleans())
    def cache_create(self, size, align, reclaimable, hwcache):
        c = self.m.kmem_cache_create(f"test-{size}", size, align=align, reclaimable=reclaimable,
                                     hwcache_align=hwcache)
        assert c.index == self.ref.create(size, align, (2 if reclaimable else 0) | (1 if hwcache else 0))
        return c

    @rule(target=objects, cache=caches, cpu=st.integers(0, 3), node=st.one_of(st.none(), st.integers(0, 1)))
    def cache_alloc(self, cache, cpu, node):
        cpu, node = cpu % self.ncpus, self._node(node)
        addr = self.m.kmem_cache_alloc(cache, cpu=cpu, node=node)
        assert addr == self.ref.alloc(cache.index, cpu, node)
        if addr is None:
            return None
        self.live[addr] = cache.index
        return addr, cache.index, None

    @rule(obj=consumes(objects), cpu=st.integers(0, 3), via_cache=st.booleans())
    def free(self, obj, cpu, via_cache):
        if obj is None:
            return
        addr, cache, large = obj
        cpu %= self.ncpus
        if via_cache and cache is not None:
            self.m.kmem_cache_free(self.m.caches()[cache], addr, cpu=cpu)
        else:
            self.m.kfree(addr, cpu=cpu)
        self.ref.free_addr(addr, cpu, large)
        self.live.pop(addr, None)

    @rule(data=st.data())
    def bad_frees_are_refused(self, data):
        if self.live:
            addr = data.draw(st.sampled_from(sorted(self.live)))
            others = [c for c in self.m.caches() if c.index != self.live[addr]]
            if others:   # a machine with one kmalloc class and no other cache has none
                with pytest.raises(ValueError, match="another cache"):
                    self.m.kmem_cache_free(data.draw(st.sampled_from(others)), addr)
            with pytest.raises(ValueError, match="not an allocated object"):
                self.m.kfree(addr + 4)
        with pytest.raises(ValueError):
            self.m.kfree(data.draw(st.integers(17, 1 << 44)) | 1)

    @invariant()
    def same_state(self):
        assert_same_state(self.m, self.pages)
        assert_same_slabs(self.m, self.ref)
        check_slab_invariants(self.m, self.live)

    @invariant()
    def slab_usage_counts_the_slabs(self):
        """Pages and tail bytes held by the kmalloc caches' slabs and by all slabs, and their peaks,
        as the reference's slabs add up."""
        usage = self.m.slab_usage()
        for kind, caches in (("kmalloc", range(len(self.ref.classes))), ("all", range(len(self.ref.caches)))):
            slabs = [s for s in self.ref.slabs.values() if s.cache in caches]
            pages = sum(1 << s.order for s in slabs)
            tail = sum((4096 << s.order) - s.objects * self.ref.caches[s.cache].size for s in slabs)
            self.peak[kind] = max(self.peak[kind], pages)
            assert (usage[kind]["pages"], usage[kind]["tail_bytes"], usage[kind]["peak_pages"]) == \
                (pages, tail, self.peak[kind])


SlabVersusReference.TestCase.settings = settings(
    max_examples=120, stateful_step_count=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TestSlabVersusReference = SlabVersusReference.TestCase


def test_long_slab_churn_matches_reference():
    """Fill / mostly-free phases on 4 CPUs: cpu partial drains, node partial reuse, slab discards,
    remote frees and node-mismatch deactivation all happen, and the reference agrees throughout."""
    rng = random.Random(11)
    m = Machine(nodes=2, node_mem="8M", cpus_per_node=2)
    pages = RefMachine.like(m)
    ref = RefSlabAllocator(pages, 2)
    live = []
    for _phase in range(4):
        for _ in range(3000):
            size, cpu = rng.choice([8, 32, 64, 96, 128, 192, 256, 512, 1024, 3000, 12000]), rng.randrange(4)
            node = rng.choice([None, None, None, 0, 1])
            addr = m.kmalloc(size, cpu, node)
            assert addr == ref.kmalloc_alloc(size, cpu, node)
            if addr:
                live.append((addr, size))
        rng.shuffle(live)
        for addr, size in live[:2500]:
            cpu = rng.randrange(4)
            m.kfree(addr, cpu)
            ref.free_addr(addr, cpu, get_order(size) if size > 8192 else None)
        live = live[2500:]
        assert_same_state(m, pages)
        assert_same_slabs(m, ref)
    stats = [m.slab_stats(c) for c in m.caches()]
    for counter in ("cpu_partial_drain", "free_slab", "alloc_from_partial", "cpu_partial_free", "alloc_refill",
                    "cpu_partial_node", "free_frozen", "alloc_node_mismatch", "deactivate_bypass"):
        assert sum(s[counter] for s in stats) > 0, counter
    check_slab_invariants(m, {a: m.kmalloc_cache(s).index for a, s in live if s <= 8192})


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(st.integers(-8, 9000), max_size=70),
                 st.lists(st.integers(0, 1030).map(lambda k: 8 * k), max_size=70).map(sorted),
                 class_lists.filter(bool)))
def test_python_checks_kmalloc_classes_as_the_core_does(classes):
    """Machine's error messages come from a Python check; the core's own check agrees with it."""
    from kernel_model import _core
    from kernel_model.machine import check_kmalloc_classes

    try:
        check_kmalloc_classes(classes)
        accepted = True
    except ValueError:
        accepted = False
    core = classes != [] and all(0 <= c < 1 << 32 for c in classes) and _core._kmalloc_classes_valid(
        np.array(classes, np.uint32))
    assert accepted == core
    if accepted:
        assert Machine(nodes=1, node_mem="4M", kmalloc_classes=classes).kmalloc_classes == tuple(classes)
