"""Zonelist order of Linux's build_zonelists / find_next_best_node (mm/page_alloc.c)."""

from __future__ import annotations

from collections.abc import Sequence

PENALTY_FOR_NODE_WITH_CPUS = 1


def build_zonelists(distance: Sequence[Sequence[int]], has_cpus: Sequence[bool],
                    has_memory: Sequence[bool] | None = None) -> list[list[int]]:
    """Node order of every node's zonelist: local first, then by distance, ties round-robin.

    Follows the kernel: node_load persists across the nodes built in order, nodes
    below the local one get +1, nodes with CPUs get PENALTY_FOR_NODE_WITH_CPUS, and
    the first node of each new distance group gets its load raised.
    """
    n = len(distance)
    has_memory = list(has_memory) if has_memory is not None else [True] * n
    node_load = [0] * n
    result = []
    for local in range(n):
        used = set()
        order: list[int] = []
        prev = local
        while True:
            node = _find_next_best_node(local, used, distance, has_cpus, has_memory, node_load, n)
            if node < 0:
                break
            if distance[local][node] != distance[local][prev]:
                node_load[node] += 1
            order.append(node)
            prev = node
        result.append(order)
    return result


def _find_next_best_node(local, used, distance, has_cpus, has_memory, node_load, n) -> int:
    if local not in used:
        used.add(local)
        return local
    best, min_val = -1, None
    for node in range(n):
        if node in used or not has_memory[node]:
            continue
        val = distance[local][node] + (node < local)
        if has_cpus[node]:
            val += PENALTY_FOR_NODE_WITH_CPUS
        val = val * max(n, 64) + node_load[node]   # MAX_NUMNODES scaling
        if min_val is None or val < min_val:
            best, min_val = node, val
    if best >= 0:
        used.add(best)
    return best
