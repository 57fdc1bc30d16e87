"""The C buddy allocator against the pure-Python reference: same pfns, same lists, same invariants."""

from __future__ import annotations

import random

import pytest
from buddy_invariants import check_invariants
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from kernel_model import Machine
from kernel_model.mm import MAX_PAGE_ORDER
from kernel_model.reference.buddy import RefMachine

orders = st.one_of(st.integers(0, 3), st.integers(0, MAX_PAGE_ORDER))
migratetypes = st.sampled_from(["unmovable", "movable", "reclaimable"])


def assert_same_state(m: Machine, ref: RefMachine) -> None:
    assert m.nr_free().tolist() == ref.nr_free()
    for node in range(m.nodes):
        assert m.free_lists(node) == ref.free_lists(node)
        assert m.pageblock_counts(node) == ref.pageblock_counts(node)
        for cpu in range(len(m.cpu_to_node)):
            assert m.pcp_lists(node, cpu) == ref.pcp_lists(node, cpu)


class BuddyVersusReference(RuleBasedStateMachine):
    @initialize(
        nodes=st.integers(1, 3),
        node_pages=st.lists(st.integers(1, 2600), min_size=3, max_size=3),
        cpus_per_node=st.integers(1, 2),
        pcp=st.booleans(),
        mobility_grouping=st.booleans(),
    )
    def setup(self, nodes, node_pages, cpus_per_node, pcp, mobility_grouping):
        sizes = [p * 4096 for p in node_pages[:nodes]]
        self.m = Machine(nodes=nodes, node_mem=sizes, cpus_per_node=cpus_per_node, pcp=pcp,
                         mobility_grouping=mobility_grouping)
        self.ref = RefMachine.like(self.m)
        self.live: dict[int, int] = {}
        self.ncpus = nodes * cpus_per_node

    @rule(order=orders, mt=migratetypes, cpu=st.integers(0, 5), node=st.one_of(st.none(), st.integers(0, 2)))
    def alloc(self, order, mt, cpu, node):
        cpu %= self.ncpus
        if node is not None:
            node %= self.m.nodes
        pfn = self.m.alloc_pages(order, mt, cpu=cpu, node=node)
        assert pfn == self.ref.alloc_pages(order, ["unmovable", "movable", "reclaimable"].index(mt), cpu, node)
        if pfn is not None:
            self.live[pfn] = order

    @precondition(lambda self: self.live)
    @rule(data=st.data(), cpu=st.integers(0, 5))
    def free(self, data, cpu):
        pfn = data.draw(st.sampled_from(sorted(self.live)))
        order = self.live.pop(pfn)
        self.m.free_pages(pfn, order, cpu=cpu % self.ncpus)
        self.ref.free_pages(pfn, order, cpu % self.ncpus)

    @rule(pfn=st.integers(-100, 8000), order=st.integers(0, MAX_PAGE_ORDER))
    def bad_free_is_rejected(self, pfn, order):
        pfn += self.m.base_pfn
        assume(self.live.get(pfn) != order)
        with pytest.raises(ValueError):
            self.m.free_pages(pfn, order)

    @rule()
    def drain(self):
        self.m.drain_pcp()
        self.ref.drain_all_pages()

    @invariant()
    def same_state_and_invariants(self):
        assert_same_state(self.m, self.ref)
        check_invariants(self.m, self.live)


