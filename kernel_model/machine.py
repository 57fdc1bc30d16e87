"""Machine: the modelled memory subsystem, zones on NUMA nodes (one Normal zone per node unless
laid out otherwise), driven from Python."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kernel_model import _core
from kernel_model._core import CacheCore
from kernel_model.caches import CacheConfigError, CacheOptions, apply_options, build_cpu, options, parse_config
from kernel_model.mm import (
    LOCAL_DISTANCE,
    MAX_PAGE_ORDER,
    MIGRATE_TYPES,
    PAGE_SHIFT,
    PAGE_SIZE,
    REMOTE_DISTANCE,
    ZONE_NAME,
    ZONE_NAMES,
    migratetype_of,
)
from kernel_model.procfs import (
    ZoneFreeState,
    ZoneInfo,
    format_buddyinfo,
    format_pagetypeinfo,
    format_zoneinfo,
)
from kernel_model.slabinfo import KmemCache, cache_stats, format_slabinfo, slab_waste
from kernel_model.snapshot import Snapshots
from kernel_model.topology import Topology
from kernel_model.trace import OP_DTYPE, Op, Trace, infer_nr_ids
from kernel_model.units import parse_duration, parse_size
from kernel_model.zonelist import build_zonelists

# Names of the core's enums, in their order (core/replay.h, core/mm_types.h).
REPLAY_ERRORS: tuple[str, ...] = _core.REPLAY_ERROR_NAMES
_REPLAY_ERROR_TEXT = dict(zip(REPLAY_ERRORS, _core.REPLAY_ERROR_TEXT, strict=True))
ZONE_STATS: tuple[str, ...] = _core.ZONE_STAT_NAMES
NUMASTAT: tuple[str, ...] = _core.NUMA_STAT_NAMES
MPOL_MODES: dict[str, int] = {name: mode for mode, name in enumerate(_core.MPOL_NAMES)}
_FREE_ERRORS = {_core.MM_FREE_BAD_PFN: "pfn {pfn} is outside every zone",
                _core.MM_FREE_NOT_ALLOCATED: "pfn {pfn} is not the head of an allocated block",
                _core.MM_FREE_BAD_ORDER: "pfn {pfn} was not allocated with order {order}",
                _core.MM_FREE_WRONG_KIND: "pfn {pfn} is a slab or a kmalloc() allocation: free it with kfree()",
                _core.MM_FREE_BAD_CPU: "the cpu is outside the machine"}
_SLAB_ERRORS = {_core.SLAB_ENOTOBJ: "{addr:#x} is not an allocated object",
                _core.SLAB_EDOUBLE: "{addr:#x} is already free (double free)",
                _core.SLAB_EWRONG_CACHE: "{addr:#x} belongs to another cache than {cache}",
                _core.SLAB_EPAGE: "{addr:#x} is a page allocation made by alloc_pages(): free it with free_pages()",
                _core.SLAB_EBADCPU: "the cpu is outside the machine"}
# page_map() codes besides 1 + migratetype (allocated)
PAGE_MAP_FREE, PAGE_MAP_SLAB, PAGE_MAP_HOLE = _core.PAGE_MAP_FREE, _core.PAGE_MAP_SLAB, _core.PAGE_MAP_HOLE
BASE_PFN = 1 << 20  # memory starts at 4 GiB: one Normal zone per node, and NULL / ZERO_SIZE_PTR are never objects
MAX_IDS = 1 << 28  # 4 GiB of id map
LINUX_KMALLOC_CLASSES: tuple[int, ...] = _core.KMALLOC_SIZES   # the default: Linux 6.1's kmalloc-8 .. kmalloc-8k


def check_kmalloc_classes(classes: Sequence[int]) -> tuple[int, ...]:
    """A machine's kmalloc classes, checked as the core checks them (slab.h): 1..MAX_KMALLOC sizes,
    multiples of 8 from 8 to KMALLOC_MAX_SIZE, ascending without repeats. ValueError says which
    entry is wrong and why."""
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence):
        raise ValueError(f"kmalloc classes must be a list of sizes, got {classes!r:.40}")
    if not 1 <= len(classes) <= _core.MAX_KMALLOC:
        raise ValueError(f"kmalloc classes: {len(classes)} sizes given, a machine has 1..{_core.MAX_KMALLOC}")
    for i, size in enumerate(classes):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise ValueError(f"kmalloc class {size!r:.20} is not an integer")
        if size % 8 or not 8 <= size <= _core.KMALLOC_MAX_SIZE:
            raise ValueError(f"kmalloc class {size} is not a multiple of 8 from 8 to {_core.KMALLOC_MAX_SIZE} "
                             "(larger requests go to the page allocator)")
        if i and size <= classes[i - 1]:
            raise ValueError(f"kmalloc class {size} " + ("is listed twice" if size == classes[i - 1] else
                             f"comes after {classes[i - 1]}: the classes must ascend"))
    return tuple(int(s) for s in classes)


def kmalloc_cache_name(size: int) -> str:
    """kmalloc-96, kmalloc-1k (Linux's names; a size that is not whole KiB keeps its bytes)."""
    return f"kmalloc-{size // 1024}k" if size >= 1024 and not size % 1024 else f"kmalloc-{size}"


# The thermal model's settings (core/thermal.h), millidegrees Celsius above ambient; the defaults
# of a model switched on with fewer keys.
THERMAL_DEFAULTS = {"heat_per_access": 1, "heat_per_page": 20, "half_life": "1ms", "throttle": 20_000}


class _SiteNames:
    """site id -> name, from a trace's string table ("site-N" past its end or for empty names)."""

    def __init__(self, sites: list[str]) -> None:
        self._sites = sites

    def __getitem__(self, i: int) -> str:
        return self._sites[i] if 0 <= i < len(self._sites) and self._sites[i] else f"site-{i}"


@dataclass(frozen=True)
class ReplayError:
    record: int
    kind: str
    id: int

    def __str__(self) -> str:
        return f"record {self.record}: {_REPLAY_ERROR_TEXT[self.kind]} (id {self.id})"


def _top_remote(counts: np.ndarray, top: int) -> list[tuple[int, int, int]]:
    """(remote, local, row) of the rows with remote accesses, most remote first (ties: more
    local, then higher row), vectorised: there is a row per object."""
    rows = np.flatnonzero(counts[:, 1])
    remote, local = counts[rows, 1].astype(np.int64), counts[rows, 0].astype(np.int64)
    best = rows[np.lexsort((-rows, -local, -remote))][:top]
    return [(int(counts[i, 1]), int(counts[i, 0]), int(i)) for i in best]


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
    snapshots: Snapshots | None = field(default=None, repr=False)  # taken at replay(snapshot_at=...)
    pretrace_freed: int = 0     # frees of what the trace did not allocate that took imported memory
    pretrace_skipped: int = 0   # the same, with nothing imported left to free

    FAILED = _core.RESULT_FAILED
    ERROR = _core.RESULT_ERROR

    @property
    def nr_errors(self) -> int:
        return sum(self.error_counts.values())

    @property
    def ok(self) -> bool:
        return self.nr_errors == 0


def _node_zones(nid: int, node: Mapping) -> list[tuple]:
    """A laid-out node's zones as MachineCore takes them: its "zones" list, else one Normal zone."""
    zones = node.get("zones", [{"zone": ZONE_NAME, **node}])
    out = []
    for z in zones:
        if z["zone"] not in ZONE_NAMES[:_core.ZONE_DEVICE]:
            raise ValueError(f"node {nid}: zone {z['zone']!r} is not one of "
                             f"{', '.join(ZONE_NAMES[:_core.ZONE_DEVICE])}")
        if z["spanned_pages"]:
            out.append((nid, ZONE_NAMES.index(z["zone"]), z["start_pfn"], z["spanned_pages"],
                        [tuple(r) for r in z["usable_pfns"]]))
    return out


class Machine:
    """A NUMA machine's page allocator: zones with buddy lists on each node, pcp lists per CPU.

    Sizes are bytes or strings such as "256M"; node_mem is one size for every node
    or one per node. Nodes are laid out contiguously from 4 GiB (pfn 0x100000), as
    on a 64-bit machine whose memory is all in ZONE_NORMAL; CPUs are numbered node
    by node (cpus_per_node each). Addresses of slab objects are model physical
    addresses: pfn << 12 plus the offset in the slab. Machine.from_procfs builds the
    machine a Linux /proc + /sys snapshot describes.
    """

    def __init__(self, nodes: int = 2, node_mem: int | str | Sequence[int | str] = "256M",
                 cpus_per_node: int = 1, pcp: bool = True, mobility_grouping: bool = True,
                 min_free_kbytes: int | None = None, max_logged_errors: int = 1000,
                 max_caches: int = 256, caches: Mapping | None = None, topology: Topology | None = None,
                 zones: Sequence[Mapping] | None = None, cpu_to_node: Sequence[int] | None = None,
                 distances: Sequence[Sequence[int]] | None = None,
                 lowmem_reserve_ratio: Sequence[int] | None = None,
                 kmalloc_classes: Sequence[int] | None = None, thermal: Mapping | None = None) -> None:
        """zones (with cpu_to_node and distances) lays the machine out exactly as a guest found it:
        per node a dict with start_pfn, spanned_pages and usable_pfns [(start, end), ...] (one
        Normal zone), or with "zones": a list of such dicts, each with its "zone" type ("DMA",
        "DMA32", "Normal", "Movable"). lowmem_reserve_ratio: vm.lowmem_reserve_ratio, one per
        zone type (default Linux's 256, 256, 32, 0, 0). kmalloc_classes: the kmalloc caches'
        sizes (default LINUX_KMALLOC_CLASSES), each laid out as Linux lays out any cache; requests
        above the largest go to the page allocator. thermal switches the per-node thermal model on
        (core/thermal.h): heat_per_access and heat_per_page (millidegrees), half_life (ns or
        "1ms"), throttle (millidegrees above ambient); missing keys take THERMAL_DEFAULTS."""
        classes = LINUX_KMALLOC_CLASSES if kmalloc_classes is None else check_kmalloc_classes(kmalloc_classes)
        core_zones = None
        if zones is not None:
            core_zones = [z for nid, node in enumerate(zones) for z in _node_zones(nid, node)]
            nodes, cpus_per_node = len(zones), 1
            node_mem = [sum(hi - lo for z in core_zones if z[0] == nid for lo, hi in z[4]) << PAGE_SHIFT
                        for nid in range(nodes)]
        if topology is not None:   # the topology decides nodes, sizes, CPUs and distances
            nodes = topology.nr_nodes
            node_mem = [topology.node_mem(n) for n in range(nodes)]
            cpus_per_node = 1
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
        if core_zones is None and BASE_PFN + sum(pages) >= 1 << 32:
            raise ValueError("total memory must stay below 16 TiB - 4 GiB (32-bit pfns from 4 GiB)")
        if core_zones is None:
            core_zones, start = [], BASE_PFN
            for nid, n in enumerate(pages):
                if n:
                    core_zones.append((nid, _core.ZONE_NORMAL, start, n, [(start, start + n)]))
                start += n
        self.nodes = nodes
        self.cpus_per_node = cpus_per_node
        self.pcp = pcp
        self.mobility_grouping = mobility_grouping
        self.node_pages = pages   # what each node hands the allocator
        self.base_pfn = BASE_PFN
        self.lowmem_reserve_ratio = tuple(_core.LOWMEM_RESERVE_RATIO if lowmem_reserve_ratio is None
                                          else lowmem_reserve_ratio)
        self._layout = core_zones
        if zones is not None:
            self.cpu_to_node = list(cpu_to_node or [0])
            has_cpus = [n in self.cpu_to_node for n in range(nodes)]
            has_memory = [any(z[0] == n for z in core_zones) for n in range(nodes)]   # N_MEMORY: zones with pages
            self._zonelists = build_zonelists(distances, has_cpus, has_memory)
        elif topology is not None:
            self.cpu_to_node = topology.cpu_to_node
            self._zonelists = topology.zonelists()
        else:
            self.cpu_to_node = [cpu // cpus_per_node for cpu in range(nodes * cpus_per_node)]
            distance = [[LOCAL_DISTANCE if i == j else REMOTE_DISTANCE for j in range(nodes)] for i in range(nodes)]
            self._zonelists = build_zonelists(distance, [True] * nodes, [n > 0 for n in pages])
        cpus = len(self.cpu_to_node)
        if not 1 <= cpus <= _core.MAX_CPUS:
            where = "the topology lists" if topology is not None else "cpu_to_node lists"
            raise ValueError(f"{where} {cpus} CPUs; the model handles 1..{_core.MAX_CPUS}")
        if any(not 0 <= n < nodes for n in self.cpu_to_node):
            raise ValueError(f"cpu_to_node {self.cpu_to_node}: every CPU needs a node 0..{nodes - 1}")
        self.topology = topology
        padded = [zl + [n for n in range(nodes) if n not in zl] for zl in self._zonelists]
        self._core = _core.MachineCore(core_zones, self.cpu_to_node, padded, pcp, mobility_grouping,
                                       min_free_kbytes or 0, max_logged_errors, max_caches,
                                       list(self.lowmem_reserve_ratio), classes)
        self.latency = topology.latencies() if topology is not None else \
            [[100 if i == j else 200 for j in range(nodes)] for i in range(nodes)]   # ns, CPU node x memory node
        self._core.set_latency(self.latency)
        self.thermal_settings = self._setup_thermal(thermal) if thermal is not None else None
        self._sites: list[str] = [""]
        self._cpu_caches: list[dict[str, int]] = []
        self._hw_caches = None
        self.cache_options = CacheOptions()
        if caches is not None:
            self._build_caches(caches)
        self.kmalloc_classes: tuple[int, ...] = self._core.kmalloc_classes
        self._cache_names: dict[int, str] = dict(enumerate(map(kmalloc_cache_name, self.kmalloc_classes)))
        self._imported_caches: dict[str, int] = {}   # name -> cache, of a machine imported from /proc
        self.snapshot_path: Path | None = None      # the /proc + /sys snapshot it was imported from

    def _setup_thermal(self, thermal: Mapping) -> dict[str, int]:
        unknown = set(thermal) - set(THERMAL_DEFAULTS)
        if unknown:
            raise ValueError(f"thermal: unknown key {sorted(unknown)[0]!r} (known: {', '.join(THERMAL_DEFAULTS)})")
        given = {**THERMAL_DEFAULTS, **thermal}
        half = given["half_life"]
        try:
            half_ns = parse_duration(half) if isinstance(half, str) else int(half)
        except ValueError as e:
            raise ValueError(f"thermal: half_life: {e}") from None
        out = {"heat_per_access": given["heat_per_access"], "heat_per_page": given["heat_per_page"],
               "half_life_ns": half_ns, "throttle": given["throttle"]}
        for key in ("heat_per_access", "heat_per_page"):
            if not isinstance(out[key], int) or not 0 <= out[key] < 1 << 32:
                raise ValueError(f"thermal: {key} {out[key]!r} is not a whole number of millidegrees 0..2^32-1")
        if not isinstance(out["throttle"], int) or not 0 <= out["throttle"] < _core.THERMAL_MAX:
            raise ValueError(f"thermal: throttle {out['throttle']!r} is not a whole number of millidegrees "
                             f"0..{_core.THERMAL_MAX - 1}")
        if not 0 < half_ns < 1 << 63 or half_ns % _core.MM_THERMAL_STEPS:
            raise ValueError(f"thermal: half_life {half!r} must be a positive multiple of "
                             f"{_core.MM_THERMAL_STEPS} ns (cooling goes in {_core.MM_THERMAL_STEPS} steps)")
        self._core.set_thermal(out["heat_per_access"], out["heat_per_page"], half_ns, out["throttle"])
        return out

    @classmethod
    def from_procfs(cls, path: str | Path, cpu_to_node: Sequence[int] | None = None, **kwargs) -> Machine:
        """The machine a Linux /proc + /sys snapshot describes (kernel_model/procfs_import.py: which
        file gives what, and where the blocks go): its zones with their free lists, watermarks,
        lowmem reserves and pcp lists (without pcp=False), its distances, its slab caches with their
        objects. kwargs are the other Machine settings (pcp, mobility_grouping, caches, ...). Frees
        of pages and kmem_cache objects a trace did not allocate then free imported ones. Raises
        procfs_import.SnapshotError (a ValueError naming the file and line) for a bad snapshot."""
        from kernel_model.procfs_import import build

        return build(cls, path, cpu_to_node, **kwargs)

    # -- allocation ---------------------------------------------------------
    def alloc_pages(self, order: int, migratetype: int | str = "movable", cpu: int = 0,
                    node: int | None = None, zone: str | None = None) -> int | None:
        """Allocate 2^order pages; returns the first pfn, or None when no zone can serve it.
        zone: the highest zone the GFP flags allow, "DMA", "DMA32" or "Movable" (__GFP_HIGHMEM |
        __GFP_MOVABLE); None for none of the zone bits (Normal and below)."""
        self._check_order(order)
        self._check_cpu(cpu)
        if zone is not None and zone not in _core.GFP_ZONES or zone == "":
            raise ValueError(f"GFP zone {zone!r}: one of DMA, DMA32, Movable (or None)")
        flags = migratetype_of(migratetype) | _core.GFP_ZONES[zone or ""] << _core.ALLOC_ZONE_SHIFT
        return self._core.alloc_pages(order, flags, cpu, self._node_arg(node))

    def free_pages(self, pfn: int, order: int, cpu: int = 0) -> None:
        """Free a block returned by alloc_pages; raises ValueError if it is not one."""
        self._check_order(order)
        self._check_cpu(cpu)
        if not 0 <= pfn < 1 << 32:
            raise ValueError(f"pfn {pfn} out of range")
        err = self._core.free_pages(pfn, order, cpu)
        if err:
            raise ValueError(_FREE_ERRORS[err].format(pfn=pfn, order=order))

    # -- CPU caches -----------------------------------------------------------
    def _build_caches(self, config: Mapping) -> None:
        """Private levels per CPU; the last level shared per node (default), by all CPUs, or per CPU."""
        specs, tlbs = parse_config(config)
        llc = str(config.get("llc", "node"))
        if llc not in ("node", "shared", "cpu"):
            raise CacheConfigError(f"cache config: llc {llc!r} is not 'node', 'shared' or 'cpu'")
        self._llc = llc
        self._cache_specs = specs
        self.cache_options = options(config)
        self._hw_caches = CacheCore(len(self.cpu_to_node))
        shared: dict = {}
        for cpu, node in enumerate(self.cpu_to_node):
            key = {"node": node, "shared": 0, "cpu": cpu}[llc]
            self._cpu_caches.append(build_cpu(self._hw_caches, cpu, specs, tlbs, shared, key))
        apply_options(self._hw_caches, self._cpu_caches, specs, self.cache_options, self._memory_latency_ns())
        self._core.set_caches(self._hw_caches)

    def _memory_latency_ns(self) -> list[list[float]]:
        """Per CPU, the memory latency of each node's pages: the machine's latencies (HMAT, or the
        distance model), or the cache config's for local memory scaled as they are."""
        given = self.cache_options.memory_ns
        if given is not None and self.topology is not None and self.topology.has_latency:
            raise CacheConfigError("cache config: latency.memory conflicts with the topology's HMAT latencies "
                                   "(which give memory latency per node pair); remove one")
        rows = []
        for node in self.cpu_to_node:
            row = self.latency[node]
            rows.append([given * lat / row[node] for lat in row] if given is not None else [float(x) for x in row])
        return rows

    def cache_stats(self) -> dict[str, dict]:
        """Counters of every cache instance: "cpuN/L1d" for private ones, "nodeN/L3" or "L3" when shared."""
        if self._hw_caches is None:
            return {}
        out: dict[str, dict] = {}
        last = self._cache_specs[-1].name if len(self._cache_specs) > 1 else None
        for cpu, index in enumerate(self._cpu_caches):
            for name, i in index.items():
                if name == last and self._llc != "cpu":
                    key = f"node{self.cpu_to_node[cpu]}/{name}" if self._llc == "node" else name
                else:
                    key = f"cpu{cpu}/{name}"
                if key not in out:
                    st = self._hw_caches.stats(i)
                    st["hits"] = st["load_hits"] + st["store_hits"]
                    st["misses"] = st["load_misses"] + st["store_misses"]
                    out[key] = st
            out[f"cpu{cpu}/page_walks"] = self._hw_caches.page_walks(cpu)
        return out

    def cache_path(self, ifetch: bool = False) -> list[str]:
        """The level names a CPU's data (or instruction) accesses go through, first level first."""
        names = [lv.name for lv in self._cache_specs]
        split = names[:2] in (["L1i", "L1d"], ["L1d", "L1i"])
        return (["L1i" if ifetch else "L1d"] if split else names[:1]) + names[2 if split else 1:]

    def coherence_stats(self) -> dict[int, dict[str, int]]:
        """Per CPU: MESI traffic (upgrades, invalidations sent and received, cache-to-cache transfers,
        coherence misses split into true and false sharing); empty without coherence."""
        if self._hw_caches is None:
            return {}
        out = {cpu: self._hw_caches.coherence(cpu) for cpu in range(len(self._cpu_caches))}
        return {cpu: st for cpu, st in out.items() if st is not None}

    def coherence_misses(self) -> tuple[list[dict], int]:
        """Coherence misses by line and by the pair of accesses behind them (the access that missed and
        the store that had invalidated its copy): per side the CPU, call site, object id (None for a raw
        address) and object address, and the bytes of the line touched; true and false sharing counts.
        Also the misses the table had no room for."""
        if self._hw_caches is None:
            return [], 0
        table, dropped = self._hw_caches.c2c()
        names = self.site_names()
        line = self._cache_specs[0].line_size
        out = []
        for e in table:
            sides = []
            for k in (0, 1):
                tag = int(e["tag"][k])
                oid = tag & ((1 << _core.TAG_SITE_SHIFT) - 1)
                sides.append({"cpu": int(e["cpu"][k]), "site": names[tag >> _core.TAG_SITE_SHIFT],
                              "id": None if oid == _core.NO_ID else oid, "object_addr": int(e["base"][k]),
                              "lo": int(e["lo"][k]), "hi": int(e["hi"][k])})
            out.append({"line_addr": int(e["block"]) * line, "sides": sides,
                        "true_sharing": int(e["true_sharing"]), "false_sharing": int(e["false_sharing"])})
        return out, int(dropped)

    def cache_latency(self) -> dict[int, dict]:
        """Per CPU (timed caches): accesses, total latency (ps), line lookups served by each level of
        its paths (by position: the first level is L1i or L1d) and by memory ("memory"), their
        latency (time_ps), and the histogram by latency bucket."""
        if self._hw_caches is None or self.cache_options.latency_ns is None:
            return {}
        path = self.cache_path()
        out = {}
        for cpu in range(len(self._cpu_caches)):
            lat = self._hw_caches.latency(cpu)
            by_level = {k: dict(zip(path, lat[k], strict=False)) | {"memory": lat[k][len(path)]}
                        for k in ("served", "time_ps")}
            out[cpu] = {"accesses": lat["accesses"], "total_ps": lat["total_ps"], **by_level,
                        "histogram": lat["histogram"]}
        return out

    def enable_cache_attribution(self, latency: bool = True, alignment: bool = True) -> None:
        """Keep the latency of accesses per call site and per object (timed caches only), and how
        slab objects sit in cache lines (alignment advice)."""
        self._core.enable_cache_attribution(latency and self.cache_options.latency_ns is not None, alignment)

    def latency_by_site(self) -> dict[str, list[int]] | None:
        """Per accessing call site: lookups served by each level of its path (SITE_LEVELS columns),
        by memory, and the total latency in ps (the last column); None when not kept."""
        rows = self._core.site_latency()
        if rows is None:
            return None
        names = self.site_names()
        return {names[i]: row.tolist() for i, row in enumerate(rows) if row[_core.LATENCY_PS]}

    def latency_by_object(self):
        """((per object id: lookups served per level and memory, total latency ps), accesses per id,
        id -> allocation site name), or None when not kept."""
        lat = self._core.object_latency()
        if lat is None:
            return None
        return lat, self._core.locality()[1].sum(axis=1, dtype=np.uint64), self.alloc_sites()

    def alloc_sites(self):
        """A function: object id (or None) -> the name of the call site that allocated it ("" if none)."""
        sites, names = self._core.locality()[2], self.site_names()

        def name(i: int | None) -> str:
            return names[int(sites[i])] if i is not None and i < len(sites) and sites[i] != _core.NO_SITE else ""
        return name

    @property
    def cache_specs(self):
        """The cache levels (kernel_model.caches.LevelSpec), first level first; [] without caches."""
        return list(getattr(self, "_cache_specs", []))

    def cache_memory_latency_ns(self) -> list[list[float]]:
        """Per CPU, the memory latency (ns) of each node's pages that timed accesses use."""
        return self._memory_latency_ns()

    def alignment(self):
        """(the latest placement of every object id: ALIGN_DTYPE records; per kmem_cache the alignment
        counters ALIGN_COUNTERS over all placements), or None when not kept."""
        return self._core.alignment()

    def cache_misses_by_site(self) -> dict[str, dict[str, list[int]]]:
        """Cache misses per level (first level, then each one below) attributed to the accessing
        call site and to the allocation site of the object touched, named from the last trace."""
        if self._hw_caches is None:
            return {"call_sites": {}, "alloc_sites": {}}
        by_site, by_alloc = self._core.site_misses()
        names = self.site_names()

        def named(arr) -> dict[str, list[int]]:
            return {names[i]: row.tolist() for i, row in enumerate(arr) if row.any()}
        return {"call_sites": named(by_site), "alloc_sites": named(by_alloc)}

    def cache_strides(self) -> dict[str, dict[str, int]]:
        """Per accessing call site: accesses, accesses that repeated the previous stride, that stride."""
        if self._hw_caches is None:
            return {}
        total, strided, stride = self._core.site_strides()
        names = self.site_names()
        return {names[i]: {"accesses": int(total[i]), "strided": int(strided[i]), "stride": int(stride[i])}
                for i in range(len(total)) if total[i]}

    def _cache_instance(self, instance: str) -> int:
        for cpu, index in enumerate(self._cpu_caches):
            for name, i in index.items():
                if instance in (f"cpu{cpu}/{name}", f"node{self.cpu_to_node[cpu]}/{name}", name):
                    return i
        raise ValueError(f"no cache instance {instance!r}")

    def track_set_misses(self, instance: str):
        """Start counting misses per set of one cache instance ("cpu0/L1d", "node0/L3" ...); returns
        the live counter array (the profiler reads it)."""
        return self._hw_caches.track_set_misses(self._cache_instance(instance))

    def track_line_use(self, instance: str) -> None:
        """Start recording bytes touched per line of a first-level cache instance ("cpu0/L1d")."""
        self._hw_caches.track_line_use(self._cache_instance(instance))

    def line_use(self, instance: str):
        """(retired, resident): lines of the instance by bytes touched, arrays of 65 counts."""
        return self._hw_caches.line_use(self._cache_instance(instance))

    # -- slab allocator -------------------------------------------------------
    def kmalloc(self, size: int, cpu: int = 0, node: int | None = None) -> int | None:
        """kmalloc(size): an object address, ZERO_SIZE_PTR (16) for size 0, None on failure.
        Sizes up to the largest class (8 KiB) come from the kmalloc-N caches, larger ones from the
        page allocator."""
        self._check_cpu(cpu)
        if size < 0:
            raise ValueError(f"size {size} is negative")
        return self._core.kmalloc(size, cpu, self._node_arg(node))

    def kfree(self, addr: int, cpu: int = 0) -> None:
        """kfree(addr); raises ValueError for anything that is not a live kmalloc/slab object."""
        self._check_cpu(cpu)
        err = self._core.kfree(addr, cpu) if 0 <= addr < 1 << 64 else 1
        if err:
            raise ValueError(_SLAB_ERRORS[err].format(addr=addr, cache=""))

    def kmem_cache_create(self, name: str, size: int, align: int = 8, reclaimable: bool = False,
                          hwcache_align: bool = False) -> KmemCache:
        """A new kmem_cache (never merged with another, as with slab_nomerge)."""
        if not 0 < size <= 4 << 20:
            raise ValueError(f"kmem_cache {name!r}: object size {size} out of range 1..4M")
        if align <= 0 or align & (align - 1) or align > 4 << 20:
            raise ValueError(f"kmem_cache {name!r}: align {align} is not a power of two up to 4M")
        flags = (_core.FLAG_RECLAIM_ACCOUNT if reclaimable else 0) | (_core.FLAG_HWCACHE_ALIGN if hwcache_align else 0)
        idx = self._core.kmem_cache_create(size, align, flags, _core.NO_SITE)
        if idx is None:
            raise ValueError(f"kmem_cache {name!r}: no room for another cache (max_caches)")
        self._cache_names[idx] = name
        return KmemCache(idx, name)

    def kmem_cache_alloc(self, cache: KmemCache, cpu: int = 0, node: int | None = None) -> int | None:
        self._check_cpu(cpu)
        return self._core.kmem_cache_alloc(self._cache_index(cache), cpu, self._node_arg(node))

    def kmem_cache_free(self, cache: KmemCache, addr: int, cpu: int = 0) -> None:
        self._check_cpu(cpu)
        idx = self._cache_index(cache)
        err = self._core.kmem_cache_free(idx, addr, cpu) if 0 <= addr < 1 << 64 else 1
        if err:
            raise ValueError(_SLAB_ERRORS[err].format(addr=addr, cache=self._cache_names[idx]))

    def kmem_cache_destroy(self, cache: KmemCache, cpu: int = 0) -> None:
        """kmem_cache_destroy: its empty slabs are freed and the cache is gone. Raises ValueError
        when objects are still in use (Linux warns and keeps the cache: so does the model)."""
        self._check_cpu(cpu)
        idx = self._cache_index(cache)
        if idx < len(self.kmalloc_classes):
            raise ValueError(f"{self._cache_names[idx]} is a kmalloc cache: it is never destroyed")
        if self._core.kmem_cache_destroy(idx, cpu):
            raise ValueError(f"kmem_cache {self._cache_names[idx]!r} still has "
                             f"{self._core.kmem_cache_inuse(idx)} objects in use")

    def cache_objects_in_use(self, cache: KmemCache) -> int:
        """Objects of a kmem_cache in use now (counted as SLUB keeps its free objects)."""
        return self._core.kmem_cache_inuse(self._cache_index(cache))

    def caches(self) -> list[KmemCache]:
        """Every kmem_cache not destroyed, oldest first (the kmalloc caches come first)."""
        return [KmemCache(i, self._cache_names.get(i, f"cache-{i}")) for i in range(self._core.nr_caches)
                if not self._core.cache_flags(i) & _core.FLAG_DESTROYED]

    def slab_counts(self) -> list[tuple[int, int, int]]:
        """(object size, slabs, objects the slabs hold) of every cache index ever created, destroyed
        ones included (as the guest reports them)."""
        return [(c["object_size"], sum(n["nr_slabs"] for n in c["nodes"]), sum(n["total_objects"] for n in c["nodes"]))
                for c in (self._core.cache(i) for i in range(self._core.nr_caches))]

    def kmalloc_cache(self, size: int) -> KmemCache:
        """The kmalloc cache serving a request of size bytes (1..the largest class, 8192 by default)."""
        if not 0 < size <= self.kmalloc_classes[-1]:
            raise ValueError(f"kmalloc size {size} is not served by a kmalloc cache (1..{self.kmalloc_classes[-1]})")
        idx = self._core.kmalloc_cache(size)
        return KmemCache(idx, self._cache_names[idx])

    def slab_stats(self, cache: KmemCache | str) -> dict:
        """A cache's /sys/kernel/slab/<cache>/ values (see kernel_model.slabinfo)."""
        idx = self._cache_index(cache)
        return cache_stats(self._core.cache(idx))

    def slabinfo(self) -> str:
        """/proc/slabinfo (version 2.1), newest cache first as the kernel lists them."""
        return format_slabinfo([(c.name, self._core.cache(c.index)) for c in reversed(self.caches())])

    def slab_pages(self) -> int:
        """Pages held by slabs, all caches and nodes (the sum of slabs << order)."""
        return self._core.slab_pages()

    def slab_usage(self) -> dict[str, dict[str, float]]:
        """Pages held by slabs over the records replayed, for the kmalloc caches ("kmalloc") and for
        every cache ("all"): now, the peak and the record that first reached it, the slab tail bytes
        (slab size past its last object) now and at the peak, and the average over the records."""
        usage, records = self._core.slab_usage(), self.records_replayed()
        return {kind: {**u, "avg_pages": u["page_records"] / records if records else 0.0}
                for kind, u in usage.items()}

    def slab_waste(self) -> dict:
        """Memory lost to slab layout and size rounding, per cache and in total (bytes)."""
        return slab_waste([(c.name, self._core.cache(c.index)) for c in self.caches()], self._core.large_kmalloc())

    def _cache_index(self, cache: KmemCache | str) -> int:
        if isinstance(cache, KmemCache):
            idx = cache.index
        else:
            idx = next((i for i, n in self._cache_names.items() if n == cache), -1)
        if not 0 <= idx < self._core.nr_caches or self._core.cache_flags(idx) & _core.FLAG_DESTROYED:
            raise ValueError(f"no kmem_cache {cache!r}" + (" (destroyed)" if 0 <= idx < self._core.nr_caches else ""))
        return idx

    def _node_arg(self, node: int | None) -> int:
        if node is None:
            return -1
        if not 0 <= node < self.nodes:
            raise ValueError(f"node {node} out of range 0..{self.nodes - 1}")
        return node

    # -- NUMA ------------------------------------------------------------------
    def set_mempolicy(self, cpu: int, mode: str, nodes: Sequence[int] = (),
                      weights: Mapping[int, int] | Sequence[int] | None = None) -> None:
        """A CPU's memory policy for page (and slab page) allocations, as set_mempolicy(2):
        default/local, preferred, preferred_many, bind, interleave, weighted_interleave (weights
        per node 1..255, a list for the listed nodes or a {node: weight} map)."""
        self._check_cpu(cpu)
        if mode not in MPOL_MODES or mode == "access_aware":
            modes = ", ".join(m for m in MPOL_MODES if m != "access_aware")
            raise ValueError(f"unknown memory policy {mode!r}: one of {modes} (access-aware: set_access_aware)")
        mask = 0
        for n in nodes:
            if not 0 <= n < self.nodes:
                raise ValueError(f"memory policy node {n} out of range 0..{self.nodes - 1}")
            mask |= 1 << n
        if not self._core.set_mempolicy(cpu, MPOL_MODES[mode], mask):
            raise ValueError(f"memory policy {mode!r} needs nodes" if not mask else f"bad memory policy {mode!r}")
        if weights is not None:
            items = weights.items() if isinstance(weights, Mapping) else zip(nodes, weights, strict=True)
            for n, w in items:
                if not self._core.set_il_weight(cpu, n, w):
                    raise ValueError(f"weight {w} of node {n}: weights are 1..255")

    def set_access_aware(self, cpu: int, threshold: int) -> None:
        """Allocate locally first but skip nodes that received more than `threshold` accesses
        recently (a count halved every 4096 accesses): steering new memory away from busy nodes."""
        self._check_cpu(cpu)
        if not 0 <= threshold < 1 << 32:
            raise ValueError(f"threshold {threshold} out of range")
        self._core.set_mempolicy(cpu, MPOL_MODES["access_aware"], threshold)

    def set_bandwidth_aware(self, cpu: int) -> None:
        """Weighted interleave over every node with weights from the HMAT bandwidth seen by the
        CPU's node (the smallest bandwidth weighs 1), as bandwidth-aware tiering does."""
        if self.topology is None or not self.topology.has_bandwidth:
            raise ValueError("bandwidth-aware interleave needs a topology with HMAT bandwidth")
        row = self.topology.bandwidths()[self.cpu_to_node[cpu]]
        low = min(b for b in row if b > 0)
        weights = [max(1, min(255, round(b / low))) for b in row]
        self.set_mempolicy(cpu, "weighted_interleave", list(range(self.nodes)), weights)

    def enable_stacks(self, stack_size: int = 16 << 10) -> None:
        """Model a stack per CPU, and per task of the trace's TASK ops, from CALL/RET ops (deeper
        than stack_size bytes is an overflow)."""
        if not 0 < stack_size < 1 << 32:
            raise ValueError(f"stack size {stack_size} out of range")
        self._core.enable_stacks(stack_size)

    def enable_leak_tracking(self) -> None:
        """Zero kmalloc/kmem_cache objects when allocated (init_on_alloc) and keep root flags and
        allocation records, for leak_scan(). Enable before replaying."""
        self._core.enable_leak_tracking()

    def leak_scan(self) -> dict:
        """kmemleak's view of memory now: the live objects (id, addr, size, root, alloc_record) and
        the non-zero words in them (src: object index, value), as numpy arrays."""
        return self._core.leak_scan()

    def stacks(self):
        """Per CPU (its own task's stack) depth, high_water, overflows, calls, chain (site ids) and
        chain_bytes (frame sizes) at the high-water mark, hw_cpu; largest frame per site."""
        return self._core.stacks()

    def task_stacks(self) -> dict[int, dict]:
        """Per TASK id that made calls: as stacks() per CPU, and on_cpu (the CPU running it, -1)."""
        return self._core.task_stacks()

    def cpu_tasks(self) -> list[int]:
        """The TASK id each CPU runs now (-1: its own task)."""
        return self._core.cpu_tasks()

    def leak_resources(self) -> dict:
        """Live page allocations (page_id, page_order, page_site) and kmem_caches of the trace
        (cache_id, cache index), and frees per allocation site (site_frees; with leak tracking)."""
        return self._core.leak_resources()

    def thermal(self) -> dict | None:
        """The thermal model (None when off): its settings and per node the temperature, its peak
        and the simulated ns spent throttled, in millidegrees Celsius above ambient."""
        if self.thermal_settings is None:
            return None
        t = self._core.thermal()
        return {**self.thermal_settings, "unit": "millidegrees C above ambient, ns",
                "nodes": {n: {"temperature": t["temp"][n], "peak": t["peak"][n], "throttled_ns": t["throttled_ns"][n]}
                          for n in range(self.nodes)}}

    def object_place(self, id_: int) -> dict | None:
        """Where a live page allocation, slab object or large kmalloc of the replayed trace is: its
        node, model address and bytes (None for any other id)."""
        place = self._core.id_place(id_) if 0 <= id_ < 1 << 32 else None
        return None if place is None else dict(zip(("node", "addr", "bytes"), place, strict=True))

    def migrate(self, id_: int, node: int, cpu: int = 0) -> bool:
        """Move a live page allocation, slab object or large kmalloc of the replayed trace to
        `node` (copying its bytes, freeing the old place through `cpu`): True, or False when the
        node has no room. Raises ValueError for an id that is none of those."""
        self._check_cpu(cpu)
        self._node_arg(node)
        err = self._core.migrate(id_, node, cpu) if 0 <= id_ < 1 << 32 else -1
        if err == -1:
            raise ValueError(f"id {id_} is not a live page allocation, slab object or large kmalloc")
        return err == 0

    def site_names(self) -> _SiteNames:
        """Call-site names of the last trace replayed, indexed by site id."""
        return _SiteNames(self._sites)

    def enable_locality_tracking(self) -> None:
        """Count local and remote accesses per call site and per object from now on."""
        self._core.enable_attribution()

    def numa_access(self) -> dict:
        """The access cost model's counters: per CPU local/remote accesses and cost (ns, from the
        topology's HMAT latency, else 10 ns per SLIT distance unit), per node accesses received."""
        cpus, nodes = self._core.access_counts()
        return {"unit": "accesses, ns",
                "cpus": {c: {"local": a[0], "remote": a[1], "cost_ns": a[2]} for c, a in enumerate(cpus)},
                "nodes": dict(enumerate(nodes))}

    def remote_hot_spots(self, top: int = 10) -> dict:
        """Call sites and objects by remote accesses (needs enable_locality_tracking)."""
        site, obj, alloc_site = self._core.locality()
        name = self.site_names().__getitem__
        sites, objs = _top_remote(site, top), _top_remote(obj, top)
        return {
            "call_sites": [{"site": name(i), "remote": rem, "local": loc} for rem, loc, i in sites],
            "objects": [{"id": i, "alloc_site": name(int(alloc_site[i])) if alloc_site[i] != _core.NO_SITE else "",
                         "remote": rem, "local": loc} for rem, loc, i in objs],
        }

    def accessor_nodes(self, ids: Sequence[int]) -> list[int | None]:
        """Per object id, the node whose CPUs made most of its remote accesses (a majority vote over
        them since enable_locality_tracking: exact whenever one node made more than half), or None."""
        votes = self._core.id_votes()
        out = [int(votes[i]) if 0 <= i < len(votes) else 0 for i in ids]
        return [v >> _core.MM_ID_VOTE_SHIFT if v & _core.MM_ID_VOTE_COUNT_MAX else None for v in out]

    def object_accesses(self, ids: Sequence[int]) -> list[tuple[int, int]]:
        """Per object id, (local, remote) accesses since enable_locality_tracking."""
        obj = self._core.locality()[1]
        return [(int(obj[i, 0]), int(obj[i, 1])) if 0 <= i < len(obj) else (0, 0) for i in ids]

    def numastat(self) -> dict[int, dict[str, int]]:
        """Per node: numa_hit, numa_miss, numa_foreign, interleave_hit, local_node, other_node,
        counted per allocation call as Linux 6.1 does (an order-n allocation counts once)."""
        return {n: dict(zip(NUMASTAT, self._core.node(n)["numa"], strict=True)) for n in range(self.nodes)}

    def numastat_text(self, node: int) -> str:
        """/sys/devices/system/node/node<N>/numastat."""
        return "".join(f"{k} {v}\n" for k, v in self.numastat()[node].items())

    def drain_pcp(self) -> None:
        """Empty every per-CPU list back to the buddy lists (drain_all_pages)."""
        self._core.drain_all_pages()

    def replay(self, ops: Trace | np.ndarray, results: bool = False,
               snapshot_at: np.ndarray | None = None) -> ReplayResult:
        """Replay an op stream in C. Ids persist across calls, so a long trace can go in chunks.
        snapshot_at: record counts (since the first replay, increasing) at which the replay loop
        samples the counters into result.snapshots, without stopping."""
        nr_sites = 1
        if isinstance(ops, Trace):
            records, nr_ids = ops.records, ops.nr_ids or 0
            self._sites, nr_sites = list(ops.sites), max(len(ops.sites), 1)
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
        at = rows = None
        if snapshot_at is not None:
            at = np.ascontiguousarray(snapshot_at, np.uint64)
            rows = np.zeros((len(at), self._core.snapshot_size()), np.uint64)
        self._core.replay(records.view(np.uint8).reshape(-1), len(records), nr_ids, out, nr_sites, at, rows,
                          self._site_caches(ops.sites) if isinstance(ops, Trace) else None)
        after = self._core.replay_state()
        if isinstance(ops, Trace):
            self._name_trace_caches(ops.sites)
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
            snapshots=Snapshots(rows[rows[:, 0] > 0], self.nodes, len(self.cpu_to_node)) if rows is not None else None,
            pretrace_freed=after["pretrace_freed"] - before["pretrace_freed"],
            pretrace_skipped=after["pretrace_skipped"] - before["pretrace_skipped"],
        )

    def _site_caches(self, sites: list[str]) -> np.ndarray | None:
        """Per string of a trace, the imported kmem_cache of that name (NO_CACHE if none): what its
        CACHE_CREATEs and its frees of pre-trace objects name. None on a machine not imported."""
        if not self._imported_caches:
            return None
        return np.array([self._imported_caches.get(name, _core.NO_CACHE) for name in sites], np.uint32)

    def _name_trace_caches(self, sites: list[str]) -> None:
        for i in range(self._core.nr_caches):
            if i not in self._cache_names:
                site = self._core.cache(i)["name_id"]
                self._cache_names[i] = sites[site] if site < len(sites) and sites[site] else f"cache-{i}"

    # -- state --------------------------------------------------------------
    def nr_free(self) -> np.ndarray:
        """Free blocks in the buddy lists, uint64 array [node, migratetype, order] (a node's zones summed)."""
        return self._core.nr_free()

    def nr_free_pages(self, node: int | None = None) -> int:
        """Free pages in the buddy lists (NR_FREE_PAGES) of one node or all."""
        nodes = range(self.nodes) if node is None else [node]
        return sum(self._core.node(n)["nr_free_pages"] for n in nodes)

    def zone_layout(self) -> list[tuple[int, str, int, int, list[tuple[int, int]]]]:
        """Every populated zone as the machine was laid out: (node, zone name, start_pfn,
        spanned_pages, the pfn ranges handed to the allocator), in set-up order."""
        return [(nid, ZONE_NAMES[zt], start, spanned, list(usable)) for nid, zt, start, spanned, usable in self._layout]

    def zones(self) -> list[tuple[int, str]]:
        """(node, zone name) of every populated zone, node by node, lowest zone type first."""
        return [(nid, ZONE_NAMES[zt]) for nid, zt in self._core.zones()]

    def zone(self, node: int, zone: str) -> dict:
        """One zone: start_pfn, spanned, present, managed, nr_free_pages, imported (pages in use
        since before the model started), min/low/high, protection (lowmem_reserve per zone type),
        stat and numa counters (ZONE_STATS, NUMASTAT order), pcp (count, high, batch) per CPU."""
        if zone not in ZONE_NAMES:
            raise ValueError(f"unknown zone {zone!r}: one of {', '.join(ZONE_NAMES)}")
        if not 0 <= node < self.nodes:
            raise ValueError(f"node {node} out of range 0..{self.nodes - 1}")
        return self._core.zone(node, ZONE_NAMES.index(zone))

    def zone_nr_free(self) -> dict[tuple[int, str], np.ndarray]:
        """Free blocks [migratetype, order] of every populated zone."""
        per_zone = self._core.nr_free(True)
        return {(n, name): per_zone[n, ZONE_NAMES.index(name)] for n, name in self.zones()}

    def pfn_to_nid(self, pfn: int) -> int:
        nid = self._core.pfn_to_nid(pfn)
        if nid < 0:
            raise ValueError(f"pfn {pfn} is outside every zone")
        return nid

    def zonelist(self, node: int) -> list[int]:
        """Node order in which allocations preferring `node` try the zones."""
        return list(self._zonelists[node])

    def watermarks(self) -> dict[int, dict[str, int]]:
        """min / low / high watermarks in pages per node (the sums of its zones')."""
        return {n: {k: self._core.node(n)[k] for k in _core.WMARK_NAMES} for n in range(self.nodes)}

    @property
    def min_free_kbytes(self) -> int:
        return self._core.min_free_kbytes

    def zone_stats(self) -> dict[int, dict[str, int]]:
        """Event counters per node (pages allocated/freed, failures, fallbacks, pcp traffic)."""
        return {n: dict(zip(ZONE_STATS, self._core.node(n)["stat"], strict=False)) for n in range(self.nodes)}

    def snapshot(self) -> Snapshots:
        """The counters profilers sample, taken now: one row (kernel_model.snapshot)."""
        row = np.empty(self._core.snapshot_size(), np.uint64)
        self._core.snapshot(row)
        return Snapshots(row, self.nodes, len(self.cpu_to_node))

    def records_replayed(self) -> int:
        """Records replayed by this machine so far (every replay call counts)."""
        return self._core.replay_state()["records"]

    def now_ns(self) -> int:
        """Simulated time: the nanoseconds of every TIME record replayed so far."""
        return self._core.now_ns()

    def node_start_pfn(self, node: int) -> int:
        """The lowest pfn of the node's zones."""
        return self._core.node(node)["start_pfn"]

    def page_map(self, node: int) -> np.ndarray:
        """Every page of the node from node_start_pfn(node) to the end of its last zone: 0 free,
        1 + migratetype allocated, PAGE_MAP_SLAB for slab pages, PAGE_MAP_HOLE for pages never
        given to the allocator (and between its zones)."""
        return self._core.page_map(node)

    def pageblock_migratetypes(self, node: int, zone: str | None = None) -> np.ndarray:
        """The migratetype of each pageblock the node's zones touch, zone after zone (lowest type
        first; the first pageblock of a zone may start before it), or one zone's."""
        return self._core.pageblock_migratetypes(node, None if zone is None else ZONE_NAMES.index(zone))

    def pageblock_counts(self, node: int) -> list[int]:
        """Pageblocks per migratetype on a node."""
        return np.bincount(self._core.pageblock_migratetypes(node), minlength=MIGRATE_TYPES).tolist()

    def free_lists(self, node: int, zone: str | None = None) -> dict[tuple[int, int], list[int]]:
        """Every buddy free list of a node (its zones' lists one after the other, highest zone
        first) or of one of its zones, in list order: {(order, migratetype): [pfn, ...]}."""
        return self._core.free_lists(node, None if zone is None else ZONE_NAMES.index(zone))

    def pcp_lists(self, node: int, cpu: int, zone: str | None = None) -> dict[tuple[int, int], list[int]]:
        """One CPU's per-CPU lists for a node's zones (highest first) or one of them:
        {(order, migratetype): [pfn, ...]}."""
        return self._core.pcp_lists(node, cpu, None if zone is None else ZONE_NAMES.index(zone))

    # -- /proc formats --------------------------------------------------------
    def _zone_states(self) -> list[ZoneFreeState]:
        out = []
        for (n, name), nr_free in self.zone_nr_free().items():
            if not self.zone(n, name)["present"]:
                continue   # populated_zone(): /proc lists zones with present pages
            mts = self._core.pageblock_migratetypes(n, ZONE_NAMES.index(name))
            out.append(ZoneFreeState(n, name, nr_free.tolist(), np.bincount(mts, minlength=MIGRATE_TYPES).tolist()))
        return out

    def buddyinfo(self) -> str:
        """/proc/buddyinfo of the model."""
        return format_buddyinfo(self._zone_states())

    def pagetypeinfo(self) -> str:
        """/proc/pagetypeinfo of the model."""
        return format_pagetypeinfo(self._zone_states())

    def zoneinfo(self) -> str:
        """/proc/zoneinfo: every zone type of every node, with the lines the model has values for."""
        zones = []
        for n in range(self.nodes):
            for name in ZONE_NAMES:
                z = self.zone(n, name)
                zones.append(ZoneInfo(n, name, z["nr_free_pages"], z["min"], z["low"], z["high"], z["spanned"],
                                      z["present"], z["managed"], z["protection"], z["start_pfn"], z["pcp"],
                                      dict(zip(NUMASTAT, z["numa"], strict=True))))
        return format_zoneinfo(zones)

    # -- helpers ------------------------------------------------------------
    def _check_order(self, order: int) -> None:
        if not 0 <= order <= MAX_PAGE_ORDER:
            raise ValueError(f"order {order} out of range 0..{MAX_PAGE_ORDER}")

    def _check_cpu(self, cpu: int) -> None:
        if not 0 <= cpu < len(self.cpu_to_node):
            raise ValueError(f"cpu {cpu} out of range 0..{len(self.cpu_to_node) - 1}")
