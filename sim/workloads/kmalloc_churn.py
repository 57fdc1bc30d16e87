"""kmalloc/kfree churn with a size mix, at a target number of live objects.

Vectorised like page_churn: allocation i happens at step i and lives an
exponentially distributed number of steps; most frees run on the allocating CPU.
With phases > 1 the run falls into that many phases, each drawing sizes from its own
reweighting of the mix (a Dirichlet draw around it), with a PHASE record where each begins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kernel_model.trace import NO_ID, NO_NODE, Op, Trace, empty, reuse_ids
from sim.fields import Float, Int, ListOf
from sim.workloads.generator import Generator, count, cpus, fraction, ops, param

# bytes_req histogram of the kmalloc events in data/linux-6.1-qemu-2node/trace.txt.xz
# (Linux 6.1 under QEMU, 10591 kmalloc calls); tests/test_slab_api.py recomputes it from the trace.
LINUX_6_1_KMALLOC_MIX: dict[int, int] = {
    1024: 8300, 4096: 503, 16: 459, 72: 294, 11: 218, 560: 152, 416: 152, 296: 152, 23: 120, 32: 47,
    25: 32, 640: 29, 168: 29, 64: 21, 8: 20, 512: 18, 16384: 16, 448: 8, 152: 7, 1088: 6, 48: 3,
    1376: 2, 96: 1, 408: 1, 144: 1,
}


def kmalloc_churn(n_ops: int, live_objects: int, cpus: int = 2,
                  sizes: Sequence[int] | None = None, weights: Sequence[float] | None = None,
                  remote_free_fraction: float = 0.2, phases: int = 1, seed: int = 0) -> Trace:
    """An n_ops-record trace of KMALLOC / KFREE (plus phases - 1 PHASE records); every kfree
    follows its kmalloc."""
    if sizes is None:
        sizes, weights = list(LINUX_6_1_KMALLOC_MIX), list(LINUX_6_1_KMALLOC_MIX.values())
    if weights is None:
        weights = [1.0] * len(sizes)
    if (n_ops < 0 or live_objects <= 0 or cpus <= 0 or len(sizes) != len(weights) or phases < 1
            or not 0 <= remote_free_fraction <= 1):
        raise ValueError("need n_ops >= 0, live_objects > 0, cpus > 0, phases >= 1, one weight per size, "
                         "0 <= remote_free_fraction <= 1")
    rng = np.random.default_rng(seed)
    n_allocs = n_ops // 2 + live_objects + 1
    w = np.asarray(weights, float) / np.sum(weights)
    phase = np.arange(n_allocs) * phases // n_allocs
    size = np.empty(n_allocs, np.uint32)
    for p in range(phases):
        pw = w if p == 0 else rng.dirichlet(w * 5 + 0.2)   # the base mix, then reweightings around it
        size[phase == p] = rng.choice(np.asarray(sizes, np.uint32), int((phase == p).sum()), p=pw / pw.sum())
    alloc_cpu = rng.integers(0, cpus, n_allocs, dtype=np.uint16)
    remote = rng.random(n_allocs) < remote_free_fraction
    free_cpu = np.where(remote, rng.integers(0, cpus, n_allocs, dtype=np.uint16), alloc_cpu)
    born = np.arange(n_allocs, dtype=np.float64)
    dies = born + rng.exponential(live_objects, n_allocs) + 0.5
    seq = np.argsort(np.concatenate([born, dies]), kind="stable")[:n_ops]
    is_free = seq >= n_allocs
    ident = np.where(is_free, seq - n_allocs, seq).astype(np.uint32)
    rec = empty(len(seq))
    rec["op"] = np.where(is_free, Op.KFREE, Op.KMALLOC)
    rec["cpu"] = np.where(is_free, free_cpu[ident], alloc_cpu[ident])
    rec["site"] = np.where(is_free, 2, 1)
    rec["id"] = ident
    rec["arg0"] = np.where(is_free, 0, size[ident])
    rec["arg1"] = np.where(is_free, 0, NO_NODE)
    sites = ["", "kmalloc_churn:kmalloc", "kmalloc_churn:kfree"]
    if phases > 1:   # a PHASE record before the first allocation of each later phase
        starts = [int(np.argmax(~is_free & (phase[ident] == p))) for p in range(1, phases)
                  if (~is_free & (phase[ident] == p)).any()]
        marks = empty(len(starts))
        marks["op"], marks["id"] = Op.PHASE, NO_ID
        marks["arg0"] = np.arange(1, len(starts) + 1)
        marks["site"] = np.arange(len(sites), len(sites) + len(starts))
        sites += [f"phase-{p}" for p in range(1, len(starts) + 1)]
        rec = np.insert(rec, starts, marks)
    return reuse_ids(Trace(rec, sites, nr_ids=n_allocs))


GENERATOR = Generator("kmalloc_churn", kmalloc_churn, (
    ops(), count("live_objects", doc="objects live at once"), cpus(),
    param("sizes", ListOf(Int(0, 1 << 22), 1), "request sizes (default: Linux 6.1's measured mix)"),
    param("weights", ListOf(Float(0.0), 1), "weight of each size"),
    fraction("remote_free_fraction", "share of kfrees issued by another CPU than the kmalloc"),
    count("phases", max=1000, doc="phases, each with its own size mix, split by PHASE records"),
), "kmalloc/kfree churn with a size mix")
