# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin Cython layer over the C core: owns the memory (numpy buffers), converts arrays.

Everything here is mechanism; argument parsing, names and text formats live in
the Python modules (machine.py, procfs.py, trace.py).
"""
from libc.stdint cimport int32_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memset

import numpy as np

from kernel_model.mm_core cimport *

PAGE_DESCRIPTOR_BYTES = sizeof(page)
OP_RECORD_BYTES = sizeof(mm_op)
NR_OP_CODES = NR_OPS
NR_REPLAY_ERROR_CODES = NR_REPLAY_ERRORS
NR_ZONE_STATS = NR_ZONE_STAT_ITEMS
MAX_NODES = MM_MAX_NODES
MAX_CPUS = MM_MAX_CPUS
NO_PFN = PFN_NONE


cdef class MachineCore:
    """The C machine plus the buffers it lives in: one zone per node."""

    cdef mm_machine *m
    cdef object _buffers
    cdef mm_replay rp
    cdef object _ids
    cdef object _errors

    def __init__(self, list zone_ranges, list cpu_to_node, list zonelists, bint pcp,
                 bint mobility_grouping, uint32_t min_free_kbytes, uint32_t max_errors=1000):
        """zone_ranges: per node, (start_pfn, spanned_pages, [(start, end) usable ...])."""
        cdef uint32_t nr_nodes = len(zone_ranges), nr_cpus = len(cpu_to_node), nid, cpu, i
        cdef uint32_t start, spanned, nblocks
        cdef uint8_t[::1] mbuf, pbuf, bbuf, cbuf
        flags = (MM_PCP if pcp else 0) | (0 if mobility_grouping else MM_NO_MOBILITY_GROUPING)
        self._buffers = []
        mbuf = self._buffer(sizeof(mm_machine))
        self.m = <mm_machine *>&mbuf[0]
        mm_machine_init(self.m, nr_nodes, nr_cpus, flags)
        for cpu in range(nr_cpus):
            self.m.cpu_to_node[cpu] = cpu_to_node[cpu]
        for nid in range(nr_nodes):
            for i in range(nr_nodes):
                self.m.zonelist[nid][i] = zonelists[nid][i]
        for nid in range(nr_nodes):
            start, spanned, usable = zone_ranges[nid]
            nblocks = ((start + spanned + PAGEBLOCK_NR_PAGES - 1) >> PAGEBLOCK_ORDER) - (start >> PAGEBLOCK_ORDER)
            pbuf = self._buffer(max(spanned, 1) * sizeof(page))
            bbuf = self._buffer(max(nblocks, 1))
            cbuf = self._buffer(nr_cpus * sizeof(per_cpu_pages))
            mm_zone_init(self.m, nid, start, spanned, <page *>&pbuf[0], &bbuf[0],
                         <per_cpu_pages *>&cbuf[0])
            for lo, hi in usable:
                mm_zone_free_range(self.m, nid, lo, hi)
        mm_setup_watermarks(self.m, min_free_kbytes)
        mm_setup_pcp(self.m)
        memset(&self.rp, 0, sizeof(mm_replay))
        self._ids = self._buffer(0)
        self._errors = np.zeros(max(max_errors, 1) * sizeof(mm_replay_error_rec), np.uint8)
        self.rp.max_errors = max_errors
        self.rp.errors = <mm_replay_error_rec *>self._address(self._errors)

    def _buffer(self, size_t nbytes):
        # np.zeros is calloc: untouched page descriptors cost no host memory.
        buf = np.zeros(max(nbytes, 1), np.uint8)
        self._buffers.append(buf)
        return buf

    cdef uint8_t *_address(self, buf):
        cdef uint8_t[::1] view = buf
        return &view[0]

    # -- allocator ----------------------------------------------------------
    def alloc_pages(self, uint32_t order, uint32_t migratetype, uint32_t cpu, int32_t nid):
        cdef uint32_t pfn = mm_alloc_pages(self.m, order, migratetype, cpu, nid)
        return None if pfn == PFN_NONE else pfn

    def free_pages(self, uint32_t pfn, uint32_t order, uint32_t cpu):
        """Returns 0, or the core's error code (1 bad pfn, 2 not allocated, 3 wrong order)."""
        return mm_free_pages(self.m, pfn, order, cpu)

    def drain_all_pages(self):
        mm_drain_all_pages(self.m)

    def pfn_to_nid(self, uint32_t pfn):
        return mm_pfn_to_nid(self.m, pfn)

    def watermark_ok(self, uint32_t nid, uint32_t order, uint32_t mark):
        return bool(mm_zone_watermark_ok(&self.m.zones[nid], order, mark))

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

    def nr_free(self):
        """Free blocks in the buddy lists as uint64 [node, migratetype, order]."""
        out = np.zeros((self.m.nr_nodes, MIGRATE_TYPES, NR_PAGE_ORDERS), np.uint64)
        cdef uint64_t[:, :, ::1] v = out
        cdef uint32_t nid, t, o
        for nid in range(self.m.nr_nodes):
            for t in range(MIGRATE_TYPES):
                for o in range(NR_PAGE_ORDERS):
                    v[nid, t, o] = self.m.zones[nid].free_area[o].nr_free_mt[t]
        return out

    def zone(self, uint32_t nid):
        """A dict of one zone's sizes, watermarks, counters and pcp state."""
        cdef zone *z = &self.m.zones[nid]
        cdef uint32_t cpu
        return {
            "node": z.node,
            "start_pfn": z.zone_start_pfn,
            "spanned": z.spanned_pages,
            "present": z.present_pages,
            "managed": z.managed_pages,
            "nr_free_pages": z.nr_free_pages,
            "min": z.watermark[0],
            "low": z.watermark[1],
            "high": z.watermark[2],
            "stat": [z.stat[i] for i in range(NR_ZONE_STAT_ITEMS)],
            "pcp": [(z.pcp[cpu].count, z.pcp[cpu].high, z.pcp[cpu].batch)
                    for cpu in range(self.m.nr_cpus)],
        }

    def pageblock_migratetypes(self, uint32_t nid):
        """Migratetype of every pageblock of the zone, as uint8."""
        cdef zone *z = &self.m.zones[nid]
        cdef uint32_t n = (((z.zone_start_pfn + z.spanned_pages + PAGEBLOCK_NR_PAGES - 1) >> PAGEBLOCK_ORDER)
                           - (z.zone_start_pfn >> PAGEBLOCK_ORDER))
        return np.asarray(<uint8_t[:n]>z.pageblock_mt).copy() if n else np.zeros(0, np.uint8)

    def free_lists(self, uint32_t nid):
        """Every buddy free list in list order: {(order, migratetype): [pfn, ...]}."""
        cdef zone *z = &self.m.zones[nid]
        cdef uint32_t o, t, pfn
        out = {}
        for o in range(NR_PAGE_ORDERS):
            for t in range(MIGRATE_TYPES):
                pfns = []
                pfn = z.free_area[o].free_list[t].head
                while pfn != PFN_NONE:
                    pfns.append(pfn)
                    pfn = z.pages[pfn - z.zone_start_pfn].next
                out[(o, t)] = pfns
        return out

    def pcp_lists(self, uint32_t nid, uint32_t cpu):
        """One CPU's pcp lists for a zone, in list order: {(order, migratetype): [pfn, ...]}."""
        cdef zone *z = &self.m.zones[nid]
        cdef uint32_t i, pfn
        out = {}
        for i in range(NR_PCP_LISTS):
            pfns = []
            pfn = z.pcp[cpu].lists[i].head
            while pfn != PFN_NONE:
                pfns.append(pfn)
                pfn = z.pages[pfn - z.zone_start_pfn].next
            out[(i // MIGRATE_PCPTYPES, i % MIGRATE_PCPTYPES)] = pfns
        return out

    # -- replay -------------------------------------------------------------
    def replay(self, const uint8_t[::1] raw, uint64_t nrec, uint32_t nr_ids, results=None):
        """Replay nrec 24-byte records (raw bytes); ids persist across calls."""
        cdef uint64_t[::1] res
        if nr_ids > self.rp.nr_ids:
            grown = np.zeros(nr_ids * sizeof(mm_id), np.uint8)
            grown[:self._ids.size] = self._ids
            self._ids = grown
            self.rp.nr_ids = nr_ids
        self.rp.ids = <mm_id *>self._address(self._ids)
        self.rp.results = NULL
        if results is not None:
            res = results
            self.rp.results = &res[0] if nrec else NULL
        if nrec:
            with nogil:
                mm_replay_run(self.m, &self.rp, <const mm_op *>&raw[0], self.rp.nr_records, nrec)
        self.rp.results = NULL

    def replay_state(self):
        """Counters and logged errors of everything replayed so far."""
        cdef uint64_t i
        errors = [(self.rp.errors[i].record, self.rp.errors[i].code, self.rp.errors[i].id)
                  for i in range(self.rp.nr_logged)]
        return {
            "records": self.rp.nr_records,
            "op_count": [self.rp.op_count[i] for i in range(NR_OPS)],
            "error_count": [self.rp.error_count[i] for i in range(NR_REPLAY_ERRORS)],
            "errors": errors,
            "alloc_failed": self.rp.alloc_failed,
            "free_skipped": self.rp.free_skipped,
        }


def extfrag_index(const uint64_t[::1] nr_free, uint32_t order):
    return mm_extfrag_index(&nr_free[0], order)


def unusable_free_index(const uint64_t[::1] nr_free, uint32_t order):
    return mm_unusable_free_index(&nr_free[0], order)
