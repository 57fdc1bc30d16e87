"""Mixed-mobility churn, the shape of Linux's anti-fragmentation experiments: long-lived
unmovable (and reclaimable) allocations among movable churn, then every movable page freed
(as reclaim would), so what is left shows how well unmovable pages were grouped."""

from __future__ import annotations

import numpy as np

from kernel_model.trace import NO_ID, NO_NODE, Op, Trace, empty
from sim.workloads.generator import Generator, count, cpus, fraction, ops


def mixed_mobility_churn(n_ops: int, occupancy_pages: int, unmovable_fraction: float = 0.2,
                         reclaimable_fraction: float = 0.05, cpus: int = 1, seed: int = 0) -> Trace:
    """Order-0 allocations: unmovable/reclaimable ones live to the end, movable ones churn with
    exponential lifetimes; a PHASE record ("reclaim") then the frees of all movable pages left."""
    if n_ops <= 0 or occupancy_pages <= 0 or not 0 <= unmovable_fraction + reclaimable_fraction <= 1:
        raise ValueError("need n_ops > 0, occupancy_pages > 0 and fractions summing to at most 1")
    rng = np.random.default_rng(seed)
    n_allocs = n_ops // 2
    mt = rng.choice(np.array([0, 1, 2], np.uint8), n_allocs,
                    p=[unmovable_fraction, 1 - unmovable_fraction - reclaimable_fraction, reclaimable_fraction])
    movable = mt == 1
    born = np.arange(n_allocs, dtype=np.float64)
    lifetime = occupancy_pages * movable.mean() if movable.any() else 1.0
    dies = np.where(movable, born + rng.exponential(lifetime, n_allocs) + 0.5, np.inf)
    dying = np.flatnonzero(dies < n_allocs)
    when = np.concatenate([born, dies[dying]])
    who = np.concatenate([np.arange(n_allocs), dying])
    is_free = np.concatenate([np.zeros(n_allocs, bool), np.ones(len(dying), bool)])
    seq = np.argsort(when, kind="stable")
    freed = np.zeros(n_allocs, bool)
    freed[dying] = True
    leftover = np.flatnonzero(movable & ~freed)            # movable pages still live: reclaim them
    n = len(seq) + 1 + len(leftover)
    rec = empty(n)
    ident = who[seq].astype(np.uint32)
    rec["op"][: len(seq)] = np.where(is_free[seq], Op.PAGE_FREE, Op.PAGE_ALLOC)
    rec["flags"][: len(seq)] = np.where(is_free[seq], 0, mt[ident])
    rec["id"][: len(seq)] = ident
    rec["arg1"][: len(seq)] = np.where(is_free[seq], 0, NO_NODE)
    rec["site"][: len(seq)] = np.where(is_free[seq], 2, 1)
    k = len(seq)
    rec[k] = (Op.PHASE, 0, 0, 3, NO_ID, 1, 0)
    rec["op"][k + 1:] = Op.PAGE_FREE
    rec["id"][k + 1:] = leftover.astype(np.uint32)
    rec["site"][k + 1:] = 4
    rec["cpu"] = rng.integers(0, cpus, n, dtype=np.uint16)
    return Trace(rec, ["", "churn:alloc", "churn:free", "reclaim", "reclaim:free"], nr_ids=n_allocs)


GENERATOR = Generator("mixed_mobility", mixed_mobility_churn, (
    ops(min=1), count("occupancy_pages", doc="pages the long-lived and churning allocations hold"),
    fraction("unmovable_fraction", "share of allocations that are unmovable (live to the end)"),
    fraction("reclaimable_fraction", "share of allocations that are reclaimable (live to the end)"),
    cpus(),
), "order-0 churn of mixed mobility, then a reclaim phase")
