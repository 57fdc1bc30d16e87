"""Structural invariants of a Machine's page allocator state, checked from the outside."""

from __future__ import annotations

from kernel_model import Machine
from kernel_model.mm import MAX_PAGE_ORDER, MIGRATE_PCPTYPES, PAGEBLOCK_ORDER, ZONE_NAMES


def check_invariants(m: Machine, live: dict[int, int]) -> None:
    """live: pfn -> order of every block the caller holds."""
    nr_free = m.nr_free()
    layout = m.zone_layout()
    owner: dict[int, str] = {}

    def zone_of(pfn: int) -> tuple[int, str, int, int, list]:
        return next(z for z in layout if z[2] <= pfn < z[2] + z[3])

    def claim(pfn: int, order: int, what: str, node: int) -> None:
        assert pfn % (1 << order) == 0, f"{what} block {pfn} not aligned to order {order}"
        nid, _, lo, spanned, usable = zone_of(pfn)
        assert nid == node, f"{what} block {pfn} of node {node} in a zone of node {nid}"
        assert pfn + (1 << order) <= lo + spanned, f"{what} block {pfn}/{order} beyond its zone"
        for p in range(pfn, pfn + (1 << order)):
            assert p not in owner, f"page {p} is both {owner[p]} and {what}"
            assert any(a <= p < b for a, b in usable), f"{what} page {p} was never given to the allocator"
            owner[p] = what

    for node in range(m.nodes):
        buddy_free: dict[int, tuple[int, int]] = {}
        for (order, mt), pfns in m.free_lists(node).items():
            assert len(pfns) == nr_free[node, mt, order], "nr_free disagrees with the list"
            for pfn in pfns:
                claim(pfn, order, "free", node)
                buddy_free[pfn] = (order, mt)
        assert sum(len(range(1 << o)) for o, _ in buddy_free.values()) == m.nr_free_pages(node)
        for cpu in range(len(m.cpu_to_node)):
            for (order, _mt), pfns in m.pcp_lists(node, cpu).items():
                for pfn in pfns:
                    claim(pfn, order, "pcp", node)
        # Linux merges free buddies (of one zone) unless migratetypes forbid it at >= pageblock_order
        for pfn, (order, _mt) in buddy_free.items():
            if order == MAX_PAGE_ORDER:
                continue
            buddy = pfn ^ (1 << order)
            _, name, start, spanned, _ = zone_of(pfn)
            if buddy_free.get(buddy, (None,))[0] == order and start <= buddy < start + spanned:
                assert order >= PAGEBLOCK_ORDER, f"free buddies {pfn} and {buddy} of order {order} not merged"
                blocks = m._core.pageblock_migratetypes(node, ZONE_NAMES.index(name))
                base = start >> PAGEBLOCK_ORDER
                a, b = blocks[(pfn >> PAGEBLOCK_ORDER) - base], blocks[(buddy >> PAGEBLOCK_ORDER) - base]
                assert a != b and (a >= MIGRATE_PCPTYPES or b >= MIGRATE_PCPTYPES)
    for pfn, order in live.items():
        claim(pfn, order, "allocated", m.pfn_to_nid(pfn))
    assert len(owner) == sum(m.node_pages), "pages not conserved"
