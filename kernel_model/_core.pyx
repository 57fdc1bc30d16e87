# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin Cython layer over the C core: owns the memory (numpy buffers), converts arrays.

Everything here is mechanism; argument parsing, names and text formats live in
the Python modules (machine.py, procfs.py, trace.py).
"""
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t, uintptr_t
from libc.string cimport memset

from posix.mman cimport MAP_ANONYMOUS, MAP_FAILED, MAP_NORESERVE, MAP_PRIVATE, PROT_READ, PROT_WRITE, mmap, munmap

import enum

import numpy as np

# The name tables of the headers' X-macro lists, built here only: the firmware carries no strings.
cdef extern from *:
    """
    #include "core/cache.h"
    #include "core/cachegrind.h"
    #include "core/leak.h"
    #include "core/replay.h"
    #include "core/slab.h"
    #define MEMSIM_NAME(id, name) [id] = name,
    #define MEMSIM_OP_NAME(id, code, name) [id] = name,
    #define MEMSIM_ERROR_NAME(id, name, text) [id] = name,
    #define MEMSIM_ERROR_TEXT(id, name, text) [id] = text,
    #define MEMSIM_ZONE_NAME(id, name, ratio) [id] = name,
    #define MEMSIM_ZONE_RATIO(id, name, ratio) [id] = ratio,
    static const char *const memsim_op_names[NR_OPS] = { MM_OPS(MEMSIM_OP_NAME) };
    static const char *const memsim_replay_error_names[NR_REPLAY_ERRORS] = { MM_REPLAY_ERRORS(MEMSIM_ERROR_NAME) };
    static const char *const memsim_replay_error_text[NR_REPLAY_ERRORS] = { MM_REPLAY_ERRORS(MEMSIM_ERROR_TEXT) };
    static const char *const memsim_migratetype_names[MIGRATE_TYPES] = { MM_MIGRATETYPES(MEMSIM_NAME) };
    static const char *const memsim_wmark_names[NR_WMARK] = { MM_WATERMARKS(MEMSIM_NAME) };
    static const char *const memsim_zone_names[MAX_NR_ZONES] = { MM_ZONE_TYPES(MEMSIM_ZONE_NAME) };
    static const uint32_t memsim_lowmem_reserve_ratio[MAX_NR_ZONES] = { MM_ZONE_TYPES(MEMSIM_ZONE_RATIO) };
    static const char *const memsim_zone_stat_names[NR_ZONE_STAT_ITEMS] = { MM_ZONE_STATS(MEMSIM_NAME) };
    static const char *const memsim_numa_stat_names[NR_NUMA_STAT_ITEMS] = { MM_NUMA_STATS(MEMSIM_NAME) };
    static const char *const memsim_mpol_names[MPOL_MAX] = { MM_MPOL_MODES(MEMSIM_NAME) };
    static const char *const memsim_cg_event_names[NR_CG_EVENTS] = { CG_EVENTS(MEMSIM_NAME) };
    static const char *const memsim_cache_policy_names[NR_CACHE_POLICIES] = { CACHE_POLICIES(MEMSIM_NAME) };
    static const char *const memsim_cache_inclusion_names[NR_CACHE_INCLUSIONS] = { CACHE_INCLUSIONS(MEMSIM_NAME) };
    static const char *const memsim_access_kind_names[NR_ACCESS_KINDS] = { CACHE_ACCESS_KINDS(MEMSIM_NAME) };
    static const char *const memsim_leak_kind_names[NR_LEAK_KINDS] = { MM_LEAK_KINDS(MEMSIM_NAME) };
    static const uint32_t memsim_kmalloc_sizes[NR_KMALLOC_CACHES] = { KMALLOC_SIZES };
    """
    const char *const memsim_op_names[]
    const char *const memsim_replay_error_names[]
    const char *const memsim_replay_error_text[]
    const char *const memsim_migratetype_names[]
    const char *const memsim_wmark_names[]
    const char *const memsim_zone_names[]
    const uint32_t memsim_lowmem_reserve_ratio[]
    const char *const memsim_zone_stat_names[]
    const char *const memsim_numa_stat_names[]
    const char *const memsim_mpol_names[]
    const char *const memsim_cg_event_names[]
    const char *const memsim_cache_policy_names[]
    const char *const memsim_cache_inclusion_names[]
    const char *const memsim_access_kind_names[]
    const char *const memsim_leak_kind_names[]
    const uint32_t memsim_kmalloc_sizes[]


cdef tuple _names(const char *const *table, uint32_t n):
    return tuple(table[i].decode() for i in range(n))


OP_NAMES = _names(memsim_op_names, NR_OPS)
REPLAY_ERROR_NAMES = _names(memsim_replay_error_names, NR_REPLAY_ERRORS)
REPLAY_ERROR_TEXT = _names(memsim_replay_error_text, NR_REPLAY_ERRORS)
MIGRATETYPE_NAMES = _names(memsim_migratetype_names, MIGRATE_TYPES)
WMARK_NAMES = _names(memsim_wmark_names, NR_WMARK)
ZONE_NAMES = _names(memsim_zone_names, MAX_NR_ZONES)
LOWMEM_RESERVE_RATIO = tuple(memsim_lowmem_reserve_ratio[i] for i in range(MAX_NR_ZONES))
ZONE_STAT_NAMES = _names(memsim_zone_stat_names, NR_ZONE_STAT_ITEMS)
NUMA_STAT_NAMES = _names(memsim_numa_stat_names, NR_NUMA_STAT_ITEMS)
MPOL_NAMES = _names(memsim_mpol_names, MPOL_MAX)
CG_EVENTS = _names(memsim_cg_event_names, NR_CG_EVENTS)
CACHE_POLICY_NAMES = _names(memsim_cache_policy_names, NR_CACHE_POLICIES)
CACHE_INCLUSION_NAMES = _names(memsim_cache_inclusion_names, NR_CACHE_INCLUSIONS)
ACCESS_KIND_NAMES = _names(memsim_access_kind_names, NR_ACCESS_KINDS)
LEAK_KIND_NAMES = _names(memsim_leak_kind_names, NR_LEAK_KINDS)
KMALLOC_SIZES = tuple(memsim_kmalloc_sizes[i] for i in range(NR_KMALLOC_CACHES))

Op = enum.IntEnum("Op", [(name.upper(), code) for code, name in enumerate(OP_NAMES)], module="kernel_model.trace")
Op.__doc__ = "Op codes of the trace format (core/trace_ops.h); all reserved, the replayer implements a growing subset."

PAGE_DESCRIPTOR_BYTES = sizeof(page)
OP_RECORD_BYTES = sizeof(mm_op)
TRACE_HEADER_BYTES = sizeof(mm_trace_header)
TRACE_MAGIC = <bytes>MM_TRACE_MAGIC
TRACE_VERSION = MM_TRACE_VERSION
TRACE_MIN_VERSION = MM_TRACE_MIN_VERSION
ALLOC_MT_MASK = MM_ALLOC_MT_MASK
ALLOC_ZONE_SHIFT = MM_ALLOC_ZONE_SHIFT
ALLOC_ZONE_MASK = MM_ALLOC_ZONE_MASK
GFP_ZONES = {"": GFP_ZONE_NONE, "DMA": GFP_ZONE_DMA, "DMA32": GFP_ZONE_DMA32, "Movable": GFP_ZONE_MOVABLE}
NR_OP_CODES = NR_OPS
NR_REPLAY_ERROR_CODES = NR_REPLAY_ERRORS
NR_ZONE_STATS = NR_ZONE_STAT_ITEMS
MAX_NODES = MM_MAX_NODES
MAX_CPUS = MM_MAX_CPUS
NO_PFN = PFN_NONE
NO_ID = MM_NO_ID
NO_NODE = MM_NO_NODE
NO_SITE = MM_NO_SITE
NO_CACHE = MM_NO_CACHE
ACCESS_RAW = MM_ACCESS_RAW
MAX_ACCESS = MM_MAX_ACCESS
RESULT_NONE = MM_RESULT_NONE
RESULT_FAILED = MM_RESULT_FAILED
RESULT_ERROR = MM_RESULT_ERROR
NR_KMALLOC = NR_KMALLOC_CACHES
MAX_KMALLOC = MM_MAX_KMALLOC_CACHES
KMALLOC_MAX_SIZE = KMALLOC_MAX_CACHE_SIZE
FLAG_HWCACHE_ALIGN = SLAB_HWCACHE_ALIGN
FLAG_RECLAIM_ACCOUNT = SLAB_RECLAIM_ACCOUNT
FLAG_KMALLOC = SLAB_KMALLOC
FLAG_DESTROYED = SLAB_DESTROYED
STACK_FRAMES = MM_STACK_FRAMES
NO_TASK = MM_NO_TASK
THERMAL_MAX = MM_THERMAL_MAX
SITE_LEVELS = MM_SITE_LEVELS
LINE_USE_BUCKETS = CACHE_USE_BUCKETS
CACHE_CHAIN_MAX = CACHE_MAX_CHAIN
LATENCY_MEMORY, LATENCY_PS = MM_LAT_MEMORY, MM_LAT_PS   # columns of the per-site latency rows
TAG_SITE_SHIFT = MM_TAG_SITE_SHIFT
CACHE_GHOST_BYTES = sizeof(cache_ghost)   # per line of a private level under coherence
ORDER_MAX_WAYS = CACHE_ORDER_MAX_WAYS     # LRU/FIFO sets this wide keep their lines in their ways
PLRU_MAX_WAYS = CACHE_PLRU_MAX_WAYS       # tree-PLRU: a power of two up to this
HIERARCHY_MAX_LEVELS = CACHE_MAX_LEVELS   # a CPU's cache levels and TLBs together
# the per-cache alignment counters (MM_ALIGN_* in order)
ALIGN_COUNTERS = ("placements", "straddling", "accesses", "affected", "split", "field_split")
assert (MM_ALIGN_PLACEMENTS, MM_ALIGN_STRADDLING, MM_ALIGN_ACCESSES, MM_ALIGN_AFFECTED, MM_ALIGN_SPLIT,
        MM_ALIGN_FIELD_SPLIT, MM_ALIGN_WORDS) == (0, 1, 2, 3, 4, 5, 6)


DEBUG = bool(MM_DEBUG_BUILD)   # built with -DMM_DEBUG: the core's MM_BUG_ON checks are on


class CoreBug(RuntimeError):
    """An invariant of the C core failed (MM_BUG_ON, in a debug build): file:line and condition."""


cdef int _check_bug() except -1:
    """Raise the first MM_BUG_ON that fired since the last check (never, in a release build)."""
    cdef const char *file
    cdef const char *cond
    cdef uint32_t line
    if mm_bug_take(&file, &line, &cond):
        raise CoreBug(f"{file.decode()}:{line}: MM_BUG_ON({cond.decode()})")
    return 0


def _kmalloc_classes_valid(const uint32_t[::1] classes):
    """The core's own check of a kmalloc class list (an empty one is Linux's)."""
    return len(classes) == 0 or bool(mm_kmalloc_classes_valid(&classes[0], len(classes)))


cdef int _below(str what, uint64_t value, uint64_t limit) except -1:
    """The bound every index handed to the core gets: value < limit, else a ValueError."""
    if value >= limit:
        raise ValueError(f"{what} {value} out of range 0..{limit - 1}" if limit else f"no {what} exists")
    return 0


def _struct_dtype(size_t itemsize, list fields):
    """A numpy dtype with the C layout: fields are (name, offset, numpy format)."""
    return np.dtype({"names": [f[0] for f in fields], "formats": [f[2] for f in fields],
                     "offsets": [f[1] for f in fields], "itemsize": itemsize})


cdef mm_op _op
cdef mm_id _id
cdef page _page
cdef mm_trace_header _hdr
cdef mm_align _al
cdef cache_c2c _c2
cdef size_t _at(void *base, void *field):
    return <size_t>field - <size_t>base

# Records, id-map entries and page descriptors as numpy sees them: the headers' layouts.
OP_DTYPE = _struct_dtype(sizeof(mm_op), [
    ("op", _at(&_op, &_op.op), "u1"), ("flags", _at(&_op, &_op.flags), "u1"),
    ("cpu", _at(&_op, &_op.cpu), "<u2"), ("site", _at(&_op, &_op.site), "<u4"),
    ("id", _at(&_op, &_op.id), "<u4"), ("arg0", _at(&_op, &_op.arg0), "<u4"),
    ("arg1", _at(&_op, &_op.arg1), "<u8")])
ID_DTYPE = _struct_dtype(sizeof(mm_id), [
    ("pfn", _at(&_id, &_id.pfn), "<u4"), ("offset", _at(&_id, &_id.offset), "<u2"),
    ("state", _at(&_id, &_id.state), "u1"), ("order", _at(&_id, &_id.order), "u1")])
PAGE_DTYPE = _struct_dtype(sizeof(page), [
    ("next", _at(&_page, &_page.next), "<u4"), ("prev", _at(&_page, &_page.prev), "<u4"),
    ("freelist", _at(&_page, &_page.freelist), "<u2"), ("inuse", _at(&_page, &_page.inuse), "<u2"),
    ("order", _at(&_page, &_page.order), "u1"), ("flags", _at(&_page, &_page.flags), "u1"),
    ("info", _at(&_page, &_page.info), "<u2")])
ALIGN_DTYPE = _struct_dtype(sizeof(mm_align), [
    ("addr", _at(&_al, &_al.addr), "<u8"), ("cache", _at(&_al, &_al.cache), "<u4"),
    ("accesses", _at(&_al, &_al.accesses), "<u4"), ("split", _at(&_al, &_al.split), "<u4"),
    ("field_split", _at(&_al, &_al.field_split), "<u4"),
    ("lo", _at(&_al, &_al.lo), "<u4"), ("hi", _at(&_al, &_al.hi), "<u4"),
    ("lines", _at(&_al, &_al.lines), "<u4"), ("need", _at(&_al, &_al.need), "<u4")])
C2C_DTYPE = _struct_dtype(sizeof(cache_c2c), [
    ("block", _at(&_c2, &_c2.block), "<u8"), ("tag", _at(&_c2, &_c2.tag), "(2,)<u8"),
    ("base", _at(&_c2, &_c2.base), "(2,)<u8"), ("cpu", _at(&_c2, &_c2.cpu), "(2,)<u4"),
    ("lo", _at(&_c2, &_c2.lo), "(2,)<u2"), ("hi", _at(&_c2, &_c2.hi), "(2,)<u2"),
    ("true_sharing", _at(&_c2, &_c2.true_sharing), "<u8"),
    ("false_sharing", _at(&_c2, &_c2.false_sharing), "<u8")])
C2C_FREE = CACHE_C2C_FREE
TRACE_HEADER_DTYPE = _struct_dtype(sizeof(mm_trace_header), [
    ("magic", _at(&_hdr, &_hdr.magic), "S8"), ("version", _at(&_hdr, &_hdr.version), "<u2"),
    ("header_size", _at(&_hdr, &_hdr.header_size), "<u2"), ("record_size", _at(&_hdr, &_hdr.record_size), "<u4"),
    ("nr_records", _at(&_hdr, &_hdr.nr_records), "<u8"), ("nr_ids", _at(&_hdr, &_hdr.nr_ids), "<u4"),
    ("nr_sites", _at(&_hdr, &_hdr.nr_sites), "<u4"), ("strtab_offset", _at(&_hdr, &_hdr.strtab_offset), "<u8"),
    ("strtab_size", _at(&_hdr, &_hdr.strtab_size), "<u8"), ("flags", _at(&_hdr, &_hdr.flags), "<u4")])


cdef list _pfn_list(mm_machine *m, uint32_t head):
    """The pfns of a list linked through struct page next (free, pcp and slab lists), in order."""
    cdef zone *z
    out = []
    while head != PFN_NONE:
        out.append(head)
        z = mm_pfn_zone(m, head)
        head = z.pages[head - z.zone_start_pfn].next
    return out


cdef list _freelist(zone *z, kmem_cache *s, uint32_t slab, uint32_t first):
    """Object indices on a freelist that starts at `first` in `slab`: each free object holds
    the next index at the cache's free pointer offset."""
    out = []
    while first != SLAB_NO_OBJ:
        out.append(first)
        first = (<uint16_t *>(z.direct_map + (<uintptr_t>slab << PAGE_SHIFT) + first * s.size + s.offset))[0]
    return out


