"""Object graphs with references: hash tables of singly linked lists whose nodes own a data
buffer, churned by inserts and deletes on several CPUs, with leaks of each memcheck kind
planted along the way (their allocation sites name them: "leak:<kind>"):

- leak:definite       a buffer nothing points to (an error path that forgot kfree)
- leak:lost_parent    a node dropped from its list with its buffer still attached: the node is
  leak:indirect       definitely lost, its buffer (pointed to only by the node) indirectly lost
- leak:interior       an object the tables point into, never at its start: possibly lost
- cache:grow          objects a root keeps and never drops (not a leak to reachability, but it
                      grows without bound: the growth-based detector's suspect)
"""

from __future__ import annotations

import numpy as np

from kernel_model.trace import Op, Trace
from sim.fields import Int, ListOf
from sim.workloads.generator import Generator, count, cpus, param
from sim.workloads.script import Workload

LEAK_SITES = {"leak:definite": "definitely_lost", "leak:lost_parent": "definitely_lost",
              "leak:indirect": "indirectly_lost", "leak:interior": "possibly_lost"}
TABLE_SLOTS = 512          # a 4 KiB table of pointers
RESERVED = 16              # its last slots: the lists never use them, interior pointers do
NODE_SIZE, NEXT, DATA = 64, 0, 8


def object_graph(operations: int = 20_000, tables: int = 2, cpus: int = 2, leaks: int = 3, population: int = 1000,
                 data_sizes: tuple[int, ...] = (32, 96, 192, 512), seed: int = 0) -> Trace:
    """`operations` inserts/deletes over `tables` root tables, the lists' nodes wandering around
    `population`; `leaks` of each kind planted at evenly spaced points; a growing cache kept by a
    root."""
    if operations <= 0 or tables <= 0 or cpus <= 0 or not 0 <= leaks <= RESERVED:
        raise ValueError(f"need operations > 0, tables > 0, cpus > 0 and 0 <= leaks <= {RESERVED}")
    rng = np.random.default_rng(seed)
    w = Workload(cpus=cpus)
    table_ids = []
    for _ in range(tables):
        t = w.kmalloc(TABLE_SLOTS * 8, site="table_alloc")
        w.root(t)
        table_ids.append(t)
    grow = w.kmalloc(TABLE_SLOTS * 8, site="cache_init")
    w.root(grow)
    chains: list[list[list[int]]] = [[[] for _ in range(TABLE_SLOTS)] for _ in range(tables)]  # node ids
    data_of: dict[int, int] = {}
    plant_at = set(np.linspace(operations // 5, operations * 4 // 5, leaks).astype(int).tolist()) if leaks else set()
    grown = planted = 0
    for step in range(operations):
        cpu = int(rng.integers(cpus))
        if step % 97 == 0 and grown < TABLE_SLOTS:   # the cache that only grows
            w.ref(grow, w.kmalloc(128, cpu=cpu, site="cache:grow"), offset=grown * 8, cpu=cpu, site="cache_add")
            grown += 1
        if step in plant_at:
            _plant(w, table_ids[0], TABLE_SLOTS - 1 - planted, cpu)
            planted += 1
        t, slot = int(rng.integers(tables)), int(rng.integers(TABLE_SLOTS - RESERVED))
        chain = chains[t][slot]
        if rng.random() < min(0.9, 0.5 * len(data_of) / population):   # delete a head, if there is one
            if not chain:
                continue
            head = chain.pop()
            if chain:
                w.ref(table_ids[t], chain[-1], offset=slot * 8, cpu=cpu, site="list_del")
            else:
                w.unref(table_ids[t], offset=slot * 8, cpu=cpu, site="list_del")
            w.free(data_of.pop(head), cpu=cpu, site="node_free")
            w.free(head, cpu=cpu, site="node_free")
        else:                                      # insert a node with its buffer at the head
            node = w.kmalloc(NODE_SIZE, cpu=cpu, site="node_alloc")
            data = w.kmalloc(int(rng.choice(data_sizes)), cpu=cpu, site="buffer_alloc")
            w.ref(node, data, offset=DATA, cpu=cpu, site="node_init")
            w.store(data, 0, 8, cpu=cpu, site="node_init")
            if chain:
                w.ref(node, chain[-1], offset=NEXT, cpu=cpu, site="list_add")
            w.ref(table_ids[t], node, offset=slot * 8, cpu=cpu, site="list_add")
            data_of[node] = data
            chain.append(node)
    return w.trace()


def _plant(w: Workload, table: int, slot: int, cpu: int) -> None:
    """One leak of each kind; `slot` is a reserved table slot for the interior pointer."""
    w.kmalloc(256, cpu=cpu, site="leak:definite")
    parent = w.kmalloc(NODE_SIZE, cpu=cpu, site="leak:lost_parent")
    w.ref(parent, w.kmalloc(96, cpu=cpu, site="leak:indirect"), offset=DATA, cpu=cpu, site="node_init")
    # a table slot points 16 bytes into an object: only an interior pointer reaches it
    w.ref(table, w.kmalloc(192, cpu=cpu, site="leak:interior"), offset=slot * 8, interior=16, cpu=cpu,
          site="iter_init")


def planted_leaks(trace: Trace) -> dict[str, set[int]]:
    """The ids of the planted leaks still live at the end, by memcheck kind (the ground truth)."""
    r = trace.records
    alloc = np.isin(r["op"], (Op.KMALLOC, Op.CACHE_ALLOC))
    free = np.isin(r["op"], (Op.KFREE, Op.CACHE_FREE))
    last_alloc, last_free = {}, {}
    for i in np.flatnonzero(alloc | free).tolist():
        (last_alloc if alloc[i] else last_free)[int(r["id"][i])] = i
    out: dict[str, set[int]] = {kind: set() for kind in set(LEAK_SITES.values())}
    for id_, i in last_alloc.items():
        site = trace.sites[int(r["site"][i])]
        if site in LEAK_SITES and last_free.get(id_, -1) < i:
            out[LEAK_SITES[site]].add(id_)
    return out


GENERATOR = Generator("object_graph", object_graph, (
    count("operations", doc="inserts and deletes"), count("tables", max=4096, doc="root hash tables"),
    cpus(), count("leaks", min=0, max=RESERVED, doc="leaks planted of each kind"),
    count("population", doc="list nodes live on average"),
    param("data_sizes", ListOf(Int(1, 8192), 1), "sizes of the data blocks hung off list nodes"),
), "hash tables of linked lists with planted leaks")
