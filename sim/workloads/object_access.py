"""Objects allocated by every CPU, then accessed: mostly by their owner, some shared with the
other CPUs; in random order (pointer chasing) or walking them in order (strided)."""

from __future__ import annotations

import numpy as np

from kernel_model.trace import NO_NODE, Op, Trace, empty
from sim.fields import Str
from sim.workloads.generator import MAX_OPS, Generator, count, cpus, fraction, param


def object_access(n_objects: int, object_size: int, accesses: int, cpus: int = 2, share_fraction: float = 0.2,
                  pattern: str = "random", store_fraction: float = 0.3, seed: int = 0) -> Trace:
    """KMALLOC n_objects (owner CPUs round robin), then `accesses` 8-byte LOAD/STORE ops."""
    if n_objects <= 0 or accesses < 0 or cpus <= 0 or not 8 <= object_size <= 8192:
        raise ValueError("need n_objects > 0, accesses >= 0, cpus > 0 and object_size 8..8192")
    if pattern not in ("random", "strided"):
        raise ValueError(f"pattern {pattern!r} is not 'random' or 'strided'")
    rng = np.random.default_rng(seed)
    owner = (np.arange(n_objects) % cpus).astype(np.uint16)
    rec = empty(n_objects + accesses)
    rec["op"][:n_objects] = Op.KMALLOC
    rec["cpu"][:n_objects] = owner
    rec["id"][:n_objects] = np.arange(n_objects, dtype=np.uint32)
    rec["arg0"][:n_objects] = object_size
    rec["arg1"][:n_objects] = NO_NODE
    rec["site"][:n_objects] = 1
    obj = (np.arange(accesses) % n_objects if pattern == "strided" else rng.integers(0, n_objects, accesses))
    shared = rng.random(accesses) < share_fraction
    acc = rec[n_objects:]
    acc["op"] = np.where(rng.random(accesses) < store_fraction, Op.STORE, Op.LOAD)
    acc["id"] = obj.astype(np.uint32)
    acc["cpu"] = np.where(shared, rng.integers(0, cpus, accesses), owner[obj]).astype(np.uint16)
    acc["arg0"] = 8
    acc["arg1"] = rng.integers(0, object_size // 8, accesses) * 8 if pattern == "random" else 0
    acc["site"] = np.where(shared, 3, 2)
    return Trace(rec, ["", "objects:alloc", "objects:owner_access", "objects:shared_access"], nr_ids=n_objects)


GENERATOR = Generator("object_access", object_access, (
    count("objects", "n_objects", doc="objects allocated, then accessed"),
    count("object_size", min=8, max=8192, doc="bytes per object"),
    count("accesses", min=0, max=MAX_OPS, doc="8-byte loads and stores"), cpus(),
    fraction("share_fraction", "share of accesses made by another CPU than the owner"),
    param("pattern", Str(("random", "strided")), "random offsets, or each object in order"),
    fraction("store_fraction", "share of accesses that are stores"),
), "loads and stores over kmalloc objects")
