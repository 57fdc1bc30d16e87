"""Structural invariants of a Machine's slab allocator, checked from the outside."""

from __future__ import annotations

from kernel_model import Machine


def check_slab_invariants(m: Machine, live: dict[int, int]) -> None:
    """live: address -> cache index of every slab object the caller holds."""
    core = m._core
    slabs = {s[0]: s for nid in range(m.nodes) for s in core.slabs(nid)}
    cpu_state = {(cache, cpu): core.cpu_freelist(cache, cpu)
                 for cache in range(core.nr_caches) for cpu in range(len(m.cpu_to_node))}
    on_node_partial = {}
    for cache in range(core.nr_caches):
        info = core.cache(cache)
        for nid in range(m.nodes):
            partial = core.node_partial(cache, nid)
            assert len(partial) == info["nodes"][nid]["nr_partial"]
            mine = [s for s in slabs.values() if s[1] == cache and m.pfn_to_nid(s[0]) == nid]
            assert len(mine) == info["nodes"][nid]["nr_slabs"], "nr_slabs disagrees with the slabs"
            assert sum((4096 << s[2]) // info["size"] for s in mine) == info["nodes"][nid]["total_objects"]
            for pfn in partial:
                _, c, _, _, frozen, free = slabs[pfn]
                assert c == cache and not frozen and free, "node partial slab is frozen or full"
                on_node_partial[pfn] = cache
    owned = {}   # slab pfn -> ("cpu", cpu) | ("cpu_partial", cpu)
    for (cache, cpu), (active, _free, partial) in cpu_state.items():
        if active is not None:
            assert slabs[active][1] == cache and slabs[active][4], "active slab not frozen"
            owned[active] = ("cpu", cpu)
        for pfn in partial:
            assert slabs[pfn][4] and slabs[pfn][5], "cpu partial slab not frozen or without free objects"
            assert pfn not in owned and pfn not in on_node_partial
            owned[pfn] = ("cpu_partial", cpu)
    free_objects: dict[int, set[int]] = {}
    for pfn, (_, cache, order, inuse, frozen, free) in slabs.items():
        objects = (4096 << order) // core.cache(cache)["size"]
        assert len(set(free)) == len(free), f"slab {pfn} freelist has a cycle or a duplicate"
        assert inuse == objects - len(free), f"slab {pfn}: inuse {inuse} != objects - free"
        free_objects[pfn] = set(free)
        if not frozen:
            assert pfn not in owned
            # an unfrozen slab is on its node's partial list exactly when it has free objects
            assert (pfn in on_node_partial) == bool(free), f"slab {pfn}: partial list membership wrong"
    for active, free, _ in cpu_state.values():
        if active is not None:
            assert not (set(free) & free_objects[active]), "object on two freelists"
            free_objects[active] |= set(free)
    # every live object is inside a slab of its cache, not free, and objects are conserved
    seen = set()
    for addr, cache in live.items():
        size = core.cache(cache)["size"]
        pfn = next((p for p, s in slabs.items() if p << 12 <= addr < (p << 12) + (4096 << s[2])), None)
        assert pfn is not None and slabs[pfn][1] == cache, f"object {addr:#x} not in a slab of its cache"
        idx, rem = divmod(addr - (pfn << 12), size)
        assert rem == 0 and idx not in free_objects[pfn], f"object {addr:#x} misaligned or on a freelist"
        assert (pfn, idx) not in seen
        seen.add((pfn, idx))
    for pfn, (_, cache, order, *_rest) in slabs.items():
        objects = (4096 << order) // core.cache(cache)["size"]
        used = objects - len(free_objects[pfn])
        assert used == sum(1 for p, _ in seen if p == pfn), f"slab {pfn}: objects not conserved"
