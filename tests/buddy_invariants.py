"""Structural invariants of a Machine's page allocator state, checked from the outside."""

from __future__ import annotations

from kernel_model import Machine
from kernel_model.mm import MAX_PAGE_ORDER, MIGRATE_PCPTYPES, PAGEBLOCK_ORDER


def check_invariants(m: Machine, live: dict[int, int]) -> None:
    """live: pfn -> order of every block the caller holds."""
    nr_free = m.nr_free()
    starts = [m.base_pfn + sum(m.node_pages[:n]) for n in range(m.nodes)]
    owner: dict[int, str] = {}

    def claim(pfn: int, order: int, what: str, node: int) -> None:
        assert pfn % (1 << order) == 0, f"{what} block {pfn} not aligned to order {order}"
        lo, hi = starts[node], starts[node] + m.node_pages[node]
        assert lo <= pfn and pfn + (1 << order) <= hi, f"{what} block {pfn}/{order} outside node {node}"
        for p in range(pfn, pfn + (1 << order)):
            assert p not in owner, f"page {p} is both {owner[p]} and {what}"
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
        # Linux merges free buddies unless migratetypes forbid it at >= pageblock_order
        blocks = m._core.pageblock_migratetypes(node)
        for pfn, (order, _mt) in buddy_free.items():
            if order == MAX_PAGE_ORDER:
                continue
            buddy = pfn ^ (1 << order)
            if buddy_free.get(buddy, (None,))[0] == order:
                assert order >= PAGEBLOCK_ORDER, f"free buddies {pfn} and {buddy} of order {order} not merged"
                base = starts[node] >> PAGEBLOCK_ORDER
                a, b = blocks[(pfn >> PAGEBLOCK_ORDER) - base], blocks[(buddy >> PAGEBLOCK_ORDER) - base]
                assert a != b and (a >= MIGRATE_PCPTYPES or b >= MIGRATE_PCPTYPES)
    for pfn, order in live.items():
        claim(pfn, order, "allocated", m.pfn_to_nid(pfn))
    assert len(owner) == sum(m.node_pages), "pages not conserved"
