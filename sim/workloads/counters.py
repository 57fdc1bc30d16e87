"""Per-CPU counters in shared structures, the textbook false-sharing case: each structure
holds a total every CPU adds to (true sharing) and one counter per CPU, `stride` bytes apart
(8: adjacent, in one cache line; 64: a line each, as ____cacheline_aligned_in_smp pads them).
Every CPU increments its own counter of each structure in turn (MODIFY, 8 bytes) and now and
then the shared total, all CPUs interleaved record by record."""

from __future__ import annotations

import numpy as np

from kernel_model.trace import NO_NODE, Op, Trace, empty
from sim.fields import Int
from sim.workloads.generator import MAX_OPS, Generator, count, cpus, fraction, param

COUNTER = 8   # bytes of a counter (a long)


def counters(updates: int, stride: int = 8, structs: int = 1, cpus: int = 2, total_fraction: float = 0.0,
             seed: int = 0) -> Trace:
    """KMALLOC `structs` structures of COUNTER + cpus * stride bytes (the total at offset 0, CPU c's
    counter at (c + 1) * stride), then `updates` increments per CPU, round robin over the CPUs."""
    if updates < 0 or structs <= 0 or cpus <= 0 or stride < COUNTER or stride % COUNTER:
        raise ValueError("need updates >= 0, structs > 0, cpus > 0 and stride a multiple of 8 bytes")
    size = COUNTER + cpus * stride
    rng = np.random.default_rng(seed)
    n = updates * cpus
    rec = empty(structs + n)
    rec["op"][:structs] = Op.KMALLOC
    rec["id"][:structs] = np.arange(structs, dtype=np.uint32)
    rec["arg0"][:structs] = size
    rec["arg1"][:structs] = NO_NODE
    rec["site"][:structs] = 1
    step = np.arange(n)
    cpu = step % cpus
    total = rng.random(n) < total_fraction
    acc = rec[structs:]
    acc["op"] = Op.MODIFY
    acc["cpu"] = cpu
    acc["id"] = (step // cpus) % structs
    acc["arg0"] = COUNTER
    acc["arg1"] = np.where(total, 0, (cpu + 1) * stride)
    acc["site"] = np.where(total, 3, 2)
    return Trace(rec, ["", "counters:alloc", "counters:inc_mine", "counters:inc_total"], nr_ids=structs)


GENERATOR = Generator("counters", counters, (
    count("updates", min=0, max=MAX_OPS, doc="increments per CPU"),
    param("stride", Int(COUNTER, 4096), "bytes from one CPU's counter to the next (8 adjacent, 64 padded)"),
    count("structs", max=1 << 20, doc="structures, each with a total and a counter per CPU"), cpus(),
    fraction("total_fraction", "share of increments that go to the shared total"),
), "per-CPU counters in shared structures (false sharing)")
