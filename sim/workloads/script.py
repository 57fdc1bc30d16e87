"""A small scripting API for hand-written workloads: call methods, get a Trace.

    w = Workload(cpus=2)
    head = w.kmalloc(64, site="list_init")
    w.root(head)
    for i in range(100):
        node = w.kmalloc(32, site="list_add", cpu=i % 2)
        w.ref(head, node, offset=8)       # head->next = node
        w.store(node, 0, 8)
    w.free(node)
    trace = w.trace()

Ids are handed out and recycled by the script, call sites are named by strings. Each call
appends one record (a Python call per op: for workloads of up to a few million records;
the generators in this package build their arrays with numpy instead).
"""

from __future__ import annotations

from kernel_model._core import FLAG_HWCACHE_ALIGN, FLAG_RECLAIM_ACCOUNT, MM_MAX_TASKS, NO_TASK
from kernel_model.machine import MPOL_MODES
from kernel_model.mm import MIGRATE_PCPTYPES, MIGRATETYPE_NAMES
from kernel_model.trace import NO_ID, NO_NODE, Op, Trace, empty

MIGRATETYPES = {name.lower(): mt for mt, name in enumerate(MIGRATETYPE_NAMES[:MIGRATE_PCPTYPES])}
# the policies a nodemask configures (access-aware takes a threshold instead)
POLICIES = {name: mode for name, mode in MPOL_MODES.items() if name != "access_aware"}


