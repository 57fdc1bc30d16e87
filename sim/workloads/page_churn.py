"""Page allocator churn: alloc/free of mixed orders and migratetypes at a target occupancy.

Built with whole-array numpy operations (no per-op Python): allocation i happens at
step i and lives an exponentially distributed number of allocation steps, chosen so
that the live set holds about `occupancy_pages` pages (Little's law). Ids are reused
after their frees (kernel_model.trace.reuse_ids), so nr_ids is the peak live count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kernel_model.mm import MAX_PAGE_ORDER, MIGRATE_PCPTYPES, NR_PAGE_ORDERS
from kernel_model.trace import NO_NODE, Op, Trace, empty, reuse_ids
from sim.fields import Float, Int, ListOf
from sim.workloads.generator import Generator, count, cpus, ops, param


def page_churn(n_ops: int, occupancy_pages: int, cpus: int = 2, orders: Sequence[int] = (0, 1, 2, 3),
               order_weights: Sequence[float] = (0.6, 0.2, 0.1, 0.1),
               migratetype_weights: Sequence[float] = (0.3, 0.6, 0.1), seed: int = 0) -> Trace:
    """An n_ops-record trace of PAGE_ALLOC / PAGE_FREE; every free follows its alloc."""
    if n_ops < 0 or occupancy_pages <= 0 or cpus <= 0:
        raise ValueError("n_ops >= 0, occupancy_pages > 0 and cpus > 0 are required")
    if len(orders) != len(order_weights) or len(migratetype_weights) != MIGRATE_PCPTYPES:
        raise ValueError("one weight per order and one per migratetype (unmovable, movable, reclaimable)")
    rng = np.random.default_rng(seed)
    ow = np.asarray(order_weights, float) / np.sum(order_weights)
    mean_pages = float(np.dot(ow, 2.0 ** np.asarray(orders)))
    lifetime = occupancy_pages / mean_pages               # in allocation steps
    n_allocs = n_ops // 2 + int(lifetime) + 1             # enough that n_ops records remain
    order = rng.choice(np.asarray(orders, np.uint32), n_allocs, p=ow)
    mt = rng.choice(np.arange(MIGRATE_PCPTYPES, dtype=np.uint8), n_allocs,
                    p=np.asarray(migratetype_weights, float) / np.sum(migratetype_weights))
    born = np.arange(n_allocs, dtype=np.float64)
    dies = born + rng.exponential(lifetime, n_allocs) + 0.5
    when = np.concatenate([born, dies])
    seq = np.argsort(when, kind="stable")[:n_ops]
    is_free = seq >= n_allocs
    ident = np.where(is_free, seq - n_allocs, seq).astype(np.uint32)
    rec = empty(len(seq))
    rec["op"] = np.where(is_free, Op.PAGE_FREE, Op.PAGE_ALLOC)
    rec["flags"] = np.where(is_free, 0, mt[ident])
    rec["cpu"] = rng.integers(0, cpus, len(seq), dtype=np.uint16)
    rec["site"] = np.where(is_free, 2, 1)
    rec["id"] = ident
    rec["arg0"] = order[ident]
    rec["arg1"] = np.where(is_free, 0, NO_NODE)
    return reuse_ids(Trace(rec, ["", "page_churn:alloc", "page_churn:free"], nr_ids=n_allocs))


GENERATOR = Generator("page_churn", page_churn, (
    ops(), count("occupancy_pages", doc="pages the live set holds on average"), cpus(),
    param("orders", ListOf(Int(0, MAX_PAGE_ORDER), 1, NR_PAGE_ORDERS), "orders to allocate"),
    param("order_weights", ListOf(Float(0.0), 1, NR_PAGE_ORDERS), "weight of each order"),
    param("migratetype_weights", ListOf(Float(0.0), MIGRATE_PCPTYPES, MIGRATE_PCPTYPES),
          "weights of unmovable, movable, reclaimable"),
), "alloc/free of mixed orders and migratetypes")
