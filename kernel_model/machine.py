"""Machine: the modelled memory subsystem, one zone per NUMA node, driven from Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kernel_model import _core
from kernel_model.mm import (
    LOCAL_DISTANCE,
    MAX_PAGE_ORDER,
    MIGRATE_TYPES,
    PAGE_SHIFT,
    PAGE_SIZE,
    REMOTE_DISTANCE,
    ZONE_NAME,
    migratetype_of,
)
from kernel_model.procfs import (
    ZoneFreeState,
    ZoneWatermarks,
    format_buddyinfo,
    format_pagetypeinfo,
    format_zoneinfo,
)
from kernel_model.trace import OP_DTYPE, Op, Trace, infer_nr_ids
from kernel_model.units import parse_size
from kernel_model.zonelist import build_zonelists

# Replay error codes, in the order of enum mm_replay_error (core/replay.h).
REPLAY_ERRORS = ("none", "bad_op", "unsupported_op", "bad_arg", "id_range", "id_live",
                 "unknown_id", "double_free", "wrong_order", "wrong_kind")
_REPLAY_ERROR_TEXT = {
    "bad_op": "op code outside the trace format",
    "unsupported_op": "op not replayed by this model yet",
    "bad_arg": "order, migratetype, cpu or node out of range",
    "id_range": "id beyond the trace's nr_ids",
    "id_live": "allocation into an id that is still live",
    "unknown_id": "free of an id that was never allocated",
    "double_free": "free of an id that is already free",
    "wrong_order": "free with another order than allocated",
    "wrong_kind": "free through the wrong interface",
}
# Zone counters, in the order of enum zone_stat_item (core/mm_types.h).
ZONE_STATS = ("pgalloc", "pgfree", "alloc_success", "alloc_fail", "extfrag", "pcp_refill",
              "pcp_drain", "wmark_low_fail")
_FREE_ERRORS = {1: "pfn {pfn} is outside every zone", 2: "pfn {pfn} is not the head of an allocated block",
                3: "pfn {pfn} was not allocated with order {order}"}
MAX_IDS = 1 << 28  # 4 GiB of id map


@dataclass(frozen=True)
class ReplayError:
    record: int
    kind: str
    id: int

    def __str__(self) -> str:
        return f"record {self.record}: {_REPLAY_ERROR_TEXT[self.kind]} (id {self.id})"


@dataclass
class ReplayResult:
    """What one replay call did: op counts, allocation failures and rejected records."""

    records: int
    op_counts: dict[str, int]
    alloc_failed: int
    free_skipped: int
    error_counts: dict[str, int]
    errors: list[ReplayError]  # the first logged ones, in record order
    results: np.ndarray | None = field(default=None, repr=False)  # per record: pfn / FAILED / ERROR

    FAILED = 0xFFFFFFFFFFFFFFFF
    ERROR = 0xFFFFFFFFFFFFFFFE

    @property
    def nr_errors(self) -> int:
        return sum(self.error_counts.values())

    @property
    def ok(self) -> bool:
        return self.nr_errors == 0


class Machine:
    """A NUMA machine's page allocator: buddy lists per node, pcp lists per CPU.

    Sizes are bytes or strings such as "256M"; node_mem is one size for every node
    or one per node. Nodes are laid out contiguously from pfn 0, CPUs are numbered
    node by node (cpus_per_node each).
    """

    def __init__(self, nodes: int = 2, node_mem: int | str | Sequence[int | str] = "256M",
                 cpus_per_node: int = 1, pcp: bool = True, mobility_grouping: bool = True,
                 min_free_kbytes: int | None = None, max_logged_errors: int = 1000) -> None:
        if not 1 <= nodes <= _core.MAX_NODES:
            raise ValueError(f"nodes must be 1..{_core.MAX_NODES}, got {nodes}")
        if cpus_per_node < 0 or nodes * cpus_per_node > _core.MAX_CPUS or nodes * cpus_per_node == 0:
            raise ValueError(f"need 1..{_core.MAX_CPUS} CPUs in all, got {nodes} x {cpus_per_node}")
        sizes = [node_mem] * nodes if isinstance(node_mem, (int, str)) else list(node_mem)
        if len(sizes) != nodes:
            raise ValueError(f"node_mem lists {len(sizes)} sizes for {nodes} nodes")
        pages = []
        for nid, size in enumerate(sizes):
            nbytes = parse_size(size)
            if nbytes % PAGE_SIZE:
                raise ValueError(f"node {nid} memory {size!r} is not a multiple of the {PAGE_SIZE}-byte page")
            pages.append(nbytes >> PAGE_SHIFT)
        if sum(pages) >= 1 << 32:
            raise ValueError("total memory must stay below 16 TiB (32-bit pfns)")
        ranges, start = [], 0
        for n in pages:
            ranges.append((start, n, [(start, start + n)] if n else []))
            start += n
        self.nodes = nodes
        self.cpus_per_node = cpus_per_node
        self.pcp = pcp
        self.mobility_grouping = mobility_grouping
        self.node_pages = pages
        self.cpu_to_node = [cpu // cpus_per_node for cpu in range(nodes * cpus_per_node)]
        distance = [[LOCAL_DISTANCE if i == j else REMOTE_DISTANCE for j in range(nodes)] for i in range(nodes)]
        has_cpus = [cpus_per_node > 0] * nodes
        self._zonelists = build_zonelists(distance, has_cpus, [n > 0 for n in pages])
        padded = [zl + [n for n in range(nodes) if n not in zl] for zl in self._zonelists]
        self._core = _core.MachineCore(ranges, self.cpu_to_node, padded, pcp, mobility_grouping,
                                       min_free_kbytes or 0, max_logged_errors)

    # -- allocation ---------------------------------------------------------
    def alloc_pages(self, order: int, migratetype: int | str = "movable", cpu: int = 0,
                    node: int | None = None) -> int | None:
        """Allocate 2^order pages; returns the first pfn, or None when no zone can serve it."""
        self._check_order(order)
        self._check_cpu(cpu)
        if node is not None and not 0 <= node < self.nodes:
            raise ValueError(f"node {node} out of range 0..{self.nodes - 1}")
        return self._core.alloc_pages(order, migratetype_of(migratetype), cpu, -1 if node is None else node)

    def free_pages(self, pfn: int, order: int, cpu: int = 0) -> None:
        """Free a block returned by alloc_pages; raises ValueError if it is not one."""
        self._check_order(order)
        self._check_cpu(cpu)
        if not 0 <= pfn < 1 << 32:
            raise ValueError(f"pfn {pfn} out of range")
        err = self._core.free_pages(pfn, order, cpu)
        if err:
            raise ValueError(_FREE_ERRORS[err].format(pfn=pfn, order=order))

    def drain_pcp(self) -> None:
        """Empty every per-CPU list back to the buddy lists (drain_all_pages)."""
        self._core.drain_all_pages()

    def replay(self, ops: Trace | np.ndarray, results: bool = False) -> ReplayResult:
        """Replay an op stream in C. Ids persist across calls, so a long trace can go in chunks."""
        if isinstance(ops, Trace):
            records, nr_ids = ops.records, ops.nr_ids or 0
        else:
            records = np.asarray(ops)
            if records.dtype != OP_DTYPE:
                raise TypeError("ops must be a Trace or an array of kernel_model.trace.OP_DTYPE")
            nr_ids = min(infer_nr_ids(records), max(len(records), 1 << 16))
        if nr_ids > MAX_IDS:
            raise ValueError(f"trace declares {nr_ids} ids; the model's id map holds at most {MAX_IDS}")
        records = np.ascontiguousarray(records)
        before = self._core.replay_state()
        out = np.empty(len(records), np.uint64) if results else None
        self._core.replay(records.view(np.uint8).reshape(-1), len(records), nr_ids, out)
        after = self._core.replay_state()
        ops_done = [a - b for a, b in zip(after["op_count"], before["op_count"], strict=False)]
        errs = [a - b for a, b in zip(after["error_count"], before["error_count"], strict=False)]
        return ReplayResult(
            records=len(records),
            op_counts={Op(i).name.lower(): n for i, n in enumerate(ops_done) if n},
            alloc_failed=after["alloc_failed"] - before["alloc_failed"],
            free_skipped=after["free_skipped"] - before["free_skipped"],
            error_counts={REPLAY_ERRORS[i]: n for i, n in enumerate(errs) if n},
            errors=[ReplayError(rec, REPLAY_ERRORS[code], id_)
                    for rec, code, id_ in after["errors"][len(before["errors"]):]],
            results=out,
        )

    # -- state --------------------------------------------------------------
    def nr_free(self) -> np.ndarray:
        """Free blocks in the buddy lists, uint64 array [node, migratetype, order]."""
        return self._core.nr_free()

    def nr_free_pages(self, node: int | None = None) -> int:
        """Free pages in the buddy lists (NR_FREE_PAGES) of one node or all."""
        nodes = range(self.nodes) if node is None else [node]
        return sum(self._core.zone(n)["nr_free_pages"] for n in nodes)

    def pfn_to_nid(self, pfn: int) -> int:
        nid = self._core.pfn_to_nid(pfn)
        if nid < 0:
            raise ValueError(f"pfn {pfn} is outside every zone")
        return nid

    def zonelist(self, node: int) -> list[int]:
        """Node order in which allocations preferring `node` try the zones."""
        return list(self._zonelists[node])

    def watermarks(self) -> dict[int, dict[str, int]]:
        """min / low / high watermarks in pages per node."""
        return {n: {k: self._core.zone(n)[k] for k in ("min", "low", "high")} for n in range(self.nodes)}

    @property
    def min_free_kbytes(self) -> int:
        return self._core.min_free_kbytes

    def zone_stats(self) -> dict[int, dict[str, int]]:
        """Event counters per node (pages allocated/freed, failures, fallbacks, pcp traffic)."""
        return {n: dict(zip(ZONE_STATS, self._core.zone(n)["stat"], strict=False)) for n in range(self.nodes)}

    def pageblock_counts(self, node: int) -> list[int]:
        """Pageblocks per migratetype on a node."""
        mts = self._core.pageblock_migratetypes(node)
        return np.bincount(mts, minlength=MIGRATE_TYPES).tolist() if self.node_pages[node] else [0] * MIGRATE_TYPES

    def free_lists(self, node: int) -> dict[tuple[int, int], list[int]]:
        """Every buddy free list of a node, in list order: {(order, migratetype): [pfn, ...]}."""
        return self._core.free_lists(node)

    def pcp_lists(self, node: int, cpu: int) -> dict[tuple[int, int], list[int]]:
        """One CPU's per-CPU lists for a node's zone: {(order, migratetype): [pfn, ...]}."""
        return self._core.pcp_lists(node, cpu)

    # -- /proc formats --------------------------------------------------------
    def _zone_states(self) -> list[ZoneFreeState]:
        nr_free = self.nr_free()
        return [ZoneFreeState(n, ZONE_NAME, nr_free[n].tolist(), self.pageblock_counts(n))
                for n in range(self.nodes) if self.node_pages[n]]

    def buddyinfo(self) -> str:
        """/proc/buddyinfo of the model."""
        return format_buddyinfo(self._zone_states())

    def pagetypeinfo(self) -> str:
        """/proc/pagetypeinfo of the model."""
        return format_pagetypeinfo(self._zone_states())

    def zoneinfo(self) -> str:
        """The watermark and pcp lines of /proc/zoneinfo."""
        zones = []
        for n in range(self.nodes):
            z = self._core.zone(n)
            zones.append(ZoneWatermarks(n, ZONE_NAME, z["nr_free_pages"], z["min"], z["low"], z["high"],
                                        z["spanned"], z["present"], z["managed"], z["start_pfn"], z["pcp"]))
        return format_zoneinfo(zones)

    # -- helpers ------------------------------------------------------------
    def _check_order(self, order: int) -> None:
        if not 0 <= order <= MAX_PAGE_ORDER:
            raise ValueError(f"order {order} out of range 0..{MAX_PAGE_ORDER}")

    def _check_cpu(self, cpu: int) -> None:
        if not 0 <= cpu < len(self.cpu_to_node):
            raise ValueError(f"cpu {cpu} out of range 0..{len(self.cpu_to_node) - 1}")
