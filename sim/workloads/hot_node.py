"""A hot service on a few CPUs: a ring of page buffers whose newest ones take every access, a new
buffer replacing the oldest every few ticks, simulated time advancing a tick at a time (TIME
records). Under local allocation all of it lands on the CPUs' node, which heats up (the thermal
model, kernel_model/core/thermal.h); under the thermal policy new buffers go to a cooler node
while that one is throttled, and the accesses follow them there, at the price of remote ones."""

from __future__ import annotations

import numpy as np

from kernel_model.mm import PAGE_SIZE
from kernel_model.trace import NO_ID, NO_NODE, Op, Trace, empty
from sim.fields import Str
from sim.workloads.generator import MAX_COUNT, Generator, count, cpus, param
from sim.workloads.script import POLICIES

LINE = 64
MOVABLE = 1      # user data: movable pages


def hot_node(ticks: int = 20_000, cpus: int = 2, tick_ns: int = 10_000, accesses: int = 64, alloc_every: int = 4,
             live: int = 256, hot: int = 32, order: int = 0, policy: str = "local", seed: int = 0) -> Trace:
    """`ticks` ticks of `tick_ns`: each makes `accesses` 64-byte loads or stores (30% stores) by
    CPUs 0..cpus-1 to the newest `hot` of `live` buffers of 2^order pages; every `alloc_every`
    ticks a new buffer replaces the oldest. The CPUs' memory policy is `policy` (set first)."""
    if min(ticks, cpus, tick_ns, accesses, alloc_every, live, hot) <= 0 or hot > live or not 0 <= order <= 10:
        raise ValueError("need ticks, cpus, tick_ns, accesses, alloc_every, live and hot > 0, hot <= live, "
                         "order 0..10")
    if policy not in ("local", "thermal"):
        raise ValueError(f"policy {policy!r} is not 'local' or 'thermal'")
    rng = np.random.default_rng(seed)
    new_at = np.arange(alloc_every, ticks, alloc_every)            # ticks that replace a buffer
    n_acc = ticks * accesses
    parts = []

    def part(tick, kind, op, cpu, site, id_, arg0, arg1):
        n = len(tick)
        parts.append(tuple(np.broadcast_to(np.asarray(v).astype(dt), n) for v, dt in (
            (tick, np.int64), (kind, np.int64), (op, np.uint8), (cpu, np.uint16), (site, np.uint32),
            (id_, np.uint32), (arg0, np.uint32), (np.asarray(arg1, np.uint64), np.uint64))))

    # before the first tick: the policy of every CPU, then the first `live` buffers
    part(np.full(cpus, -1), 0, Op.MEMPOLICY, np.arange(cpus), 0, NO_ID, 0, 0)
    part(np.full(live, -1), 1, Op.PAGE_ALLOC, np.arange(live) % cpus, 1, np.arange(live), order, NO_NODE)
    # each tick: the new buffer, the oldest freed, the accesses, then time passes
    newest = live - 1 + new_at // alloc_every
    part(new_at, 0, Op.PAGE_ALLOC, rng.integers(0, cpus, len(new_at)), 1, newest, order, NO_NODE)
    part(new_at, 1, Op.PAGE_FREE, rng.integers(0, cpus, len(new_at)), 2, newest - live, order, 0)
    tick = np.repeat(np.arange(ticks), accesses)
    target = live - 1 + tick // alloc_every - rng.integers(0, hot, n_acc)
    part(tick, 2, np.where(rng.random(n_acc) < 0.3, Op.STORE, Op.LOAD), rng.integers(0, cpus, n_acc), 3, target,
         LINE, rng.integers(0, (PAGE_SIZE << order) // LINE, n_acc) * LINE)
    part(np.arange(ticks), 3, Op.TIME, 0, 0, NO_ID, 0, tick_ns)
    cols = [np.concatenate([p[k] for p in parts]) for k in range(8)]
    order_ = np.lexsort((cols[1], cols[0]))                          # by tick, then kind (stable)
    rec = empty(len(order_))
    rec["op"] = cols[2][order_]
    rec["cpu"] = cols[3][order_]
    rec["site"] = cols[4][order_]
    rec["id"] = cols[5][order_]
    rec["arg0"] = cols[6][order_]
    rec["arg1"] = cols[7][order_]
    rec["flags"] = np.where(rec["op"] == Op.PAGE_ALLOC, MOVABLE, np.where(rec["op"] == Op.MEMPOLICY,
                                                                            POLICIES[policy], 0))
    return Trace(rec, ["", "hot:alloc_buffer", "hot:free_buffer", "hot:access"], nr_ids=int(live + len(new_at)))


GENERATOR = Generator("hot_node", hot_node, (
    count("ticks", max=MAX_COUNT, doc="ticks of simulated time (a TIME record each)"), cpus(),
    count("tick_ns", max=1 << 40, doc="ns a tick advances"),
    count("accesses", max=1 << 16, doc="64-byte accesses per tick"),
    count("alloc_every", doc="ticks between buffer replacements"),
    count("live", doc="buffers live at once"), count("hot", doc="the newest buffers that take the accesses"),
    count("order", min=0, max=10, doc="pages per buffer: 2^order"),
    param("policy", Str(("local", "thermal")), "the issuing CPUs' memory policy"),
), "a hot working set on a few CPUs over simulated time: node temperature under local or thermal placement")