cdef class CacheCore


cdef int _check_blocks(uint32_t nid, uint32_t zt, const uint32_t[:, ::1] blocks, uint64_t start, uint64_t end) except -1:
    """Rows of (pfn, order, migratetype) that are aligned blocks within [start, end)."""
    cdef uint32_t i
    if blocks.shape[0] and blocks.shape[1] != 3:
        raise ValueError("blocks are rows of (pfn, order, migratetype)")
    for i in range(blocks.shape[0]):
        if (blocks[i, 1] > MAX_PAGE_ORDER or blocks[i, 2] >= MIGRATE_TYPES or blocks[i, 0] < start
                or blocks[i, 0] + (<uint64_t>1 << blocks[i, 1]) > end or blocks[i, 0] & ((1u << blocks[i, 1]) - 1)):
            raise ValueError(f"node {nid} zone {ZONE_NAMES[zt]}: block {list(blocks[i])} outside the zone")
    return 0


def _grow_rows(old, n, fill=0):
    """old with rows up to n (a row is one element of a 1-D array), the new ones `fill`."""
    if old.shape[0] >= n:
        return old
    grown = np.full((n, *old.shape[1:]), fill, old.dtype)
    grown[:old.shape[0]] = old
    return grown


cdef class MachineCore:
    """The C machine plus the buffers it lives in: its zones (one per node unless told otherwise)."""

    cdef mm_machine *m
    cdef CacheCore _caches
    cdef object _cache_ptrs
    cdef object _alloc_site, _site_misses, _alloc_site_misses, _site_stride, _site_remote, _id_remote, _id_vote
    cdef object _stacks, _site_frame
    cdef object _root, _alloc_record, _site_frees
    cdef object _site_lat, _id_served, _id_ps, _align, _cache_align
    cdef mm_cache_attr cattr
    cdef bint _attribution
    cdef mm_slab sl
    cdef void *_memory                   # every zone's page bytes (mmap), unmapped in __dealloc__
    cdef size_t _memory_bytes
    cdef void *_mem_map                  # every zone's page descriptors (mmap), likewise
    cdef size_t _mem_map_bytes
    cdef uint32_t _base_pfn
    cdef object _buffers
    cdef mm_replay rp
    cdef object _ids
    cdef object _errors
    cdef object _site_cache, _imported_objs, _imported_start, _imported_left

    def __init__(self, list zones, list cpu_to_node, list zonelists, bint pcp,
                 bint mobility_grouping, uint32_t min_free_kbytes, uint32_t max_errors=1000,
                 uint32_t max_caches=256, lowmem_reserve_ratio=None, kmalloc_classes=()):
        """zones: every populated zone as (node, zone type, start_pfn, spanned_pages, [(start, end)
        usable ...]); the nodes are those of zonelists. The page descriptors of all zones are one
        mem_map and their bytes one mapping, both from the lowest pfn of any zone. kmalloc_classes:
        the kmalloc caches' sizes (empty: Linux's, KMALLOC_SIZES)."""
        cdef uint32_t nr_nodes = len(zonelists), nr_cpus = len(cpu_to_node), nid, cpu, i, zt
        cdef uint32_t start, spanned, nblocks, lo_pfn, hi_pfn
        cdef uint8_t[::1] mbuf, bbuf, cbuf
        cdef const uint32_t[::1] classes = np.ascontiguousarray(kmalloc_classes, np.uint32)
        cdef zone *z
        flags = (MM_PCP if pcp else 0) | (0 if mobility_grouping else MM_NO_MOBILITY_GROUPING)
        self._buffers = []
        mbuf = self._buffer(sizeof(mm_machine))
        self.m = <mm_machine *>&mbuf[0]
        if mm_machine_init(self.m, nr_nodes, nr_cpus, flags) != 0:
            raise ValueError(f"the core models 1..{MM_MAX_NODES} nodes and 1..{MM_MAX_CPUS} CPUs, "
                             f"got {nr_nodes} nodes and {nr_cpus} CPUs")
        if lowmem_reserve_ratio is not None:
            if len(lowmem_reserve_ratio) != MAX_NR_ZONES:
                raise ValueError(f"lowmem_reserve_ratio needs {MAX_NR_ZONES} ratios, one per zone type")
            for i in range(MAX_NR_ZONES):
                self.m.lowmem_reserve_ratio[i] = lowmem_reserve_ratio[i]
        for cpu in range(nr_cpus):
            _below("node of a CPU", cpu_to_node[cpu], nr_nodes)
            self.m.cpu_to_node[cpu] = cpu_to_node[cpu]
        if any(sorted(zonelists[nid][:nr_nodes]) != list(range(nr_nodes)) for nid in range(nr_nodes)):
            raise ValueError("each zonelist must order every node once")
        for nid in range(nr_nodes):
            for i in range(nr_nodes):
                self.m.zonelist[nid][i] = zonelists[nid][i]
        for nid_, zt_, start, spanned, usable in zones:
            if not spanned or start + spanned > PFN_NONE or any(not start <= lo <= hi <= start + spanned
                                                                 for lo, hi in usable):
                raise ValueError(f"node {nid_} zone {zt_}: usable ranges {usable} outside the zone "
                                 f"[{start}, {start + spanned}), or an empty zone")
        lo_pfn = min((z_[2] for z_ in zones), default=0)
        hi_pfn = max((z_[2] + z_[3] for z_ in zones), default=lo_pfn)
        self._base_pfn = lo_pfn
        self._mem_map = self._map(<size_t>max(hi_pfn - lo_pfn, 1) * sizeof(page), "page descriptors")
        self._mem_map_bytes = <size_t>max(hi_pfn - lo_pfn, 1) * sizeof(page)
        self._memory = self._map(<size_t>max(hi_pfn - lo_pfn, 1) << PAGE_SHIFT, "memory")
        self._memory_bytes = <size_t>max(hi_pfn - lo_pfn, 1) << PAGE_SHIFT
        for nid, zt, start, spanned, usable in zones:
            _below("node", nid, nr_nodes)
            _below("zone type", zt, ZONE_DEVICE)
            nblocks = ((start + spanned + PAGEBLOCK_NR_PAGES - 1) >> PAGEBLOCK_ORDER) - (start >> PAGEBLOCK_ORDER)
            bbuf = self._buffer(max(nblocks, 1))
            cbuf = self._buffer(nr_cpus * sizeof(per_cpu_pages))
            if mm_zone_init(self.m, nid, zt, start, spanned,
                            <page *>(<uintptr_t>self._mem_map + <uintptr_t>(start - lo_pfn) * sizeof(page)),
                            &bbuf[0], <per_cpu_pages *>&cbuf[0],
                            <uintptr_t>self._memory + (<uintptr_t>(start - lo_pfn) << PAGE_SHIFT)) != 0:
                raise ValueError(f"node {nid} zone {ZONE_NAMES[zt]}: given twice, or overlapping another zone")
            z = mm_zone(self.m, nid, zt)
            for lo, hi in usable:
                mm_zone_free_range(self.m, z, lo, hi)
        mm_setup_watermarks(self.m, min_free_kbytes)
        mm_setup_pcp(self.m)
        caches = self._buffer(max_caches * sizeof(kmem_cache))
        ccpu = self._buffer(max_caches * nr_cpus * sizeof(kmem_cache_cpu))
        cnode = self._buffer(max_caches * nr_nodes * sizeof(kmem_cache_node))
        if not _kmalloc_classes_valid(classes):
            raise ValueError(f"kmalloc classes {list(kmalloc_classes)} are not 1..{MM_MAX_KMALLOC_CACHES} ascending "
                             f"multiples of 8 up to {KMALLOC_MAX_CACHE_SIZE}")
        if mm_slab_init(&self.sl, self.m, <kmem_cache *>self._address(caches),
                        <kmem_cache_cpu *>self._address(ccpu), <kmem_cache_node *>self._address(cnode),
                        max_caches, &classes[0] if len(classes) else NULL, len(classes)) != 0:
            raise ValueError(f"cannot set up the slab allocator (the kmalloc caches need max_caches >= "
                             f"{len(classes) or NR_KMALLOC_CACHES})")
        _check_bug()
        memset(&self.rp, 0, sizeof(mm_replay))
        self._ids = self._buffer(0)
        self._errors = np.zeros(max(max_errors, 1) * sizeof(mm_replay_error_rec), np.uint8)
        self.rp.max_errors = max_errors
        self.rp.errors = <mm_replay_error_rec *>self._address(self._errors)

    def __cinit__(self):
        self._memory = NULL
        self._mem_map = NULL

    def __dealloc__(self):
        if self._memory != NULL:
            munmap(self._memory, self._memory_bytes)
        if self._mem_map != NULL:
            munmap(self._mem_map, self._mem_map_bytes)

    cdef void *_map(self, size_t nbytes, str what) except NULL:
        """Reserved, not committed, zero-filled address space: only pages used (slab bytes, the
        descriptors of pages touched) cost memory, so a large model costs what it uses."""
        cdef void *p = mmap(NULL, nbytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        if p == MAP_FAILED:
            raise MemoryError(f"cannot reserve {nbytes} bytes of address space for the machine's {what}")
        return p

    def _buffer(self, size_t nbytes):
        # np.zeros is calloc: untouched memory costs no host memory.
        buf = np.zeros(max(nbytes, 1), np.uint8)
        self._buffers.append(buf)
        return buf

    cdef uint8_t *_address(self, buf):
        cdef uint8_t[::1] view = buf
        return &view[0]

    cdef zone *_zone(self, uint32_t nid, uint32_t zt) except NULL:
        _below("node", nid, self.m.nr_nodes)
        _below("zone type", zt, MAX_NR_ZONES)
        return mm_zone(self.m, nid, zt)

    cdef zone *_populated(self, uint32_t nid, uint32_t zt) except NULL:
        cdef zone *z = self._zone(nid, zt)
        if not z.spanned_pages:
            raise ValueError(f"node {nid} has no {ZONE_NAMES[zt]} zone")
        return z

    def zones(self):
        """(node, zone type) of every populated zone, node by node, lowest type first."""
        return [(nid, zt) for nid in range(self.m.nr_nodes) for zt in range(MAX_NR_ZONES)
                if mm_zone(self.m, nid, zt).spanned_pages]

    # -- allocator ----------------------------------------------------------
    def alloc_pages(self, uint32_t order, uint32_t alloc_flags, uint32_t cpu, int32_t nid):
        """The first pfn, or None (no zone can serve it, or an argument out of range). alloc_flags:
        the migratetype, with the GFP zone bits as allocation records carry them."""
        cdef uint32_t pfn = mm_alloc_pages(self.m, order, alloc_flags, cpu, nid)
        _check_bug()
        return None if pfn == PFN_NONE else pfn

    def free_pages(self, uint32_t pfn, uint32_t order, uint32_t cpu):
        """Returns MM_FREE_OK, or the core's error code (MM_FREE_*)."""
        err = mm_free_pages(self.m, pfn, order, cpu)
        _check_bug()
        return err

    def drain_all_pages(self):
        mm_drain_all_pages(self.m)
        _check_bug()

    def set_mempolicy(self, uint32_t cpu, uint32_t mode, uint64_t nodes):
        return mm_set_mempolicy(self.m, cpu, mode, nodes) == 0

    def set_il_weight(self, uint32_t cpu, uint32_t node, uint32_t weight):
        return mm_set_il_weight(self.m, cpu, node, weight) == 0

    def pfn_to_nid(self, uint32_t pfn):
        return mm_pfn_to_nid(self.m, pfn)

    # -- slab allocator -----------------------------------------------------
    def kmalloc(self, uint64_t size, uint32_t cpu, int32_t nid):
        """An object address, or None (out of memory, or cpu / node out of range)."""
        cdef uint64_t addr = mm_kmalloc(&self.sl, size, cpu, nid, NULL)
        _check_bug()
        return addr if addr else None

    def kfree(self, uint64_t addr, uint32_t cpu):
        """SLAB_OK, or the core's error code (SLAB_E*)."""
        err = mm_kfree(&self.sl, addr, cpu)
        _check_bug()
        return err

    def kmem_cache_create(self, uint32_t size, uint32_t align, uint32_t flags, uint32_t name_id):
        cdef uint32_t idx = mm_kmem_cache_create(&self.sl, size, align, flags, name_id)
        return None if idx == MM_NO_CACHE else idx

    def kmem_cache_alloc(self, uint32_t cache, uint32_t cpu, int32_t nid):
        """An object address, or None (out of memory, or cache / cpu / node out of range)."""
        cdef uint64_t addr = mm_kmem_cache_alloc(&self.sl, cache, cpu, nid, NULL)
        _check_bug()
        return addr if addr else None

    def kmem_cache_free(self, uint32_t cache, uint64_t addr, uint32_t cpu):
        """SLAB_OK, or the core's error code (SLAB_E*)."""
        err = mm_kmem_cache_free(&self.sl, cache, addr, cpu)
        _check_bug()
        return err

    def kmem_cache_destroy(self, uint32_t cache, uint32_t cpu):
        """0, or -1 when objects are in use (nothing changes) or the cache cannot be destroyed."""
        err = mm_kmem_cache_destroy(&self.sl, cache, cpu)
        _check_bug()
        return err

    def cache_flags(self, uint32_t cache):
        """A kmem_cache's SLAB_* flags (cheap: no list walk)."""
        _below("kmem_cache", cache, self.sl.nr_caches)
        return self.sl.caches[cache].flags

    def kmem_cache_inuse(self, uint32_t cache):
        """Objects of a cache in use now."""
        _below("kmem_cache", cache, self.sl.nr_caches)
        return mm_kmem_cache_inuse(&self.sl, cache)

    @property
    def nr_caches(self):
        return self.sl.nr_caches

    def kmalloc_cache(self, uint64_t size):
        """Index of the kmalloc cache serving size (1..the largest class bytes)."""
        cdef uint32_t idx = mm_kmalloc_cache(&self.sl, size)
        if idx == MM_NO_CACHE:
            raise ValueError(f"kmalloc size {size} is not served by a kmalloc cache (1..{self.sl.kmalloc_max})")
        return idx

    @property
    def kmalloc_classes(self):
        """The kmalloc caches' object sizes, ascending (caches 0 .. n - 1)."""
        return tuple(self.sl.caches[i].object_size for i in range(self.sl.nr_kmalloc))

    def slab_usage(self):
        """Pages held by the slabs of the kmalloc caches and of all caches over the records replayed:
        now, peak (first reached at record peak_record, slab tail bytes then), and pages x records
        summed over the records replayed so far (the average's numerator)."""
        cdef mm_slab_usage *u
        cdef uint64_t records = self.rp.nr_records
        cdef uint32_t kind
        out = {}
        for kind, name in ((<uint32_t>SLAB_USAGE_KMALLOC, "kmalloc"), (<uint32_t>SLAB_USAGE_ALL, "all")):
            u = &self.sl.usage[kind]
            out[name] = {"pages": u.pages, "tail_bytes": u.tail, "peak_pages": u.peak,
                         "peak_record": u.peak_record, "peak_tail_bytes": u.peak_tail,
                         "page_records": u.area + u.pages * (records - u.since if records > u.since else 0)}
        return out

    def slab_pages(self):
        """Pages held by slabs over every cache and node (cheap: counters only, for snapshots)."""
        return mm_slab_pages(&self.sl)

    def large_kmalloc(self):
        return {"calls": self.sl.large_kmalloc_calls, "requested": self.sl.large_kmalloc_requested,
                "allocated": self.sl.large_kmalloc_allocated}

    def cache(self, uint32_t idx):
        """A kmem_cache's parameters, counters and list state (as /sys/kernel/slab shows them)."""
        cdef kmem_cache *s
        cdef kmem_cache_node *n
        cdef kmem_cache_cpu *c
        cdef zone *z
        cdef uint32_t nid, cpu, pfn
        _below("kmem_cache", idx, self.sl.nr_caches)
        s = &self.sl.caches[idx]
        nodes = []
        for nid in range(self.m.nr_nodes):
            n = &self.sl.node[idx * self.m.nr_nodes + nid]
            partial_inuse = partial_total = 0
            for pfn in _pfn_list(self.m, n.partial.head):
                z = mm_pfn_zone(self.m, pfn)
                partial_inuse += z.pages[pfn - z.zone_start_pfn].inuse
                partial_total += (PAGE_SIZE << z.pages[pfn - z.zone_start_pfn].order) // s.size
            nodes.append({"nr_slabs": n.nr_slabs, "total_objects": n.total_objects, "nr_partial": n.nr_partial,
                          "partial_inuse": partial_inuse, "partial_total": partial_total})
        cpus = []
        for cpu in range(self.m.nr_cpus):
            c = &self.sl.cpu_slab[idx * self.m.nr_cpus + cpu]
            cpus.append({"slab": None if c.slab == PFN_NONE else c.slab,
                         "partial_slabs": c.partial_slabs})
        return {
            "object_size": s.object_size, "size": s.size, "align": s.align, "offset": s.offset,
            "flags": s.flags, "name_id": s.name_id, "order": s.order, "min_order": s.min_order,
            "objects": s.objects, "min_partial": s.min_partial, "cpu_partial": s.cpu_partial,
            "cpu_partial_slabs": s.cpu_partial_slabs, "stat": [s.stat[i] for i in range(NR_SLUB_STAT_ITEMS)],
            "kmalloc_calls": s.kmalloc_calls, "kmalloc_requested": s.kmalloc_requested,
            "nodes": nodes, "cpus": cpus,
        }

    def slabs(self, uint32_t nid):
        """Every slab on a node: (pfn, cache, order, inuse, frozen, free object indices on the slab's list)."""
        cdef zone *z
        cdef uint32_t pfn, end, zt
        cdef page *p
        _below("node", nid, self.m.nr_nodes)
        out = []
        for zt in range(MAX_NR_ZONES):
            z = mm_zone(self.m, nid, zt)
            pfn, end = z.zone_start_pfn, z.zone_start_pfn + z.spanned_pages
            while pfn < end:
                p = &z.pages[pfn - z.zone_start_pfn]
                if not p.flags:
                    pfn += 1
                    continue
                if p.flags & PG_slab:
                    free = _freelist(z, &self.sl.caches[p.info], pfn, p.freelist)
                    out.append((pfn, p.info, p.order, p.inuse, bool(p.flags & PG_frozen), free))
                pfn += 1 << p.order
        return sorted(out)

    def cpu_freelist(self, uint32_t cache, uint32_t cpu):
        """(active slab pfn or None, object indices on the CPU's lockless freelist, partial slab pfns)."""
        cdef kmem_cache_cpu *c
        cdef zone *z
        _below("kmem_cache", cache, self.sl.nr_caches)
        _below("cpu", cpu, self.m.nr_cpus)
        c = &self.sl.cpu_slab[cache * self.m.nr_cpus + cpu]
        free = []
        if c.slab != PFN_NONE:
            z = mm_pfn_zone(self.m, c.slab)
            free = _freelist(z, &self.sl.caches[cache], c.slab, c.freelist)
        return (None if c.slab == PFN_NONE else c.slab), free, _pfn_list(self.m, c.partial)

    def node_partial(self, uint32_t cache, uint32_t nid):
        """pfns of a cache's slabs on a node's partial list, in list order."""
        _below("kmem_cache", cache, self.sl.nr_caches)
        _below("node", nid, self.m.nr_nodes)
        return _pfn_list(self.m, self.sl.node[cache * self.m.nr_nodes + nid].partial.head)

    # -- state --------------------------------------------------------------
    @property
    def nr_nodes(self):
        return self.m.nr_nodes

    @property
    def nr_cpus(self):
        return self.m.nr_cpus

    @property
    def min_free_kbytes(self):
        return self.m.min_free_kbytes

    def nr_free(self, per_zone=False):
        """Free blocks in the buddy lists as uint64 [node, migratetype, order] (the sum of a
        node's zones), or with per_zone [node, zone type, migratetype, order]."""
        out = np.zeros((self.m.nr_nodes, MAX_NR_ZONES, MIGRATE_TYPES, NR_PAGE_ORDERS), np.uint64)
        cdef uint64_t[:, :, :, ::1] v = out
        cdef uint32_t nid, zt, t, o
        cdef zone *z
        for nid in range(self.m.nr_nodes):
            for zt in range(MAX_NR_ZONES):
                z = mm_zone(self.m, nid, zt)
                for t in range(MIGRATE_TYPES):
                    for o in range(NR_PAGE_ORDERS):
                        v[nid, zt, t, o] = z.free_area[o].nr_free_mt[t]
        return out if per_zone else out.sum(axis=1, dtype=np.uint64)

    def snapshot(self, uint64_t[::1] out):
        """Fill out (snapshot_size() words) with the counters profilers sample (core/snapshot.h)."""
        if out.shape[0] < mm_snapshot_size(self.m):
            raise ValueError(f"a snapshot needs {mm_snapshot_size(self.m)} words, got {out.shape[0]}")
        mm_snapshot(self.m, &self.rp, self.rp.nr_records, &out[0])

    def snapshot_size(self):
        return mm_snapshot_size(self.m)

    def zone(self, uint32_t nid, uint32_t zt):
        """A dict of one zone's sizes, watermarks, lowmem reserves, counters and pcp state."""
        cdef zone *z = self._zone(nid, zt)
        cdef uint32_t cpu
        return {
            "node": z.node,
            "zone": ZONE_NAMES[z.zone_idx],
            "start_pfn": z.zone_start_pfn,
            "spanned": z.spanned_pages,
            "present": z.present_pages,
            "managed": z.managed_pages,
            "nr_free_pages": z.nr_free_pages,
            "imported": z.nr_imported,
            **{WMARK_NAMES[i]: z.watermark[i] for i in range(NR_WMARK)},
            "protection": [z.lowmem_reserve[i] for i in range(MAX_NR_ZONES)],
            "stat": [z.stat[i] for i in range(NR_ZONE_STAT_ITEMS)],
            "numa": [z.numa[i] for i in range(NR_NUMA_STAT_ITEMS)],
            "pcp": [(z.pcp[cpu].count, z.pcp[cpu].high, z.pcp[cpu].batch)
                    for cpu in range(self.m.nr_cpus)] if z.spanned_pages else [],
        }

    def node(self, uint32_t nid):
        """A node's sums over its zones: free pages, watermarks, counters (as zone() names them)."""
        cdef zone *z
        cdef uint32_t zt, i
        cdef uint64_t managed = 0, free = 0
        cdef uint64_t marks[NR_WMARK]
        cdef uint64_t stat[NR_ZONE_STAT_ITEMS]
        cdef uint64_t numa[NR_NUMA_STAT_ITEMS]
        _below("node", nid, self.m.nr_nodes)
        memset(marks, 0, sizeof(marks))
        memset(stat, 0, sizeof(stat))
        memset(numa, 0, sizeof(numa))
        for zt in range(MAX_NR_ZONES):
            z = mm_zone(self.m, nid, zt)
            managed += z.managed_pages
            free += z.nr_free_pages
            for i in range(NR_WMARK):
                marks[i] += z.watermark[i]
            for i in range(NR_ZONE_STAT_ITEMS):
                stat[i] += z.stat[i]
            for i in range(NR_NUMA_STAT_ITEMS):
                numa[i] += z.numa[i]
        return {"managed": managed, "nr_free_pages": free, **{WMARK_NAMES[i]: marks[i] for i in range(NR_WMARK)},
                "stat": [stat[i] for i in range(NR_ZONE_STAT_ITEMS)], "numa": [numa[i] for i in range(NR_NUMA_STAT_ITEMS)],
                "start_pfn": mm_node_start_pfn(self.m, nid), "spanned": mm_node_spanned_pages(self.m, nid)}

    def page_map(self, uint32_t nid):
        """Every page of the node's span (uint8): PAGE_MAP_FREE, 1 + migratetype allocated, PAGE_MAP_SLAB, PAGE_MAP_HOLE."""
        _below("node", nid, self.m.nr_nodes)
        out = np.zeros(mm_node_spanned_pages(self.m, nid), np.uint8)
        cdef uint8_t[::1] view = out
        if out.shape[0]:
            mm_page_map(self.m, nid, &view[0])
        return out

    def page_descriptors(self, uint32_t nid):
        """The node's struct page array itself (PAGE_DTYPE, from its first pfn): a live view for
        tests and debugging; writing to it changes the model behind the core's back."""
        cdef uint32_t n
        _below("node", nid, self.m.nr_nodes)
        n = mm_node_spanned_pages(self.m, nid)
        if not n:
            return np.zeros(0, PAGE_DTYPE)
        cdef uint8_t[::1] view = <uint8_t[:self._mem_map_bytes]><uint8_t *>self._mem_map
        first = (mm_node_start_pfn(self.m, nid) - self._base_pfn) * sizeof(page)
        return np.asarray(view)[first:first + n * sizeof(page)].view(PAGE_DTYPE)

    def pageblock_migratetypes(self, uint32_t nid, zt=None):
        """Migratetype of every pageblock of the node's zones (lowest type first; the first of a
        zone may start before it), as uint8; or of one zone."""
        cdef zone *z
        cdef uint32_t n, t
        _below("node", nid, self.m.nr_nodes)
        out = []
        for t in (range(MAX_NR_ZONES) if zt is None else [zt]):
            z = self._zone(nid, t)
            n = (((z.zone_start_pfn + z.spanned_pages + PAGEBLOCK_NR_PAGES - 1) >> PAGEBLOCK_ORDER)
                 - (z.zone_start_pfn >> PAGEBLOCK_ORDER))
            if z.spanned_pages and n:
                out.append(np.asarray(<uint8_t[:n]>z.pageblock_mt).copy())
        return np.concatenate(out) if out else np.zeros(0, np.uint8)

    def free_lists(self, uint32_t nid, zt=None):
        """Every buddy free list in list order: {(order, migratetype): [pfn, ...]}, the node's
        zones one after the other (highest type first), or one zone's."""
        cdef zone *z
        cdef uint32_t o, t
        _below("node", nid, self.m.nr_nodes)
        out = {(o, t): [] for o in range(NR_PAGE_ORDERS) for t in range(MIGRATE_TYPES)}
        for zt_ in (range(MAX_NR_ZONES - 1, -1, -1) if zt is None else [zt]):
            z = self._zone(nid, zt_)
            if not z.spanned_pages:
                continue
            for o in range(NR_PAGE_ORDERS):
                for t in range(MIGRATE_TYPES):
                    out[(o, t)] += _pfn_list(self.m, z.free_area[o].free_list[t].head)
        return out

    def pcp_lists(self, uint32_t nid, uint32_t cpu, zt=None):
        """One CPU's pcp lists for a node's zones (highest type first), or one zone's, in list
        order: {(order, migratetype): [pfn, ...]}."""
        cdef zone *z
        cdef uint32_t i
        _below("node", nid, self.m.nr_nodes)
        _below("cpu", cpu, self.m.nr_cpus)
        out = {(i // MIGRATE_PCPTYPES, i % MIGRATE_PCPTYPES): [] for i in range(NR_PCP_LISTS)}
        for zt_ in (range(MAX_NR_ZONES - 1, -1, -1) if zt is None else [zt]):
            z = self._zone(nid, zt_)
            if not z.spanned_pages:
                continue
            for i in range(NR_PCP_LISTS):
                out[(i // MIGRATE_PCPTYPES, i % MIGRATE_PCPTYPES)] += _pfn_list(self.m, z.pcp[cpu].lists[i].head)
        return out

    # -- a machine imported from a snapshot (kernel_model/procfs_import.py) ----
    def import_zone(self, uint32_t nid, uint32_t zt, uint32_t present, uint32_t managed,
                    const uint32_t[:, ::1] free_blocks, const uint32_t[:, ::1] used_blocks,
                    const uint8_t[::1] pageblocks):
        """Lay a zone out: its sizes, free blocks and imported (in-use) blocks as rows of (pfn,
        order, migratetype), in list order, and the migratetype of each of its pageblocks."""
        cdef zone *z = self._populated(nid, zt)
        cdef uint32_t i, n
        cdef uint64_t end = <uint64_t>z.zone_start_pfn + z.spanned_pages
        n = (((z.zone_start_pfn + z.spanned_pages + PAGEBLOCK_NR_PAGES - 1) >> PAGEBLOCK_ORDER)
             - (z.zone_start_pfn >> PAGEBLOCK_ORDER))
        if pageblocks.shape[0] != n or managed > present or present > z.spanned_pages:
            raise ValueError(f"node {nid} zone {ZONE_NAMES[zt]}: {n} pageblocks and present <= spanned needed")
        _check_blocks(nid, zt, free_blocks, z.zone_start_pfn, end)
        _check_blocks(nid, zt, used_blocks, z.zone_start_pfn, end)
        blocks = np.concatenate([np.asarray(free_blocks).reshape(-1, 3), np.asarray(used_blocks).reshape(-1, 3)])
        blocks = blocks[np.argsort(blocks[:, 0], kind="stable")].astype(np.int64)
        if len(blocks) and ((blocks[1:, 0] < blocks[:-1, 0] + (1 << blocks[:-1, 1])).any()
                            or any(z.pages[b - z.zone_start_pfn].flags for b in blocks[:, 0].tolist())):
            raise ValueError(f"node {nid} zone {ZONE_NAMES[zt]}: blocks overlap (or the zone was laid out already)")
        mm_zone_set_pages(self.m, z, present, managed)
        for i in range(n):
            mm_import_pageblock(z, (z.zone_start_pfn & ~(PAGEBLOCK_NR_PAGES - 1)) + i * PAGEBLOCK_NR_PAGES
                                if i else z.zone_start_pfn, pageblocks[i])
        for i in range(free_blocks.shape[0]):
            mm_import_free_block(z, free_blocks[i, 0], free_blocks[i, 1], free_blocks[i, 2])
        for i in range(used_blocks.shape[0]):
            mm_import_used_block(z, used_blocks[i, 0], used_blocks[i, 1], used_blocks[i, 2])
        _check_bug()

    def finish_import(self, uint32_t min_free_kbytes, dict watermarks, dict protection, dict pagesets,
                      dict numa):
        """Zonelists and derived settings for the imported zones, then the snapshot's own:
        {(node, zone type): (min, low, high)}, {(node, zone type): lowmem_reserve[]},
        {(node, zone type): [(high, batch) per CPU]}, {(node, zone type): numa counters}."""
        cdef zone *z
        cdef uint32_t i
        mm_setup_watermarks(self.m, min_free_kbytes)
        mm_setup_pcp(self.m)
        for (nid, zt), marks in watermarks.items():
            z = self._zone(nid, zt)
            for i in range(NR_WMARK):
                z.watermark[i] = marks[i]
        for (nid, zt), reserve in protection.items():
            z = self._zone(nid, zt)
            for i in range(MAX_NR_ZONES):
                z.lowmem_reserve[i] = reserve[i]
        for (nid, zt), sets in pagesets.items():
            z = self._populated(nid, zt)
            if len(sets) != self.m.nr_cpus:
                raise ValueError(f"node {nid} zone {ZONE_NAMES[zt]}: pagesets for {len(sets)} CPUs, "
                                 f"the machine has {self.m.nr_cpus}")
            for i in range(self.m.nr_cpus):
                z.pcp[i].high, z.pcp[i].batch = sets[i]
        for (nid, zt), counts in numa.items():
            z = self._zone(nid, zt)
            for i in range(NR_NUMA_STAT_ITEMS):
                z.numa[i] = counts[i]

    def import_pcp_pages(self, uint32_t nid, uint32_t zt, uint32_t cpu, uint32_t count):
        """count order-0 imported pages of the zone onto cpu's pcp lists; returns how many there were."""
        cdef zone *z = self._populated(nid, zt)
        cdef uint32_t i
        for i in range(count):
            if mm_import_pcp_page(self.m, z, cpu) != 0:
                return i
        return count

    def set_importing(self, bint on):
        """While on, page allocations (slab pages too) take imported blocks, counted nowhere."""
        if on:
            self.m.flags |= MM_IMPORTING
        else:
            self.m.flags &= ~MM_IMPORTING

    def import_objects(self, uint32_t cache, uint32_t count, uint32_t cpu, int32_t nid):
        """count objects of a cache allocated from the imported memory of a node; their addresses
        (fewer when the node's imported memory runs out)."""
        out = np.zeros(count, np.uint64)
        cdef uint64_t[::1] v = out
        cdef uint32_t i
        cdef uint64_t addr
        _below("kmem_cache", cache, self.sl.nr_caches)
        for i in range(count):
            addr = mm_kmem_cache_alloc(&self.sl, cache, cpu, nid, NULL)
            if not addr:
                _check_bug()
                return out[:i]
            v[i] = addr
        _check_bug()
        return out

    def set_imported_objects(self, objs, start, left):
        """The imported objects pre-trace frees take (uint64 addresses grouped by cache; uint32
        start and count per cache)."""
        self._imported_objs = np.ascontiguousarray(objs, np.uint64)
        self._imported_start = np.ascontiguousarray(start, np.uint32)
        self._imported_left = np.array(left, np.uint32)
        if len(self._imported_start) != len(self._imported_left) or \
                (len(left) and int((self._imported_start.astype(np.int64) + self._imported_left).max())
                 > len(self._imported_objs)):
            raise ValueError("imported objects: a start and a count per cache, within the objects")
        self.rp.nr_imported_caches = len(self._imported_left)
        self.rp.imported_objs = <const uint64_t *>self._address(self._imported_objs.view(np.uint8)) \
            if len(self._imported_objs) else NULL
        self.rp.imported_start = <const uint32_t *>self._address(self._imported_start.view(np.uint8)) \
            if len(self._imported_start) else NULL
        self.rp.imported_left = <uint32_t *>self._address(self._imported_left.view(np.uint8)) \
            if len(self._imported_left) else NULL

    def imported_left(self):
        """Imported objects not freed yet, per cache."""
        return self._imported_left.copy() if self._imported_left is not None else np.zeros(0, np.uint32)

    # -- caches -------------------------------------------------------------
    def set_caches(self, CacheCore caches):
        """Every CPU's accesses go through hierarchy `cpu` of caches; misses get attributed."""
        cdef uint32_t cpu
        cdef uint64_t[::1] ptrs
        self._caches = caches
        self._cache_ptrs = np.zeros(self.m.nr_cpus, np.uint64)
        ptrs = self._cache_ptrs
        for cpu in range(self.m.nr_cpus):
            ptrs[cpu] = <uintptr_t>caches.hierarchy(cpu)
        self.m.cpu_caches = <cache_hierarchy **>&ptrs[0]
        self.enable_attribution()

    def enable_attribution(self):
        """Keep per-site and per-object statistics (allocation sites, misses, strides, locality)."""
        if self._attribution:
            return
        self._attribution = True
        if self._alloc_site is None:
            self._alloc_site = np.full(max(self.rp.nr_ids, 1), MM_NO_SITE, np.uint32)
        self._site_misses = np.zeros((1, MM_SITE_LEVELS), np.uint64)
        self._alloc_site_misses = np.zeros((1, MM_SITE_LEVELS), np.uint64)
        self._site_stride = np.zeros((1, 4), np.uint64)
        self._site_remote = np.zeros((1, 2), np.uint64)
        self._id_remote = np.zeros((max(self.rp.nr_ids, 1), 2), np.uint32)
        self._id_vote = np.zeros(max(self.rp.nr_ids, 1), np.uint32)

    def enable_cache_attribution(self, bint latency, bint alignment):
        """Keep, per call site and per object, the latency of timed accesses (latency), and per object
        placement how its accessed bytes sit in cache lines (alignment)."""
        self.enable_attribution()
        if latency and self._site_lat is None:
            self._site_lat = np.zeros((1, MM_LAT_WORDS), np.uint64)
            self._id_served = np.zeros((1, MM_SITE_LEVELS + 1), np.uint32)
            self._id_ps = np.zeros(1, np.uint64)
        if alignment and self._align is None:
            self._align = np.zeros(1, ALIGN_DTYPE)
            self._cache_align = np.zeros((self.sl.max_caches, MM_ALIGN_WORDS), np.uint64)
            self.cattr.nr_caches = self.sl.max_caches
        self._attach_cache_attribution()

    cdef int _attach_cache_attribution(self) except -1:
        """Point the replay at the tables, grown to the ids and sites it may name."""
        cdef uint32_t ids = max(self.rp.nr_ids, 1), sites = max(self.rp.nr_sites, 1)
        if self._site_lat is None and self._align is None:
            return 0
        if self._site_lat is not None:
            if self._site_lat.shape[0] < sites:
                self._site_lat = _grow_rows(self._site_lat, sites)
            if self._id_ps.shape[0] < ids:
                self._id_served = _grow_rows(self._id_served, ids)
                self._id_ps = np.concatenate([self._id_ps, np.zeros(ids - self._id_ps.shape[0], np.uint64)])
            self.cattr.site_lat = <uint64_t *>self._address(self._site_lat.view(np.uint8).reshape(-1))
            self.cattr.id_served = <uint32_t *>self._address(self._id_served.view(np.uint8).reshape(-1))
            self.cattr.id_ps = <uint64_t *>self._address(self._id_ps.view(np.uint8))
        if self._align is not None:
            if self._align.shape[0] < ids:   # (np.concatenate would drop the struct's tail padding)
                grown = np.zeros(ids, ALIGN_DTYPE)
                grown[:self._align.shape[0]] = self._align
                self._align = grown
            self.cattr.align = <mm_align *>self._address(self._align.view(np.uint8))
            self.cattr.cache_align = <uint64_t *>self._address(self._cache_align.view(np.uint8).reshape(-1))
        self.rp.cache_attr = &self.cattr
        return 0

    def site_latency(self):
        """Per call site: lookups served by each level of the path (MM_SITE_LEVELS columns), by memory
        (column LATENCY_MEMORY), and the total latency in ps (column LATENCY_PS); None when not kept."""
        return None if self._site_lat is None else self._site_lat.copy()

    def object_latency(self):
        """Per object id: (lookups served per level then memory, total latency ps), or None."""
        return None if self._id_ps is None else (self._id_served.copy(), self._id_ps.copy())

    def alignment(self):
        """(the latest placement of every id, an ALIGN_DTYPE array; per kmem_cache the ALIGN_COUNTERS
        over every placement, ended or current), or None when not kept."""
        cdef uint64_t[:, ::1] view
        if self._align is None:
            return None
        totals = np.zeros((self.sl.max_caches, MM_ALIGN_WORDS), np.uint64)
        view = totals
        mm_align_totals(&self.rp, &view[0, 0])
        return self._align[:self.rp.nr_ids].copy(), totals

    def enable_stacks(self, uint32_t stack_size):
        """Model a stack per CPU (and per task of TASK ops: grow_tasks) from CALL/RET ops,
        overflowing past stack_size bytes."""
        if self._stacks is None:
            self._stacks = np.zeros(self.m.nr_cpus * sizeof(mm_stack), np.uint8)
            self._site_frame = np.zeros(1, np.uint32)
            self.rp.stacks = <mm_stack *>self._address(self._stacks)
            self.rp.nr_tasks = 0
        self.rp.stack_size = stack_size

    def grow_tasks(self, uint32_t n):
        """Stack models for the TASK ids below n (those there already are kept); replay() grows them
        when a TASK record names a task without one."""
        if self._stacks is None or n <= self.rp.nr_tasks:
            return
        _below("task id", n - 1, MM_MAX_TASKS)
        self._stacks = _grow_rows(self._stacks, (self.m.nr_cpus + n) * sizeof(mm_stack))
        self.rp.stacks = <mm_stack *>self._address(self._stacks)
        self.rp.nr_tasks = n

    def enable_leak_tracking(self):
        """Zero objects when allocated and keep root flags, allocation records and sites per id, and
        frees per allocation site, so that leak_scan() sees exactly the pointers REF_SET wrote."""
        if self._root is None:
            self._root = np.zeros(max(self.rp.nr_ids, 1), np.uint8)
            self._alloc_record = np.zeros(max(self.rp.nr_ids, 1), np.uint64)
            if self._alloc_site is None:
                self._alloc_site = np.full(max(self.rp.nr_ids, 1), MM_NO_SITE, np.uint32)
            self._site_frees = np.zeros(1, np.uint64)
            self._attach_leak_tracking()
            self._attach_tables(0)

    cdef void _attach_leak_tracking(self):
        if self._root is None:
            return
        self._root = _grow_rows(self._root, self.rp.nr_ids)
        self._alloc_record = _grow_rows(self._alloc_record, self.rp.nr_ids)
        self.rp.root = <uint8_t *>self._address(self._root)
        self.rp.alloc_record = <uint64_t *>self._address(self._alloc_record.view(np.uint8))

    def leak_scan(self):
        """The live objects (id, address, size, root flags, allocating record, and where they sit:
        block pfn and order, slab objects in use and in all, active slab) and every non-zero word in
        them as (object index, value)."""
        cdef uint32_t n = 0
        cdef uint64_t found, cap
        ids = np.zeros(max(self.rp.nr_ids, 1), np.uint32)
        addr = np.zeros(max(self.rp.nr_ids, 1), np.uint64)
        size = np.zeros(max(self.rp.nr_ids, 1), np.uint64)
        cdef uint32_t[::1] vid = ids
        cdef uint64_t[::1] vaddr = addr, vsize = size
        cdef uint32_t[::1] vsrc
        cdef uint64_t[::1] vval
        if self.m.slab != NULL and self.rp.nr_ids:
            n = mm_leak_objects(self.m, &self.rp, &vid[0], &vaddr[0], &vsize[0])
        cap = max(2 * n, 1)
        while True:
            src = np.zeros(cap, np.uint32)
            val = np.zeros(cap, np.uint64)
            vsrc, vval = src, val
            with nogil:
                found = mm_leak_words(self.m, &vaddr[0], &vsize[0], n, &vsrc[0], &vval[0], cap)
            if found <= cap:
                break
            cap = found
        slab = np.zeros(n, np.uint32)
        inuse = np.zeros(n, np.uint32)
        objects = np.zeros(n, np.uint32)
        active = np.zeros(n, np.uint8)
        order = np.zeros(n, np.uint8)
        cdef uint32_t[::1] vslab = slab, vinuse = inuse, vobjects = objects
        cdef uint8_t[::1] vactive = active, vorder = order
        if n:
            mm_leak_slab_use(self.m, &self.rp, &vid[0], n, &vslab[0], &vorder[0], &vinuse[0], &vobjects[0],
                             &vactive[0])
        _check_bug()
        ids = ids[:n]
        root = self._root[ids] if self._root is not None else np.zeros(n, np.uint8)
        born = self._alloc_record[ids] if self._alloc_record is not None else np.zeros(n, np.uint64)
        return {"id": ids, "addr": addr[:n], "size": size[:n], "root": root, "alloc_record": born,
                "src": src[:found], "value": val[:found],
                "slab": slab, "slab_order": order, "slab_inuse": inuse, "slab_objects": objects,
                "slab_active": active}

    def leak_resources(self):
        """What the trace holds besides objects: its live page allocations (id, order, allocation
        site), its live kmem_caches (id, cache index), and frees per allocation site (leak tracking)."""
        ids = self._ids[:self.rp.nr_ids * sizeof(mm_id)].view(ID_DTYPE)
        pages = np.flatnonzero(ids["state"] == ID_PAGE).astype(np.uint32)
        caches = np.flatnonzero(ids["state"] == ID_CACHE).astype(np.uint32)
        site = self._alloc_site[pages] if self._alloc_site is not None else np.full(len(pages), MM_NO_SITE, np.uint32)
        return {"page_id": pages, "page_order": ids["order"][pages].copy(), "page_site": site,
                "cache_id": caches, "cache": ids["pfn"][caches].copy(),
                "site_frees": self._site_frees.copy() if self._site_frees is not None else np.zeros(0, np.uint64)}

    cdef dict _stack(self, mm_stack *s):
        return {"depth": s.depth, "high_water": s.high_water, "overflows": s.overflows, "calls": s.calls,
                "chain": [s.hw_chain[i] for i in range(s.hw_frames)],
                "chain_bytes": [s.hw_size[i] for i in range(s.hw_frames)], "hw_cpu": s.hw_cpu}

    def stacks(self):
        """Per CPU (the stack of its own task): depth, high_water, overflows, calls, the call sites
        at the high-water mark and their frame sizes; and the largest frame per callee site."""
        cdef uint32_t cpu
        if self._stacks is None:
            return [], np.zeros(0, np.uint32)
        return [self._stack(&self.rp.stacks[cpu]) for cpu in range(self.m.nr_cpus)], self._site_frame.copy()

    def task_stacks(self):
        """Per TASK id (below the ids grown for): the same as stacks(), and the CPU it runs on now
        (-1: none). Only the tasks that made calls."""
        cdef uint32_t t
        cdef mm_stack *s
        out = {}
        if self._stacks is None:
            return out
        for t in range(self.rp.nr_tasks):
            s = &self.rp.stacks[self.m.nr_cpus + t]
            if s.calls:
                out[t] = {**self._stack(s), "on_cpu": <int64_t>s.on_cpu - 1}
        return out

    def cpu_tasks(self):
        """The TASK id each CPU runs (-1: its own task)."""
        return [<int64_t>self.rp.cpu_task[c] - 1 for c in range(self.m.nr_cpus)]

    def id_place(self, uint64_t id):
        """(node, model address, bytes) of a live page allocation, slab object or large kmalloc, or None."""
        cdef uint64_t addr, size
        cdef mm_id *e
        if id >= self.rp.nr_ids:
            return None
        e = &self.rp.ids[id]
        if e.state != ID_PAGE and e.state != ID_OBJECT and e.state != ID_LARGE:
            return None
        mm_id_span(self.m, e, &addr, &size)
        return mm_pfn_to_nid(self.m, <uint32_t>(addr >> PAGE_SHIFT)), addr, size

    def migrate(self, uint32_t id, uint32_t nid, uint32_t cpu):
        """Move a live id to node nid (core/replay.h mm_replay_migrate): 0, -1 (not movable), -2 (no room)."""
        err = mm_replay_migrate(self.m, &self.rp, id, nid, cpu)
        _check_bug()
        return err

    def set_thermal(self, uint32_t heat_access, uint32_t heat_page, uint64_t half_life_ns, uint64_t throttle):
        """Switch the thermal model on (core/thermal.h); False when the half-life is not a multiple of
        MM_THERMAL_STEPS."""
        return mm_thermal_setup(self.m, heat_access, heat_page, half_life_ns, throttle) == 0

    def thermal(self):
        """The thermal model's parameters and, per node, temperature, peak and throttled ns."""
        cdef mm_thermal *t = &self.m.thermal
        mm_thermal_sync(self.m)
        n = self.m.nr_nodes
        return {"heat_access": t.heat_access, "heat_page": t.heat_page, "half_life_ns": t.half_life_ns,
                "throttle": t.throttle, "temp": [t.temp[i] for i in range(n)], "peak": [t.peak[i] for i in range(n)],
                "throttled_ns": [t.throttled_ns[i] for i in range(n)]}

    def locality(self):
        """(per call site [local, remote], per object id [local, remote], alloc site per id) arrays."""
        return self._site_remote.copy(), self._id_remote.copy(), self._alloc_site.copy()

    def id_votes(self):
        """Per object id, its remote accessors' majority vote (core/replay.h id_vote)."""
        return self._id_vote.copy() if self._id_vote is not None else np.zeros(0, np.uint32)

    def set_latency(self, list matrix):
        cdef uint32_t i, j
        if len(matrix) != self.m.nr_nodes or any(len(row) != self.m.nr_nodes for row in matrix):
            raise ValueError(f"latency needs a {self.m.nr_nodes} x {self.m.nr_nodes} matrix")
        for i in range(self.m.nr_nodes):
            for j in range(self.m.nr_nodes):
                self.m.latency[i][j] = matrix[i][j]

    def access_counts(self):
        """(per CPU [local, remote, cost ns], per node accesses received)."""
        cpus = [[self.m.cpu_access[c][k] for k in range(NR_ACCESS_COUNTS)] for c in range(self.m.nr_cpus)]
        return cpus, [self.m.node_access[n] for n in range(self.m.nr_nodes)]

    def site_misses(self):
        """(by accessing call site, by allocation site): uint64 arrays [site, level]."""
        return self._site_misses.copy(), self._alloc_site_misses.copy()

    def site_strides(self):
        """Per call site: accesses, accesses that repeated the site's previous stride, last stride."""
        return self._site_stride[:, 3].copy(), self._site_stride[:, 2].copy(), self._site_stride[:, 1].astype(np.int64)

    cdef void _attach_tables(self, uint32_t nr_sites):
        """Grow every per-id table to nr_ids and every per-site one to the sites seen so far (all
        cover rp.nr_sites), and hand them to the core."""
        cdef uint32_t sites = max(nr_sites, self.rp.nr_sites, 1)
        if self._alloc_site is not None:
            self._alloc_site = _grow_rows(self._alloc_site, self.rp.nr_ids, MM_NO_SITE)
            self.rp.alloc_site = <uint32_t *>self._address(self._alloc_site.view(np.uint8))
        if self._attribution:
            self._id_remote = _grow_rows(self._id_remote, self.rp.nr_ids)
            self._id_vote = _grow_rows(self._id_vote, self.rp.nr_ids)
            self._site_misses = _grow_rows(self._site_misses, sites)
            self._alloc_site_misses = _grow_rows(self._alloc_site_misses, sites)
            self._site_stride = _grow_rows(self._site_stride, sites)
            self._site_remote = _grow_rows(self._site_remote, sites)
            self.rp.site_misses = <uint64_t *>self._address(self._site_misses.view(np.uint8).reshape(-1))
            self.rp.alloc_site_misses = <uint64_t *>self._address(self._alloc_site_misses.view(np.uint8).reshape(-1))
            self.rp.site_stride = <uint64_t *>self._address(self._site_stride.view(np.uint8).reshape(-1))
            self.rp.site_remote = <uint64_t *>self._address(self._site_remote.view(np.uint8).reshape(-1))
            self.rp.id_remote = <uint32_t *>self._address(self._id_remote.view(np.uint8).reshape(-1))
            self.rp.id_vote = <uint32_t *>self._address(self._id_vote.view(np.uint8))
        if self._site_frame is not None:
            self._site_frame = _grow_rows(self._site_frame, sites)
            self.rp.site_frame = <uint32_t *>self._address(self._site_frame.view(np.uint8))
        if self._site_frees is not None:
            self._site_frees = _grow_rows(self._site_frees, sites)
            self.rp.site_frees = <uint64_t *>self._address(self._site_frees.view(np.uint8))
        self.rp.nr_sites = sites

    # -- replay -------------------------------------------------------------
    def replay(self, const uint8_t[::1] raw, uint64_t nrec, uint32_t nr_ids, results=None, uint32_t nr_sites=1,
               snap_at=None, snap_rows=None, site_cache=None):
        """Replay nrec 24-byte records (raw bytes); ids persist across calls. With snap_at (record
        counts, uint64) a snapshot row goes into snap_rows (one row each) as the replay passes them.
        site_cache: per string of the trace the kmem_cache of that name, or NO_CACHE (uint32)."""
        cdef uint64_t[::1] res
        cdef const uint64_t[::1] at
        cdef uint64_t[:, ::1] rows
        if <uint64_t>raw.shape[0] < nrec * sizeof(mm_op) or (results is not None and len(results) < nrec):
            raise ValueError(f"{nrec} records need {nrec * sizeof(mm_op)} bytes and as many results")
        if nr_ids > self.rp.nr_ids:
            grown = np.zeros(nr_ids * sizeof(mm_id), np.uint8)
            grown[:self._ids.size] = self._ids
            self._ids = grown
            self.rp.nr_ids = nr_ids
        self.rp.ids = <mm_id *>self._address(self._ids)
        self._attach_leak_tracking()
        self._attach_tables(nr_sites)
        self._attach_cache_attribution()   # sized by the tables' rp.nr_sites
        self.rp.results = NULL
        if results is not None:
            res = results
        self._site_cache = np.ascontiguousarray(site_cache if site_cache is not None else [], np.uint32)
        self.rp.nr_site_cache = len(self._site_cache)
        self.rp.site_cache = <const uint32_t *>self._address(self._site_cache.view(np.uint8)) \
            if self.rp.nr_site_cache else NULL
        self.rp.nr_snap_at = self.rp.snap_done = 0
        if snap_at is not None and len(snap_at):
            at, rows = snap_at, snap_rows
            if rows.shape[0] < at.shape[0] or rows.shape[1] != mm_snapshot_size(self.m):
                raise ValueError("snap_rows needs a row of snapshot_size() words per entry of snap_at")
            self.rp.snap_at, self.rp.snap_rows = &at[0], &rows[0, 0]
            self.rp.nr_snap_at, self.rp.snap_stride = at.shape[0], rows.shape[1]
        cdef uint64_t done = 0, start
        while done < nrec:
            start = self.rp.nr_records
            if results is not None:
                self.rp.results = &res[done]
            with nogil:
                mm_replay_run(self.m, &self.rp, <const mm_op *>&raw[done * sizeof(mm_op)], start, nrec - done)
            done += self.rp.nr_records - start
            if not self.rp.need_tasks:
                break
            self.grow_tasks(self.rp.need_tasks)   # a TASK record named a task without a stack yet
            self.rp.need_tasks = 0
        self.rp.results = NULL
        self.rp.nr_snap_at = 0
        self.rp.snap_at, self.rp.snap_rows = NULL, NULL
        _check_bug()

    def now_ns(self):
        return self.rp.now_ns

    def replay_state(self):
        """Counters and logged errors of everything replayed so far."""
        cdef uint64_t i
        errors = [(self.rp.errors[i].record, self.rp.errors[i].code, self.rp.errors[i].id)
                  for i in range(self.rp.nr_logged)]
        return {
            "records": self.rp.nr_records,
            "now_ns": self.rp.now_ns,
            "op_count": [self.rp.op_count[i] for i in range(NR_OPS)],
            "error_count": [self.rp.error_count[i] for i in range(NR_REPLAY_ERRORS)],
            "errors": errors,
            "alloc_failed": self.rp.alloc_failed,
            "free_skipped": self.rp.free_skipped,
            "access_skipped": self.rp.access_skipped,
            "pretrace_freed": self.rp.pretrace_freed,
            "pretrace_skipped": self.rp.pretrace_skipped,
        }


def reuse_ids(uint32_t[::1] ids, const uint8_t[::1] op, uint32_t nr_ids):
    """Renumber a trace's object ids in place so that an id is reused once its object is freed
    (as a kernel reuses addresses): each allocation takes the most recently freed id. Returns the
    new nr_ids, the most objects live at once."""
    cdef uint64_t i, n = ids.shape[0]
    cdef uint32_t top = 0, used = 0, old, new, none = MM_NO_ID
    cdef uint32_t[::1] to_new = np.full(max(nr_ids, 1), MM_NO_ID, np.uint32)
    cdef uint32_t[::1] pool = np.zeros(max(nr_ids, 1), np.uint32)
    if op.shape[0] != ids.shape[0]:
        raise ValueError("ids and op codes must have the same length")
    with nogil:
        for i in range(n):
            old = ids[i]
            if old >= nr_ids:
                continue
            if op[i] == OP_PAGE_ALLOC or op[i] == OP_KMALLOC or op[i] == OP_CACHE_ALLOC:
                if top:
                    top -= 1
                    new = pool[top]
                else:
                    new = used
                    used += 1
                to_new[old] = new
                ids[i] = new
            elif to_new[old] != none:
                ids[i] = to_new[old]
                if op[i] == OP_PAGE_FREE or op[i] == OP_KFREE or op[i] == OP_CACHE_FREE:
                    pool[top] = to_new[old]
                    top += 1
                    to_new[old] = none
    return used


def leak_classify(const uint32_t[::1] row, const uint32_t[::1] col, const uint8_t[::1] interior,
                  const uint8_t[::1] root):
    """memcheck's category of each object (LEAK_KIND_NAMES: reachable, possibly, indirectly, definitely lost)
    from its references in CSR form (row has n + 1 entries)."""
    cdef uint32_t n = root.shape[0]
    if row.shape[0] != n + 1 or col.shape[0] != interior.shape[0] or row[n] != col.shape[0]:
        raise ValueError("row must have n + 1 offsets ending at len(col); interior one flag per reference")
    if (np.diff(np.asarray(row).astype(np.int64)) < 0).any() or (col.shape[0] and np.asarray(col).max() >= n):
        raise ValueError("row offsets must not decrease and every col must name one of the n objects")
    kind = np.zeros(n, np.uint8)
    queue = np.zeros(max(n, 1), np.uint32)
    cdef uint8_t[::1] vkind = kind
    cdef uint32_t[::1] vqueue = queue
    cdef const uint32_t *pcol = &col[0] if col.shape[0] else NULL
    cdef const uint8_t *pint = &interior[0] if interior.shape[0] else NULL
    if n:
        with nogil:
            mm_leak_classify(n, &row[0], pcol, pint, &root[0], &vkind[0], &vqueue[0])
    return kind


def slab_calculate_order(uint32_t size, uint32_t nr_cpus):
    if not 0 < size <= PAGE_SIZE << MAX_PAGE_ORDER:
        raise ValueError(f"object size {size} out of range 1..{PAGE_SIZE << MAX_PAGE_ORDER}")
    return mm_slab_calculate_order(size, nr_cpus)


cdef int _order_counts(const uint64_t[::1] nr_free, uint32_t order) except -1:
    if nr_free.shape[0] != NR_PAGE_ORDERS:
        raise ValueError(f"need free block counts for orders 0..{MAX_PAGE_ORDER}, got {nr_free.shape[0]}")
    return _below("order", order, NR_PAGE_ORDERS)


def extfrag_index(const uint64_t[::1] nr_free, uint32_t order):
    _order_counts(nr_free, order)
    return mm_extfrag_index(&nr_free[0], order)


def unusable_free_index(const uint64_t[::1] nr_free, uint32_t order):
    _order_counts(nr_free, order)
    return mm_unusable_free_index(&nr_free[0], order)


def cachegrind_tags(size, assoc, line_size):
    """Tags a cachegrind cache of this geometry holds (sets * assoc), or 0 if cachegrind refuses it."""
    try:
        return cg_cache_tags_needed(size, assoc, line_size)
    except (OverflowError, TypeError):
        return 0


cdef class CachegrindSim:
    """cachegrind's I1/D1/LL simulation (core/cachegrind.h), fed by lackey text or arrays."""

    cdef cg_sim s
    cdef lackey_parser p
    cdef object _tags

    def __init__(self, tuple I1, tuple D1, tuple LL):
        memset(&self.s, 0, sizeof(cg_sim))
        memset(&self.p, 0, sizeof(lackey_parser))
        self._tags = []
        self._init(&self.s.I1, "I1", I1)
        self._init(&self.s.D1, "D1", D1)
        self._init(&self.s.LL, "LL", LL)

    cdef _init(self, cg_cache *c, str name, tuple spec):
        cdef uint64_t[::1] view
        size, assoc, line = spec
        n = cachegrind_tags(size, assoc, line)
        if n == 0:
            raise ValueError(f"{name} cache {size},{assoc},{line}: cachegrind needs a power-of-two line size "
                             f"of at least {CG_MIN_LINE_SIZE} and set count, size = sets * assoc * line size "
                             f"larger than a line, and each number at most {CG_MAX_PARAM}")
        tags = np.zeros(n, np.uint64)
        self._tags.append(tags)
        view = tags
        cg_cache_init(c, size, assoc, line, &view[0])

    def feed_lackey(self, const uint8_t[::1] buf, bint final=False):
        """Parse and simulate the complete lines of buf; returns the bytes consumed."""
        cdef size_t n = buf.shape[0], used
        if n == 0:
            return 0
        with nogil:
            used = lackey_feed(&self.p, &self.s, <const char *>&buf[0], n, final)
        _check_bug()
        return used

    @property
    def lines(self):
        return self.p.line

    @property
    def error(self):
        """(line, column) of the first malformed line, or None."""
        return (self.p.error_line, self.p.error_column) if self.p.error_line else None

    def access(self, const uint8_t[::1] kinds, const uint64_t[::1] addrs, const uint8_t[::1] sizes):
        """Simulate arrays of accesses; kinds: 0 instruction, 1 read (or modify), 2 write."""
        cdef Py_ssize_t i, n = kinds.shape[0]
        if addrs.shape[0] != n or sizes.shape[0] != n:
            raise ValueError("kinds, addrs and sizes must have the same length")
        with nogil:
            for i in range(n):
                if kinds[i] == 0:
                    cg_instr(&self.s, addrs[i], sizes[i])
                elif kinds[i] == 1:
                    cg_read(&self.s, addrs[i], sizes[i])
                else:
                    cg_write(&self.s, addrs[i], sizes[i])
        _check_bug()

    def events(self):
        return {name: self.s.ev[i] for i, name in enumerate(CG_EVENTS)}


CACHE_STATS = ("load_hits", "load_misses", "store_hits", "store_misses", "evictions", "writebacks",
               "back_invalidations", "compulsory", "capacity", "conflict", "coh_invalidations", "coh_misses")
COHERENCE_STATS = ("upgrades", "invalidations_sent", "invalidations_received", "transfers", "coherence_misses",
                   "true_sharing", "false_sharing")


def latency_bucket_floors():
    """The least latency (ps) of each bucket of a latency histogram."""
    return [cache_latency_bucket_floor(b) for b in range(CACHE_LAT_BUCKETS)]
MAX_CACHES = 256


def _pow2_at_least(uint64_t n):
    cdef uint64_t p = 1
    while p < n:
        p <<= 1
    return p


cdef class CacheCore:
    """Caches and TLBs (up to 256) and one hierarchy per CPU wired through them (core/cache.h)."""

    cdef cache *caches
    cdef cache_shadow *shadows
    cdef cache_hierarchy *hs
    cdef cache_coherence *coh
    cdef uint32_t n, nr_h
    cdef object _buffers, _c2c, _mem_nodes

    def __init__(self, uint32_t nr_hierarchies=1):
        self._buffers = []
        self._mem_nodes = {}
        self.n = 0
        self.nr_h = max(nr_hierarchies, 1)
        self.caches = <cache *>self._alloc(MAX_CACHES * sizeof(cache), np.uint8)
        self.shadows = <cache_shadow *>self._alloc(MAX_CACHES * sizeof(cache_shadow), np.uint8)
        self.hs = <cache_hierarchy *>self._alloc(self.nr_h * sizeof(cache_hierarchy), np.uint8)

    cdef void *_alloc(self, size_t nbytes, dtype):
        arr = np.zeros(max(nbytes // np.dtype(dtype).itemsize, 1), dtype)
        self._buffers.append(arr)
        cdef uint8_t[::1] view = arr.view(np.uint8)
        return <void *>&view[0]

    def _alloc_array(self, size_t n, dtype):
        arr = np.zeros(n, dtype)
        self._buffers.append(arr)
        return arr

    cdef cache_hierarchy *hierarchy(self, uint32_t i):
        return &self.hs[i]

    cdef cache *level(self, uint32_t i) except NULL:
        _below("cache", i, self.n)
        return &self.caches[i]

    cdef cache_hierarchy *wired(self, uint32_t hier) except NULL:
        _below("hierarchy", hier, self.nr_h)
        if self.hs[hier].i1 == NULL:
            raise ValueError("hierarchy not wired")
        return &self.hs[hier]

    def add(self, uint32_t sets, uint32_t ways, uint32_t line_size, uint32_t policy, bint write_back,
            bint write_allocate, uint32_t inclusion, uint64_t seed, bint classify):
        """A new cache; returns its index."""
        cdef uint32_t i = self.n
        cdef uint64_t lines = <uint64_t>sets * ways
        cdef cache *c
        if i >= MAX_CACHES:
            raise ValueError(f"at most {MAX_CACHES} caches and TLBs in all")
        if not cache_geometry_ok(sets, ways, line_size, policy):
            raise ValueError(f"cache geometry {sets} sets x {ways} ways x {line_size} B is not supported "
                             f"(line size a power of two; PLRU needs power-of-two ways <= {CACHE_PLRU_MAX_WAYS})")
        _below("inclusion policy", inclusion, NR_CACHE_INCLUSIONS)
        c = &self.caches[i]
        cache_init(c, sets, ways, line_size, policy, write_back, write_allocate, inclusion, seed,
                   <uint64_t *>self._alloc(lines * 8, np.uint64), <uint64_t *>self._alloc(sets * 8, np.uint64))
        if classify:
            index_size = _pow2_at_least(2 * lines)
            seen_size = _pow2_at_least(4 * lines)
            cache_shadow_init(c, &self.shadows[i], lines, <uint64_t *>self._alloc(lines * 8, np.uint64),
                              <uint32_t *>self._alloc(lines * 4, np.uint32),
                              <uint32_t *>self._alloc(lines * 4, np.uint32),
                              <uint32_t *>self._alloc(index_size * 4, np.uint32), index_size,
                              <uint64_t *>self._alloc(seen_size * 8, np.uint64), seen_size)
        self.n += 1
        _check_bug()
        return i

    def link(self, uint32_t upper, uint32_t lower):
        cache_link(self.level(upper), self.level(lower))

    def track_line_use(self, uint32_t i):
        """Record the bytes the CPU touches in each line of first-level cache i until it leaves."""
        cdef cache *c = self.level(i)
        if not cache_can_track_use(c):
            raise ValueError(f"line utilisation needs lines of at most {CACHE_USE_MAX_LINE} bytes (and at most "
                             f"{CACHE_ORDER_MAX_WAYS} ways for LRU/FIFO)")
        if c.use == NULL:
            cache_track_use(c, <uint64_t *>self._alloc(<uint64_t>c.sets * c.ways * 8, np.uint64),
                            <uint64_t *>self._alloc(CACHE_USE_BUCKETS * 8, np.uint64))
            self.prepare_all()

    def line_use(self, uint32_t i):
        """(lines retired, lines resident) by bytes touched: two arrays of LINE_USE_BUCKETS counts."""
        cdef cache *c = self.level(i)
        cdef uint64_t[::1] view
        if c.use == NULL:
            raise ValueError("line utilisation is not tracked for this cache")
        resident = np.zeros(CACHE_USE_BUCKETS, np.uint64)
        view = resident
        cache_use_resident(c, &view[0])
        return np.asarray(<uint64_t[:CACHE_USE_BUCKETS]>c.use_hist).copy(), resident

    def track_set_misses(self, uint32_t i):
        """Count misses per set of cache i (for a heatmap); returns a live view of the counters."""
        cdef cache *c = self.level(i)
        if c.set_misses == NULL:
            c.set_misses = <uint64_t *>self._alloc(c.sets * 8, np.uint64)
            self.prepare_all()
        return np.asarray(<uint64_t[:c.sets]>c.set_misses)

    cdef void prepare_all(self):
        """Re-pick every hierarchy's fast paths after a level changed."""
        cdef uint32_t k
        for k in range(self.nr_h):
            cache_hierarchy_prepare(&self.hs[k])

    def wire(self, uint32_t hier, int i1, int d1, int itlb=-1, int dtlb=-1, int itlb_huge=-1, int dtlb_huge=-1):
        """Which caches a CPU's instruction and data accesses (and translations) go to first."""
        cdef cache_hierarchy *h
        cdef cache *c
        cdef uint32_t k
        cdef bint seen
        _below("hierarchy", hier, self.nr_h)
        cdef int64_t caches = self.n
        if any(not -1 <= first < caches for first in (i1, d1, itlb, dtlb, itlb_huge, dtlb_huge)):
            raise ValueError(f"caches are 0..{caches - 1} (-1: none)")
        if i1 < 0 or d1 < 0:
            raise ValueError("a hierarchy needs first-level caches for instructions and data")
        h = &self.hs[hier]
        h.i1 = &self.caches[i1]
        h.d1 = &self.caches[d1]
        h.itlb = &self.caches[itlb] if itlb >= 0 else NULL
        h.dtlb = &self.caches[dtlb] if dtlb >= 0 else NULL
        h.itlb_huge = &self.caches[itlb_huge] if itlb_huge >= 0 else NULL
        h.dtlb_huge = &self.caches[dtlb_huge] if dtlb_huge >= 0 else NULL
        h.nr_levels = 0
        for first in (i1, d1, itlb, dtlb, itlb_huge, dtlb_huge):
            if first < 0:
                continue
            c = &self.caches[first]
            while c != NULL:
                seen = False
                for k in range(h.nr_levels):
                    seen = seen or h.levels[k] == c
                if not seen and h.nr_levels < CACHE_MAX_LEVELS:
                    h.levels[h.nr_levels] = c
                    h.nr_levels += 1
                c = c.next
        cache_hierarchy_prepare(h)

    def set_huge_ranges(self, uint32_t hier, list ranges):
        _below("hierarchy", hier, self.nr_h)
        if len(ranges) > CACHE_MAX_HUGE:
            raise ValueError(f"at most {CACHE_MAX_HUGE} huge-page ranges")
        for i, (start, end) in enumerate(ranges):
            self.hs[hier].huge_start[i] = start
            self.hs[hier].huge_end[i] = end
        self.hs[hier].nr_huge = len(ranges)

    cdef void grow_shadows(self):
        """Double every 3C seen-set that is half full."""
        cdef cache_shadow *sh
        cdef uint64_t old_size, j
        cdef uint64_t *old
        cdef uint32_t i
        for i in range(self.n):
            if self.caches[i].shadow == NULL or self.shadows[i].seen_count * 2 < self.shadows[i].seen_mask:
                continue
            sh = &self.shadows[i]
            old_size = sh.seen_mask + 1
            old = sh.seen
            sh.seen = <uint64_t *>self._alloc(old_size * 2 * 8, np.uint64)
            sh.seen_mask = old_size * 2 - 1
            sh.seen_count = 0
            for j in range(old_size):
                if old[j]:
                    cache_shadow_insert_seen(sh, old[j] - 1)

    def replay(self, uint32_t hier, const uint64_t[::1] addr, const uint32_t[::1] size, const uint8_t[::1] kind):
        cdef uint64_t n = addr.shape[0], done = 0, step
        cdef cache_hierarchy *h = self.wired(hier)
        if size.shape[0] != n or kind.shape[0] != n:
            raise ValueError("addresses, sizes and kinds must have the same length")
        while done < n:
            with nogil:
                step = cache_replay(h, &addr[done], &size[done], &kind[done], n - done)
            done += step
            self.grow_shadows()
        _check_bug()

    def access(self, uint32_t hier, uint64_t addr, uint32_t size, uint32_t kind, uint64_t tag=0, uint64_t base=0):
        """One access; tag and base are what the coherence-miss table records of it."""
        cdef cache_hierarchy *h = self.wired(hier)
        _below("access kind", kind, NR_ACCESS_KINDS)
        h.tag, h.tag_base = tag, base
        self.grow_shadows()   # the bulk replay grows them as it goes
        cache_hierarchy_access(h, addr, size, kind)
        _check_bug()

    def contains(self, uint32_t i, uint64_t addr):
        return bool(cache_contains(self.level(i), addr))

    def flush(self, uint32_t i):
        cache_flush(self.level(i))
        _check_bug()

    def stats(self, uint32_t i):
        cdef cache_stats *st = &self.level(i).st
        return dict(zip(CACHE_STATS, (st.load_hits, st.load_misses, st.store_hits, st.store_misses,
                                      st.evictions, st.writebacks, st.back_invalidations, st.compulsory,
                                      st.capacity, st.conflict, st.coh_invalidations, st.coh_misses), strict=True))

    # -- coherence ------------------------------------------------------------
    def private_levels(self):
        """Indices of the caches reached from one hierarchy only (its CPU's private levels)."""
        cdef uint32_t k, i
        cdef cache *c
        owners = {}
        for k in range(self.nr_h):
            for c0 in (<uintptr_t>self.hs[k].i1, <uintptr_t>self.hs[k].d1):
                c = <cache *>c0
                while c != NULL:
                    i = (<uintptr_t>c - <uintptr_t>self.caches) // sizeof(cache)
                    owners.setdefault(i, set()).add(k)
                    c = c.next
        return sorted(i for i, hs in owners.items() if len(hs) == 1)

    def enable_coherence(self, uint32_t c2c_size=1 << 14):
        """Keep the hierarchies' private levels coherent (MESI); every hierarchy must be wired."""
        cdef uint32_t k
        cdef cache *c
        cdef uint8_t[::1] view
        if self.coh != NULL:
            return
        for k in range(self.nr_h):
            self.wired(k)
        if c2c_size & (c2c_size - 1) or not c2c_size:
            raise ValueError("the coherence table's size must be a power of two")
        for i in self.private_levels():
            c = &self.caches[i]
            if not cache_coherence_level_ok(c):
                raise ValueError(f"cache {i}: a coherent private level keeps its lines in their ways (LRU/FIFO "
                                 f"up to {CACHE_ORDER_MAX_WAYS} ways) and has no 3C classification")
            c.ghost = <cache_ghost *>self._alloc(<uint64_t>c.sets * c.ways * sizeof(cache_ghost), np.uint8)
        self.coh = <cache_coherence *>self._alloc(sizeof(cache_coherence), np.uint8)
        self._c2c = np.zeros(c2c_size * sizeof(cache_c2c), np.uint8)
        view = self._c2c
        cache_coherence_init(self.coh, self.hs, self.nr_h, <cache_c2c *>&view[0], c2c_size)
        _check_bug()

    def coherence(self, uint32_t hier):
        """A CPU's coherence counters (COHERENCE_STATS), or None without coherence."""
        cdef cache_coh_stats *st = &self.wired(hier).coh_st
        if self.coh == NULL:
            return None
        return dict(zip(COHERENCE_STATS, (st.upgrades, st.invalidations_sent, st.invalidations_received,
                                          st.transfers, st.coherence_misses, st.true_sharing, st.false_sharing),
                        strict=True))

    def c2c(self):
        """(the used entries of the coherence-miss table as a C2C_DTYPE array, misses not recorded)."""
        if self.coh == NULL:
            return np.zeros(0, C2C_DTYPE), 0
        table = self._c2c.view(C2C_DTYPE)
        return table[table["block"] != CACHE_C2C_FREE].copy(), self.coh.c2c_dropped

    # -- latency --------------------------------------------------------------
    def set_hit_latency(self, uint32_t i, uint32_t ps):
        self.level(i).hit_ps = ps

    def set_memory_latency(self, uint32_t hier, list ps):
        """Time this hierarchy's accesses; ps[node] is the memory latency of a node's pages."""
        cdef uint32_t[::1] view
        cdef cache_hierarchy *h = self.wired(hier)
        if not ps:
            raise ValueError("memory latency: one value per node")
        arr = self._alloc_array(len(ps), np.uint32)
        arr[:] = ps
        view = arr
        h.mem_ps = &view[0]
        self._mem_nodes[hier] = len(ps)

    def access_timed(self, uint32_t hier, uint64_t addr, uint32_t size, uint32_t kind, uint32_t node=0,
                     uint64_t tag=0, uint64_t base=0):
        """One timed access: (latency ps, lookups served by each level of the path, then memory)."""
        cdef uint64_t served[CACHE_LAT_SERVED]
        cdef uint32_t depth
        cdef cache_hierarchy *h = self.wired(hier)
        _below("access kind", kind, NR_ACCESS_KINDS)
        if h.mem_ps == NULL:
            raise ValueError("set_memory_latency first")
        _below("memory node", node, self._mem_nodes[hier])
        h.tag, h.tag_base = tag, base
        self.grow_shadows()
        ps = cache_hierarchy_access_timed(h, addr, size, kind, node, served, &depth)
        _check_bug()
        return ps, [served[i] for i in range(depth + 1)]

    def latency(self, uint32_t hier):
        """A hierarchy's timed accesses: count, total ps, lookups served per level of the path then memory
        and their latency (padded to CACHE_CHAIN_MAX + 1), and the histogram by latency bucket."""
        cdef cache_lat_stats *st = &self.wired(hier).lat
        return {"accesses": st.accesses, "total_ps": st.total_ps,
                "served": [st.served[i] for i in range(CACHE_LAT_SERVED)],
                "time_ps": [st.time_ps[i] for i in range(CACHE_LAT_SERVED)],
                "histogram": [st.hist[i] for i in range(CACHE_LAT_BUCKETS)]}

    def page_walks(self, uint32_t hier):
        _below("hierarchy", hier, self.nr_h)
        return self.hs[hier].page_walks


# ---- ftrace import (core/ftrace.h) ----

from cython cimport view
from libc.stdlib cimport free, realloc

FTRACE_MAX_LINE = FT_MAX_LINE
FTRACE_MIGRATE_TYPES = FT_LINUX_MIGRATE_TYPES
FTRACE_MAX_BYTES = FT_MAX_BYTES
FTRACE_MAX_NS = FT_MAX_NS
FTRACE_MAX_ORDER = MAX_PAGE_ORDER
FTRACE_PCPTYPES = MIGRATE_PCPTYPES   # page allocations of a later migratetype are skipped
FTRACE_EVENTS = tuple(ft_event_names[i].decode() for i in range(1, FT_NR_EVENTS))
FTRACE_FIELDS = tuple(ft_field_names[i].decode() for i in range(FT_F_CPU + 1))
FTRACE_SKIPS = tuple(ft_skip_names[i].decode() for i in range(FT_NR_SKIPS))
FTRACE_ERRORS = {FT_ERR_NOT_EVENT: "not_event", FT_ERR_LONG_LINE: "long_line", FT_ERR_MISSING: "missing",
                 FT_ERR_SYNTAX: "syntax", FT_ERR_RANGE: "range", FT_ERR_NUL: "nul", FT_ERR_UTF8: "utf8",
                 FT_ERR_LIMIT: "limit"}


def ftrace_gfp_zone_bits(bytes text):
    """Linux's zone modifier bits (DMA 1, HIGHMEM 2, DMA32 4, MOVABLE 8) of a printed gfp_flags= value."""
    return ft_gfp_zone_bits(text, len(text))


cdef class FtraceParser:
    """The streaming ftrace importer (core/ftrace.h): feed it text, then take the trace's parts.
    Owns the tables' memory, grown when the parser asks: the records, ids and names by realloc
    (no copy and no page touched before the parser writes it, so memory follows what is used),
    the hash indexes as zeroed numpy buffers the parser rebuilds."""

    cdef ft_parser p
    cdef void *_kept[FT_FIRST_REBUILT]
    cdef list _rebuilt

    def __cinit__(self):
        memset(&self.p, 0, sizeof(ft_parser))
        memset(self._kept, 0, sizeof(self._kept))
        self._rebuilt = [None] * (FT_NR_TABLES - FT_FIRST_REBUILT)

    def __dealloc__(self):
        for i in range(FT_FIRST_REBUILT):
            free(self._kept[i])

    cdef _grow(self):
        cdef uint32_t t = self.p.need - 1
        cdef size_t size = self.p.need_bytes
        cdef uint8_t[::1] fresh
        cdef void *mem
        if t < FT_FIRST_REBUILT:
            mem = realloc(self._kept[t], size)
            if mem == NULL:
                raise MemoryError(f"ftrace import: {size:,} bytes for a table")
            self._kept[t] = mem
            ft_adopt(&self.p, t, mem, size)
        else:
            buf = np.zeros(size, np.uint8)
            fresh = buf
            ft_adopt(&self.p, t, &fresh[0], size)
            self._rebuilt[t - FT_FIRST_REBUILT] = buf

    def feed(self, const uint8_t[::1] buf, bint final=False):
        """Parse the complete lines of buf (all of it with final); returns the bytes consumed.
        Stops early at a bad line (see error)."""
        cdef size_t n = buf.shape[0], used = 0, got
        cdef const char *base = <const char *>&buf[0] if n else <const char *>&self.p   # never read when n is 0
        while True:
            with nogil:
                got = ft_feed(&self.p, base + used, n - used, final)
            used += got
            if not self.p.need:
                return used
            self._grow()

    @property
    def lines(self):
        return self.p.line

    @property
    def error(self):
        """(line, kind, event, field) of the first bad line, or None; kind is a FTRACE_ERRORS value."""
        if not self.p.error:
            return None
        event = self._string(&self.p.events, self.p.error_event) if self.p.error_event < self.p.events.nr else ""
        return (self.p.error_line, FTRACE_ERRORS[self.p.error], event, FTRACE_FIELDS[self.p.error_field])

    cdef str _string(self, ft_strtab *t, uint32_t i):
        return (<char *>t.bytes)[t.ent[i].off:t.ent[i].off + t.ent[i].len].decode("utf-8")

    def records(self):
        """The records as an OP_DTYPE array: the parser's buffer, trimmed, handed over (no copy).
        Call once, after the last feed."""
        from kernel_model.trace import OP_DTYPE
        cdef size_t n = self.p.nr_rec * sizeof(mm_op)
        cdef void *mem = realloc(self._kept[0], n if n else 1)
        cdef view.array out
        if mem == NULL:
            raise MemoryError("ftrace import: trimming the records")
        self._kept[0] = NULL
        self.p.rec, self.p.rec_cap, self.p.nr_rec = NULL, 0, 0
        out = view.array(shape=(n if n else 1,), itemsize=1, format="B", allocate_buffer=False)
        out.data = <char *>mem
        out.callback_free_data = free
        return np.asarray(out)[:n].view(OP_DTYPE)

    def sites(self):
        return [self._string(&self.p.sites, i) for i in range(self.p.sites.nr)]

    def events(self):
        """Every event name seen, in order of first appearance, with its count."""
        return {self._string(&self.p.events, i): self.p.events.ent[i].count for i in range(self.p.events.nr)}

    def skipped(self):
        """{reason: count} of what was skipped, in order of first occurrence."""
        return {FTRACE_SKIPS[self.p.skip_order[i]]: self.p.skipped[self.p.skip_order[i]]
                for i in range(self.p.nr_skip_kinds)}

    def before_trace(self):
        """{event: count} of the frees of what was allocated before the trace (records without an id)."""
        return {ft_before_names[i].decode(): self.p.before[i] for i in range(FT_NR_BEFORE) if self.p.before[i]}

    @property
    def nr_ids(self):
        return self.p.next_id

    @property
    def cpus(self):
        return self.p.nr_cpus

    @property
    def live(self):
        return self.p.pages.count + self.p.objs.count
