"""kmemleak from the outside: the host scans the guest's RAM (the shared memory files) for
words that point into live slab objects, the rule kmemleak follows (a pointer anywhere inside
an object counts), and classifies what no root reaches with the leak detector's code.

What it reads, all through the firmware's results area (firmware/results.h): the replay's id
map (which ids are live objects, where), the zones' page descriptors (a slab page's info is
its kmem_cache) and each cache's object size, the root flags and allocation records.
"""

from __future__ import annotations

import numpy as np

from kernel_model._core import ID_DTYPE, ID_LARGE, ID_OBJECT, PAGE_DTYPE
from kernel_model.mm import PAGE_SHIFT, PAGE_SIZE
from sim.guest.qemu import GuestMemory
from sim.profilers.leaks import KINDS, WHITE, classify


def scan(mem: GuestMemory) -> dict:
    """The guest's live kmalloc/kmem_cache objects and the non-zero words in them, in the form
    Machine.leak_scan() gives for the host model."""
    r = mem.results()
    nr_ids = int(r["nr_ids"])
    ids = np.frombuffer(mem.read(int(r["ids_addr"]), nr_ids * ID_DTYPE.itemsize), ID_DTYPE)
    live = np.flatnonzero(np.isin(ids["state"], (ID_OBJECT, ID_LARGE)))
    addr = (ids["pfn"][live].astype(np.uint64) << np.uint64(PAGE_SHIFT)) + ids["offset"][live]
    size = np.empty(len(live), np.uint64)
    nodes = r.nodes()
    for k, i in enumerate(live.tolist()):
        pfn = int(ids["pfn"][i])
        if ids["state"][i] == ID_LARGE:
            size[k] = PAGE_SIZE << int(ids["order"][i])
            continue
        nid = next(n["node"] for n in nodes if n["start_pfn"] <= pfn < n["start_pfn"] + n["spanned_pages"])
        at = int(r["mem_map_addr"][nid]) + (pfn - nodes[nid]["start_pfn"]) * PAGE_DTYPE.itemsize
        page = np.frombuffer(mem.read(at, PAGE_DTYPE.itemsize), PAGE_DTYPE)[0]
        size[k] = int(r["cache_size"][int(page["info"])])
    src, value = [], []
    for k in range(len(live)):
        words = np.frombuffer(mem.read(int(addr[k]), int(size[k]) // 8 * 8), np.uint64)
        nz = np.flatnonzero(words)
        src.append(np.full(len(nz), k, np.uint32))
        value.append(words[nz])
    root = np.frombuffer(mem.read(int(r["root_addr"]), nr_ids), np.uint8)[live]
    born = np.frombuffer(mem.read(int(r["alloc_record_addr"]), nr_ids * 8), np.uint64)[live]
    return {"id": live.astype(np.uint32), "addr": addr, "size": size, "root": root, "alloc_record": born,
            "src": np.concatenate(src) if src else np.zeros(0, np.uint32),
            "value": np.concatenate(value) if value else np.zeros(0, np.uint64)}


def report(mem: GuestMemory) -> dict:
    """memcheck's kind of every live object, and kmemleak's unreferenced ones (white)."""
    s = scan(mem)
    kind = classify(s)
    return {"kinds": {int(i): KINDS[k] for i, k in zip(s["id"].tolist(), kind.tolist(), strict=True)},
            "unreferenced": sorted(int(i) for i in s["id"][kind >= WHITE]),
            "objects": len(s["id"]), "pointers": len(s["value"])}
