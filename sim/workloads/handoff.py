"""Objects handed off: a loader thread on CPU 0 allocates every object (so all of them land on
its node), then each object's worker CPU (object i belongs to CPU i % cpus) uses it, the first
`hot` objects taking `hot_share` of the accesses. Workers on other nodes than the loader's reach
their objects remotely: the NUMA profiler's migration candidates, and a load imbalance."""

from __future__ import annotations

import numpy as np

from kernel_model.trace import NO_NODE, Op, Trace, empty
from sim.workloads.generator import MAX_OPS, Generator, count, cpus, fraction


def handoff(n_objects: int = 4000, object_size: int = 4096, accesses: int = 400_000, cpus: int = 4, hot: int = 8,
            hot_share: float = 0.5, seed: int = 0) -> Trace:
    """KMALLOC n_objects on CPU 0, then `accesses` 64-byte loads (stores: 30%) by each object's
    worker CPU."""
    if n_objects <= 0 or accesses < 0 or cpus <= 0 or not 64 <= object_size <= 1 << 22 or not 0 <= hot <= n_objects:
        raise ValueError("need n_objects > 0, accesses >= 0, cpus > 0, object_size 64..4M and hot <= n_objects")
    rng = np.random.default_rng(seed)
    rec = empty(n_objects + accesses)
    rec["op"][:n_objects] = Op.KMALLOC
    rec["id"][:n_objects] = np.arange(n_objects, dtype=np.uint32)
    rec["arg0"][:n_objects] = object_size
    rec["arg1"][:n_objects] = NO_NODE
    rec["site"][:n_objects] = 1
    obj = np.where((rng.random(accesses) < hot_share) & (hot > 0), rng.integers(0, max(hot, 1), accesses),
                   rng.integers(0, n_objects, accesses))
    acc = rec[n_objects:]
    acc["op"] = np.where(rng.random(accesses) < 0.3, Op.STORE, Op.LOAD)
    acc["id"] = obj.astype(np.uint32)
    acc["cpu"] = (obj % cpus).astype(np.uint16)
    acc["arg0"] = 64
    acc["arg1"] = rng.integers(0, object_size // 64, accesses) * 64
    acc["site"] = np.where(obj < hot, 3, 2)
    return Trace(rec, ["", "loader:alloc", "worker:access", "worker:hot_access"], nr_ids=n_objects)


GENERATOR = Generator("handoff", handoff, (
    count("objects", "n_objects", doc="objects the loader (CPU 0) allocates"),
    count("object_size", min=64, max=1 << 22, doc="bytes per object (above 8 KiB: whole pages)"),
    count("accesses", min=0, max=MAX_OPS, doc="64-byte accesses by the objects' workers"), cpus(),
    count("hot", min=0, doc="the objects that take hot_share of the accesses"),
    fraction("hot_share", "share of the accesses that go to the hot objects"),
), "objects allocated by a loader on one node and used by workers on every node")