BuddyVersusReference.TestCase.settings = settings(
    max_examples=150, stateful_step_count=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TestBuddyVersusReference = BuddyVersusReference.TestCase


@pytest.mark.parametrize("pcp,mobility_grouping", [(True, True), (False, True), (True, False)])
def test_long_random_churn_matches_reference(pcp, mobility_grouping):
    """20 k ops under memory pressure: fallbacks, pageblock steals, watermark failures all happen."""
    rng = random.Random(7)
    m = Machine(nodes=2, node_mem=["6M", "5M"], cpus_per_node=2, pcp=pcp, mobility_grouping=mobility_grouping)
    ref = RefMachine.like(m)
    live: list[tuple[int, int]] = []
    for step in range(20000):
        if live and (rng.random() < 0.45 or len(live) > 900):
            pfn, order = live.pop(rng.randrange(len(live)))
            cpu = rng.randrange(4)
            m.free_pages(pfn, order, cpu)
            ref.free_pages(pfn, order, cpu)
        else:
            order = rng.choice([0, 0, 0, 0, 1, 1, 2, 3, 4, 9])
            mt, cpu = rng.randrange(3), rng.randrange(4)
            pfn = m.alloc_pages(order, mt, cpu)
            assert pfn == ref.alloc_pages(order, mt, cpu), f"step {step}"
            if pfn is not None:
                live.append((pfn, order))
        if step % 2000 == 0:
            assert_same_state(m, ref)
    assert_same_state(m, ref)
    check_invariants(m, dict(live))
    stats = m.zone_stats()
    # migratetype fallbacks happened (without mobility grouping every request is unmovable)
    assert (sum(s["extfrag"] for s in stats.values()) > 0) == mobility_grouping
    assert sum(s["alloc_fail"] for s in stats.values()) > 0       # and allocations failed at min
    assert sum(s["wmark_low_fail"] for s in stats.values()) > 0   # and the slow path served some
    if pcp:
        assert sum(s["pcp_drain"] for s in stats.values()) > 0
    m.drain_pcp()
    ref.drain_all_pages()
    assert_same_state(m, ref)


def test_split_and_merge_follow_linux():
    """expand() keeps the low half; freeing merges back to one order-10 block."""
    m = Machine(nodes=1, node_mem="4M", pcp=False)
    base = m.base_pfn
    assert m.nr_free()[0, 1].tolist() == [0] * 10 + [1]
    pfn = m.alloc_pages(0)
    assert pfn == base
    # upper halves of orders 9..0 went back to the movable lists
    assert m.nr_free()[0, 1].tolist() == [1] * 10 + [0]
    assert m.free_lists(0)[(0, 1)] == [base + 1] and m.free_lists(0)[(9, 1)] == [base + 512]
    m.free_pages(pfn, 0)
    assert m.nr_free()[0, 1].tolist() == [0] * 10 + [1]


def test_fallback_steals_whole_pageblock_for_unmovable():
    m = Machine(nodes=1, node_mem="8M", pcp=False)
    pfn = m.alloc_pages(0, "unmovable")
    # the largest movable block (order 10) was stolen: both its pageblocks became unmovable
    assert m.pageblock_counts(0)[:3] == [2, 2, 0]
    assert m.nr_free()[0, 0].tolist() == [1] * 10 + [0]   # the split remainder is unmovable
    assert m.zone_stats()[0]["extfrag"] == 1
    assert m.pfn_to_nid(pfn) == 0


def test_allocation_falls_back_along_the_zonelist():
    m = Machine(nodes=2, node_mem="4M", pcp=False)
    got = [m.alloc_pages(0, cpu=0) for _ in range(2048)]
    nodes = [m.pfn_to_nid(p) for p in got if p is not None]
    assert nodes[0] == 0 and 1 in nodes   # node 0 hit its watermark, node 1 served the rest
    assert m.zonelist(0) == [0, 1] and m.zonelist(1) == [1, 0]


def test_drain_pcp_returns_everything():
    m = Machine(nodes=2, node_mem="16M", cpus_per_node=2)
    pfns = [m.alloc_pages(0, cpu=c % 4) for c in range(100)]
    for i, p in enumerate(pfns):
        m.free_pages(p, 0, cpu=(i + 1) % 4)
    assert m.nr_free_pages() < 2 * 4096
    m.drain_pcp()
    assert m.nr_free_pages() == 2 * 4096
    assert m.buddyinfo().splitlines()[0].split()[-1] == "4"


def test_one_tib_model_fits_in_four_gib():
    """16-byte page descriptors, touched lazily: a 1 TiB machine builds and allocates."""
    from kernel_model import _core

    assert _core.PAGE_DESCRIPTOR_BYTES == 16
    m = Machine(nodes=4, node_mem="256G", cpus_per_node=1)
    pfn = m.alloc_pages(10, cpu=3)
    assert m.pfn_to_nid(pfn) == 3
    m.free_pages(pfn, 10, cpu=3)
    assert m.nr_free()[:, :, 10].sum() == (1 << 40) >> 22


@pytest.mark.parametrize("kwargs,msg", [
    (dict(nodes=0), "nodes"), (dict(node_mem="1000"), "multiple"), (dict(node_mem="12Q"), "invalid size"),
    (dict(nodes=2, node_mem=["4M"]), "2 nodes"), (dict(cpus_per_node=0), "CPUs"),
])
def test_machine_argument_errors(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        Machine(**kwargs)


def test_api_argument_errors():
    m = Machine(nodes=1, node_mem="4M")
    with pytest.raises(ValueError, match="order"):
        m.alloc_pages(11)
    with pytest.raises(ValueError, match="migratetype"):
        m.alloc_pages(0, "highatomic")
    with pytest.raises(ValueError, match="cpu"):
        m.alloc_pages(0, cpu=1)
    with pytest.raises(ValueError, match="outside"):
        m.free_pages(m.base_pfn - 1, 0)
    with pytest.raises(ValueError, match="kfree"):
        m.free_pages(m.kmalloc(64) >> 12, 0)