class Workload:
    """Records op by op; ids are recycled after a free, as a kernel reuses addresses."""

    def __init__(self, cpus: int = 1) -> None:
        self.cpus = cpus
        self._rows: list[tuple[int, int, int, int, int, int, int]] = []
        self._sites: dict[str, int] = {"": 0}
        self._free_ids: list[int] = []
        self._next_id = 0
        self._kind: dict[int, str] = {}     # live id -> "page:<order>", "object", "cache"

    # -- plumbing ------------------------------------------------------------------------
    def _site(self, name: str) -> int:
        return self._sites.setdefault(name, len(self._sites))

    def _emit(self, op: Op, id_: int = NO_ID, arg0: int = 0, arg1: int = 0, flags: int = 0, cpu: int = 0,
              site: str = "") -> None:
        if not 0 <= cpu < self.cpus:
            raise ValueError(f"cpu {cpu} outside 0..{self.cpus - 1}")
        self._rows.append((int(op), flags, cpu, self._site(site), id_, arg0, arg1))

    def _new_id(self, kind: str) -> int:
        id_ = self._free_ids.pop() if self._free_ids else self._next_id
        if id_ == self._next_id:
            self._next_id += 1
        self._kind[id_] = kind
        return id_

    def _release(self, id_: int, want: str) -> str:
        kind = self._kind.get(id_)
        if kind is None or not kind.startswith(want):
            raise ValueError(f"id {id_} is not a live {want}")
        del self._kind[id_]
        self._free_ids.append(id_)
        return kind

    # -- the ops ---------------------------------------------------------------------------
    def alloc_pages(self, order: int = 0, migratetype: str = "unmovable", node: int | None = None, cpu: int = 0,
                    site: str = "") -> int:
        id_ = self._new_id(f"page:{order}")
        self._emit(Op.PAGE_ALLOC, id_, order, NO_NODE if node is None else node, MIGRATETYPES[migratetype],
                   cpu, site)
        return id_

    def free_pages(self, id_: int, cpu: int = 0, site: str = "") -> None:
        order = int(self._release(id_, "page").split(":")[1])
        self._emit(Op.PAGE_FREE, id_, order, cpu=cpu, site=site)

    def kmalloc(self, size: int, node: int | None = None, cpu: int = 0, site: str = "") -> int:
        id_ = self._new_id("object")
        self._emit(Op.KMALLOC, id_, size, NO_NODE if node is None else node, cpu=cpu, site=site)
        return id_

    def kmem_cache_create(self, name: str, size: int, align: int = 8, hwcache_align: bool = False,
                          reclaimable: bool = False) -> int:
        id_ = self._new_id("cache")
        flags = (FLAG_HWCACHE_ALIGN if hwcache_align else 0) | (FLAG_RECLAIM_ACCOUNT if reclaimable else 0)
        self._emit(Op.CACHE_CREATE, id_, size, align | flags << 32, site=name)
        return id_

    def kmem_cache_destroy(self, cache: int, cpu: int = 0, site: str = "") -> None:
        """kmem_cache_destroy (the model refuses it, as cache_busy, while the cache has objects)."""
        self._release(cache, "cache")
        self._emit(Op.CACHE_DESTROY, cache, cpu=cpu, site=site)

    def kmem_cache_alloc(self, cache: int, cpu: int = 0, site: str = "") -> int:
        id_ = self._new_id(f"object:{cache}")
        self._emit(Op.CACHE_ALLOC, id_, 0, cache, cpu=cpu, site=site)
        return id_

    def free(self, id_: int, cpu: int = 0, site: str = "") -> None:
        """kfree, or kmem_cache_free for an object from a kmem_cache."""
        kind = self._release(id_, "object")
        if ":" in kind:
            self._emit(Op.CACHE_FREE, id_, 0, int(kind.split(":")[1]), cpu=cpu, site=site)
        else:
            self._emit(Op.KFREE, id_, cpu=cpu, site=site)

    def load(self, id_: int, offset: int = 0, size: int = 8, cpu: int = 0, site: str = "") -> None:
        self._emit(Op.LOAD, id_, size, offset, cpu=cpu, site=site)

    def store(self, id_: int, offset: int = 0, size: int = 8, cpu: int = 0, site: str = "") -> None:
        self._emit(Op.STORE, id_, size, offset, cpu=cpu, site=site)

    def modify(self, id_: int, offset: int = 0, size: int = 8, cpu: int = 0, site: str = "") -> None:
        self._emit(Op.MODIFY, id_, size, offset, cpu=cpu, site=site)

    def call(self, function: str, frame: int, cpu: int = 0) -> None:
        self._emit(Op.CALL, NO_ID, frame, cpu=cpu, site=function)

    def ret(self, cpu: int = 0) -> None:
        self._emit(Op.RET, NO_ID, cpu=cpu)

    def ref(self, src: int, dst: int, offset: int = 0, interior: int = 0, cpu: int = 0, site: str = "") -> None:
        """src->field at `offset` = &dst + interior (a pointer into dst when interior > 0)."""
        self._emit(Op.REF_SET, src, offset, dst | interior << 32, cpu=cpu, site=site)

    def unref(self, src: int, offset: int = 0, cpu: int = 0, site: str = "") -> None:
        self._emit(Op.REF_CLEAR, src, offset, cpu=cpu, site=site)

    def root(self, id_: int, cpu: int = 0) -> None:
        """id_ is a root of the leak scan (a global, or held on a stack)."""
        self._emit(Op.ROOT_ADD, id_, cpu=cpu)

    def unroot(self, id_: int, cpu: int = 0) -> None:
        self._emit(Op.ROOT_DEL, id_, cpu=cpu)

    def not_leak(self, id_: int, cpu: int = 0) -> None:
        """kmemleak_not_leak(id_): never report it, and scan it (what it points to is referenced)."""
        self._emit(Op.NOT_LEAK, id_, cpu=cpu)

    def task(self, task: int | None, cpu: int = 0) -> None:
        """CPU `cpu` runs `task` (0 .. MM_MAX_TASKS-1) from now on, on that task's stack; None: its
        own task again. A task running elsewhere moves here."""
        if task is not None and not 0 <= task < MM_MAX_TASKS:
            raise ValueError(f"task {task} outside 0..{MM_MAX_TASKS - 1}")
        self._emit(Op.TASK, NO_ID, NO_TASK if task is None else task, cpu=cpu)

    def time(self, ns: int) -> None:
        self._emit(Op.TIME, NO_ID, 0, ns)

    def phase(self, name: str, number: int | None = None) -> None:
        self._emit(Op.PHASE, NO_ID, number if number is not None else len(self._rows), site=name)

    def mempolicy(self, mode: str, nodes: list[int] = (), cpu: int = 0) -> None:
        """set_mempolicy for `cpu`: mode (POLICIES; "thermal" with no nodes: all of them)."""
        self._emit(Op.MEMPOLICY, NO_ID, 0, sum(1 << n for n in nodes), POLICIES[mode], cpu)

    def trace(self) -> Trace:
        rec = empty(len(self._rows))
        if self._rows:
            cols = list(zip(*self._rows, strict=True))
            for name, col in zip(("op", "flags", "cpu", "site", "id", "arg0", "arg1"), cols, strict=True):
                rec[name] = col
        return Trace(rec, list(self._sites), nr_ids=self._next_id)

    def __len__(self) -> int:
        return len(self._rows)
