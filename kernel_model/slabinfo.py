"""What the slab allocator reports: /proc/slabinfo 2.1, /sys/kernel/slab/<cache>/ and waste.

Functions take the plain dicts of MachineCore.cache(), so the same formats serve the
host model and a guest's exported state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kernel_model.mm import PAGE_SIZE

# SLUB_STATS names in the order of enum slub_stat_item (core/slab.h).
SLUB_STATS = ("alloc_fastpath", "alloc_slowpath", "free_fastpath", "free_slowpath", "free_frozen",
              "free_add_partial", "free_remove_partial", "alloc_from_partial", "alloc_slab", "alloc_refill",
              "alloc_node_mismatch", "free_slab", "cpuslab_flush", "deactivate_full", "deactivate_empty",
              "deactivate_to_head", "deactivate_to_tail", "deactivate_remote_frees", "deactivate_bypass",
              "order_fallback", "cpu_partial_alloc", "cpu_partial_free", "cpu_partial_node", "cpu_partial_drain")

SLABINFO_HEADER = (
    "slabinfo - version: 2.1\n"
    "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
    " : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n"
)


@dataclass(frozen=True)
class KmemCache:
    """A handle on a kmem_cache of a Machine."""

    index: int
    name: str


def cache_stats(c: dict) -> dict:
    """The /sys/kernel/slab/<cache>/ files of one cache (totals; per node under "nodes")."""
    nodes = c["nodes"]
    total = sum(n["total_objects"] for n in nodes)
    partial_free = sum(n["partial_total"] - n["partial_inuse"] for n in nodes)
    out = {
        "objects": total - partial_free,                       # SO_ALL | SO_OBJECTS
        "objects_partial": sum(n["partial_inuse"] for n in nodes),
        "total_objects": total,
        "slabs": sum(n["nr_slabs"] for n in nodes),
        "partial": sum(n["nr_partial"] for n in nodes),
        "cpu_slabs": sum((cpu["slab"] is not None) + cpu["partial_slabs"] for cpu in c["cpus"]),
        "order": c["order"],
        "objs_per_slab": c["objects"],
        "object_size": c["object_size"],
        "slab_size": c["size"],
        "align": c["align"],
        "min_partial": c["min_partial"],
        "cpu_partial": c["cpu_partial"],
        "reclaim_account": int(bool(c["flags"] & 2)),
        "nodes": [{"slabs": n["nr_slabs"], "partial": n["nr_partial"], "total_objects": n["total_objects"]}
                  for n in nodes],
    }
    out.update(zip(SLUB_STATS, c["stat"], strict=True))
    return out


def format_slabinfo_row(name: str, active_objs: int, num_objs: int, objsize: int, objperslab: int,
                        pagesperslab: int, slabs: int) -> str:
    """One slabinfo_show line (SLUB: no tunables, active_slabs == num_slabs, sharedavail 0)."""
    return (f"{name:<17} {active_objs:6d} {num_objs:6d} {objsize:6d} {objperslab:4d} {pagesperslab:4d}"
            f" : tunables {0:4d} {0:4d} {0:4d} : slabdata {slabs:6d} {slabs:6d} {0:6d}\n")


def format_slabinfo(caches: Iterable[tuple[str, dict]]) -> str:
    """slabinfo_show for each (name, cache) in the order given (the kernel lists newest first)."""
    lines = [SLABINFO_HEADER]
    for name, c in caches:
        st = cache_stats(c)
        lines.append(format_slabinfo_row(name, st["objects"], st["total_objects"], c["size"], c["objects"],
                                         1 << c["order"], st["slabs"]))
    return "".join(lines)


def slab_waste(caches: Sequence[tuple[str, dict]], large_kmalloc: dict) -> dict:
    """Per cache: tools/mm/slabinfo's Loss = slabs * (PAGE_SIZE << order) - objects * object_size,
    and the kmalloc rounding waste (bytes handed out minus bytes asked for, over all calls)."""
    per_cache = {}
    for name, c in caches:
        st = cache_stats(c)
        loss = st["slabs"] * (PAGE_SIZE << c["order"]) - st["objects"] * c["object_size"]
        rounding = c["kmalloc_calls"] * c["object_size"] - c["kmalloc_requested"]
        per_cache[name] = {"loss": loss, "kmalloc_calls": c["kmalloc_calls"],
                           "kmalloc_requested": c["kmalloc_requested"], "kmalloc_rounding": rounding}
    large = {"calls": large_kmalloc["calls"], "requested": large_kmalloc["requested"],
             "rounding": large_kmalloc["allocated"] - large_kmalloc["requested"]}
    return {
        "unit": "bytes",
        "caches": per_cache,
        "large_kmalloc": large,
        "total_loss": sum(v["loss"] for v in per_cache.values()),
        "total_kmalloc_rounding": sum(v["kmalloc_rounding"] for v in per_cache.values()) + large["rounding"],
    }


def parse_slabinfo(text: str) -> list[dict]:
    """Rows of a /proc/slabinfo 2.1 text: name, active_objs, num_objs, objsize, objperslab, pagesperslab,
    active_slabs, num_slabs."""
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if lineno <= 2 or not line.strip():
            continue
        try:
            f = line.split()
            rows.append({"name": f[0], "active_objs": int(f[1]), "num_objs": int(f[2]), "objsize": int(f[3]),
                         "objperslab": int(f[4]), "pagesperslab": int(f[5]), "active_slabs": int(f[13]),
                         "num_slabs": int(f[14])})
        except (ValueError, IndexError):
            raise ValueError(f"line {lineno}: not a slabinfo 2.1 line: {line!r}") from None
    return rows
