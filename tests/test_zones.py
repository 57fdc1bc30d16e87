"""Zones as Linux 6.1 lays them out and uses them: zonelists, GFP zone bits, lowmem reserves,
watermarks; the C core against the reference on multi-zone nodes (hypothesis, stateful)."""

from __future__ import annotations

import pytest
from buddy_invariants import check_invariants
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from test_buddy_model import assert_same_state

from kernel_model import Machine, trace
from kernel_model._core import ALLOC_ZONE_MASK, ALLOC_ZONE_SHIFT, GFP_ZONES, ZONE_NAMES
from kernel_model.mm import MAX_PAGE_ORDER
from kernel_model.reference.buddy import RefMachine
from kernel_model.trace import NO_NODE, Op

GFP = [None, "DMA", "DMA32", "Movable"]
MTS = ["unmovable", "movable", "reclaimable"]


def zoned(nodes: list[list[tuple[str, int, int]]], cpus_per_node: int = 1, **kwargs) -> Machine:
    """A machine whose node n has the zones nodes[n]: (type, spanned, managed) laid out from pfn
    4096 upwards, managed pages at the top of each zone (the rest reserved, as at boot)."""
    layout, pfn = [], 4096
    for zones in nodes:
        node = []
        for name, spanned, managed in zones:
            node.append({"zone": name, "start_pfn": pfn, "spanned_pages": spanned,
                         "usable_pfns": [(pfn + spanned - managed, pfn + spanned)] if managed else []})
            pfn += spanned
        layout.append({"zones": node, "start_pfn": 0, "spanned_pages": 0, "usable_pfns": []})
    n = len(nodes)
    return Machine(zones=layout, cpu_to_node=[c // cpus_per_node for c in range(n * cpus_per_node)],
                   distances=[[10 if i == j else 21 for j in range(n)] for i in range(n)], **kwargs)


def test_lowmem_reserve_and_watermarks_of_the_capture(linux_capture):
    """setup_per_zone_lowmem_reserve on the capture's zones gives the protection lines its
    zoneinfo shows; the watermark split follows __setup_per_zone_wmarks (6.1)."""
    from kernel_model.procfs import parse_zoneinfo

    real = parse_zoneinfo((linux_capture / "before" / "zoneinfo.txt").read_text())
    by_node: dict[int, list] = {}
    for z in real:
        if z["spanned"]:
            by_node.setdefault(z.node, []).append((z.zone, z["spanned"], z["managed"]))
    m = zoned([by_node[n] for n in sorted(by_node)], min_free_kbytes=48492)
    for z in real:
        assert m.zone(z.node, z.zone)["protection"] == z.protection, (z.node, z.zone)
    lowmem = sum(z["managed"] for z in real)
    for z in real:
        mine = m.zone(z.node, z.zone)
        assert mine["min"] == 48492 // 4 * z["managed"] // lowmem
        delta = max(mine["min"] // 4, z["managed"] * 10 // 10000)
        assert (mine["low"], mine["high"]) == (mine["min"] + delta, mine["min"] + 2 * delta)


def test_lowmem_reserve_ratio_zero_and_empty_zones():
    m = zoned([[("DMA", 1024, 1000), ("DMA32", 8192, 8000), ("Normal", 4096, 4096)]],
              lowmem_reserve_ratio=[0, 10, 32, 0, 0])
    assert m.zone(0, "DMA")["protection"] == [0, 0, 0, 0, 0]            # ratio 0: no reserve
    assert m.zone(0, "DMA32")["protection"] == [0, 0, 409, 409, 409]    # 4096 // 10
    assert m.zone(0, "Normal")["protection"] == [0] * 5
    m = zoned([[("DMA", 1024, 0), ("DMA32", 8192, 8000)]])
    assert m.zone(0, "DMA")["protection"] == [0] * 5                    # no managed pages: no reserve
    assert m.zone(0, "DMA")["managed"] == 0 and m.zone(0, "DMA32")["protection"] == [0] * 5


def test_zonelist_takes_the_highest_allowed_zone_first_then_the_next_node():
    m = zoned([[("DMA", 1024, 1024), ("DMA32", 2048, 2048), ("Normal", 2048, 2048)], [("Normal", 4096, 4096)]],
              pcp=False)
    zone_of = {name: (z[2], z[2] + z[3]) for z in m.zone_layout() if z[0] == 0 for name in [z[1]]}

    def where(pfn):
        return next((nid, name) for nid, name, lo, n, _ in m.zone_layout() if lo <= pfn < lo + n)
    assert where(m.alloc_pages(0)) == (0, "Normal")
    assert where(m.alloc_pages(0, zone="DMA32")) == (0, "DMA32")
    assert where(m.alloc_pages(0, zone="DMA")) == (0, "DMA")
    assert where(m.alloc_pages(0, zone="Movable")) == (0, "Normal")     # no Movable zone: Normal is highest
    lo, hi = zone_of["DMA"]
    assert all(lo <= p < hi for p in (m.alloc_pages(0, zone="DMA") for _ in range(200)))
    # fill: Normal down to its low watermark, then DMA32, then DMA (above its reserve), then node 1
    seen = []
    while True:
        pfn = m.alloc_pages(0)
        w = where(pfn)
        if not seen or seen[-1] != w:
            seen.append(w)
        if w[0] == 1:
            break
    assert seen == [(0, "Normal"), (0, "DMA32"), (0, "DMA"), (1, "Normal")]
    dma, dma32 = m.zone(0, "DMA"), m.zone(0, "DMA32")
    # a Normal request left the DMA zone its low watermark plus lowmem_reserve[Normal]
    assert dma["nr_free_pages"] <= dma["low"] + dma["protection"][ZONE_NAMES.index("Normal")] + 1
    assert dma["nr_free_pages"] > dma["low"] + dma["protection"][ZONE_NAMES.index("Normal")] - 1
    assert dma32["nr_free_pages"] <= dma32["low"] + dma32["protection"][ZONE_NAMES.index("Normal")] + 1
    # a DMA request may still dig into DMA's reserve
    assert where(m.alloc_pages(0, zone="DMA")) == (0, "DMA")


def test_numastat_counts_against_the_preferred_zones_node():
    """A miss is a zone of another node than the preferred zone's, not another zone."""
    m = zoned([[("DMA", 1024, 1024), ("DMA32", 2048, 2048)], [("DMA32", 4096, 4096)]], pcp=False)
    for _ in range(2000):      # node 0 runs through DMA32 into DMA: hits all along
        m.alloc_pages(0)
    st = m.numastat()
    assert st[0]["numa_hit"] == 2000 and st[0]["numa_foreign"] == 0 and st[1]["numa_miss"] == 0
    while m.pfn_to_nid(m.alloc_pages(0)) == 0:
        pass
    st = m.numastat()
    assert st[1]["numa_miss"] == 1 and st[0]["numa_foreign"] == 1 and st[1]["other_node"] == 1


def test_gfp_zone_bits_in_trace_records():
    """PAGE_ALLOC flags bits 4-5 (trace v2): replayed, and a DMA request on a machine without a
    DMA zone fails instead of being refused."""
    m = zoned([[("DMA", 1024, 1024), ("DMA32", 4096, 4096)]])
    rec = trace.empty(3)
    rec["op"] = Op.PAGE_ALLOC
    rec["id"] = [0, 1, 2]
    rec["arg1"] = NO_NODE
    rec["flags"] = [1 | GFP_ZONES["DMA"] << ALLOC_ZONE_SHIFT, 1 | GFP_ZONES["DMA32"] << ALLOC_ZONE_SHIFT,
                    1 | 1 << ALLOC_ZONE_MASK.bit_length()]   # the bit above the zone bits: no flag of the format
    res = m.replay(rec, results=True)
    assert res.error_counts == {"bad_arg": 1}
    lo = m.zone(0, "DMA")["start_pfn"]
    assert lo <= res.results[0] < lo + 1024 and res.results[1] >= lo + 1024
    normal = Machine(nodes=1, node_mem="4M")
    res = normal.replay(rec[:1], results=True)
    assert res.ok and res.alloc_failed == 1


def test_default_machines_keep_one_normal_zone_per_node():
    m = Machine(nodes=2, node_mem="8M")
    assert m.zones() == [(0, "Normal"), (1, "Normal")]
    assert m.zone(0, "Normal")["protection"] == [0] * 5
    text = m.zoneinfo()
    assert text.count("Node 0, zone") == len(ZONE_NAMES) and "zone   Normal" in text
    with pytest.raises(ValueError, match="unknown zone"):
        m.zone(0, "HighMem")
    with pytest.raises(ValueError, match="GFP zone"):
        m.alloc_pages(0, zone="Normal")


def test_bad_zone_layouts_are_refused():
    with pytest.raises(ValueError, match="not one of"):
        zoned([[("Device", 1024, 1024)]])
    with pytest.raises(ValueError, match="overlapping"):
        Machine(zones=[{"zones": [{"zone": "DMA", "start_pfn": 4096, "spanned_pages": 1024, "usable_pfns": []},
                                  {"zone": "DMA32", "start_pfn": 4500, "spanned_pages": 1024, "usable_pfns": []}]}],
                cpu_to_node=[0], distances=[[10]])


# ---- the C core against the reference on multi-zone nodes -----------------------------------

@st.composite
def layouts(draw):
    nodes = []
    for _ in range(draw(st.integers(1, 3))):
        names = draw(st.lists(st.sampled_from(["DMA", "DMA32", "Normal", "Movable"]), min_size=1, max_size=3,
                              unique=True))
        zones = []
        for name in sorted(names, key=ZONE_NAMES.index):
            spanned = draw(st.integers(1, 1800))
            zones.append((name, spanned, draw(st.integers(0, spanned))))
        nodes.append(zones)
    return nodes


class ZonedBuddyVersusReference(RuleBasedStateMachine):
    @initialize(layout=layouts(), cpus_per_node=st.integers(1, 2), pcp=st.booleans(), grouping=st.booleans(),
                ratio=st.sampled_from([None, [256, 256, 32, 0, 0], [1, 3, 2, 0, 0], [0, 0, 0, 0, 0]]))
    def setup(self, layout, cpus_per_node, pcp, grouping, ratio):
        self.m = zoned(layout, cpus_per_node, pcp=pcp, mobility_grouping=grouping, lowmem_reserve_ratio=ratio)
        self.ref = RefMachine.like(self.m)
        self.live: dict[int, int] = {}
        self.ncpus = len(self.m.cpu_to_node)

    @rule(order=st.one_of(st.integers(0, 3), st.integers(0, MAX_PAGE_ORDER)), mt=st.integers(0, 2),
          gfp=st.integers(0, 3), cpu=st.integers(0, 5), node=st.one_of(st.none(), st.integers(0, 2)))
    def alloc(self, order, mt, gfp, cpu, node):
        cpu %= self.ncpus
        if node is not None:
            node %= self.m.nodes
        pfn = self.m.alloc_pages(order, MTS[mt], cpu=cpu, node=node, zone=GFP[gfp])
        assert pfn == self.ref.alloc_pages(order, mt | GFP_ZONES[GFP[gfp] or ""] << ALLOC_ZONE_SHIFT, cpu, node)
        if pfn is not None:
            self.live[pfn] = order

    @precondition(lambda self: self.live)
    @rule(data=st.data(), cpu=st.integers(0, 5))
    def free(self, data, cpu):
        pfn = data.draw(st.sampled_from(sorted(self.live)))
        order = self.live.pop(pfn)
        self.m.free_pages(pfn, order, cpu=cpu % self.ncpus)
        self.ref.free_pages(pfn, order, cpu % self.ncpus)

    @rule()
    def drain(self):
        self.m.drain_pcp()
        self.ref.drain_all_pages()

    @invariant()
    def same_state(self):
        m, ref = self.m, self.ref
        assert_same_state(m, ref)
        assert m.numastat() == dict(enumerate(ref.numastat))
        for z in ref.zones:
            mine = m.zone(z.node, ZONE_NAMES[z.zone_idx])
            assert (mine["protection"], (mine["min"], mine["low"], mine["high"])) == (z.lowmem_reserve, z.wmark)
        check_invariants(m, self.live)


ZonedBuddyVersusReference.TestCase.settings = settings(
    max_examples=120, stateful_step_count=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TestZonedBuddyVersusReference = ZonedBuddyVersusReference.TestCase
