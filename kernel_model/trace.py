"""The op-stream trace format (docs/trace-format.md): numpy dtype, op codes, save and load.

A trace file is a 64-byte header, the 24-byte records, and a string table of
call-site names. Records are identical on the host and in the guest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from kernel_model._core import (
    ACCESS_RAW,  # LOAD/STORE/MODIFY flags: arg1 is an address, not an offset into object `id`
    NO_ID,
    NO_NODE,
    OP_DTYPE,
    TRACE_HEADER_BYTES,
    TRACE_HEADER_DTYPE,
    TRACE_MAGIC,
    TRACE_VERSION,
    Op,
)

MAGIC = TRACE_MAGIC
VERSION = TRACE_VERSION
HEADER = TRACE_HEADER_DTYPE   # the header as numpy sees it (struct mm_trace_header)
HEADER_SIZE = TRACE_HEADER_BYTES


class TraceFormatError(ValueError):
    """A trace file that cannot be read; the message names the file and what is wrong."""


@dataclass
class Trace:
    """Records plus the call-site string table; nr_ids bounds the trace-level object ids."""

    records: np.ndarray
    sites: list[str] = field(default_factory=lambda: [""])
    nr_ids: int | None = None

    def __post_init__(self) -> None:
        if self.records.dtype != OP_DTYPE:
            raise TypeError("Trace.records must have dtype kernel_model.trace.OP_DTYPE")
        if self.nr_ids is None:
            self.nr_ids = infer_nr_ids(self.records)

    def __len__(self) -> int:
        return len(self.records)


def empty(n: int) -> np.ndarray:
    """A zeroed record array of n records."""
    return np.zeros(n, OP_DTYPE)


def infer_nr_ids(records: np.ndarray) -> int:
    ids = records["id"]
    ids = ids[ids != NO_ID]
    return int(ids.max()) + 1 if len(ids) else 0


def reuse_ids(trace: Trace) -> Trace:
    """The same trace with object ids reused after their frees (nr_ids = the most objects live at
    once), as ids come from a kernel's addresses. Use for traces of object allocations and frees
    only (kmem_cache ids and references keep no meaning across the renumbering)."""
    from kernel_model._core import reuse_ids as _reuse

    if np.isin(trace.records["op"], (Op.CACHE_CREATE, Op.REF_SET, Op.ROOT_ADD)).any():
        raise ValueError("reuse_ids: the trace names ids in other fields (kmem_caches, references)")
    rec = trace.records.copy()
    ids = np.ascontiguousarray(rec["id"])
    nr_ids = _reuse(ids, np.ascontiguousarray(rec["op"]), trace.nr_ids or infer_nr_ids(rec))
    rec["id"] = ids
    return Trace(rec, trace.sites, nr_ids)


def phases(trace: Trace) -> list[dict]:
    """The PHASE markers of a trace: record index, phase number (arg0) and name (its site)."""
    r = trace.records
    marks = np.flatnonzero(r["op"] == Op.PHASE)
    return [{"record": int(i), "number": int(r["arg0"][i]), "name": site_name(trace, int(r["site"][i]))}
            for i in marks]


def site_name(trace: Trace, site: int) -> str:
    """A call site's string, or its number when the table has no such entry."""
    return trace.sites[site] if site < len(trace.sites) else str(site)


def save(path: str | os.PathLike, trace: Trace) -> None:
    """Write a trace file (little-endian, version VERSION)."""
    records = np.ascontiguousarray(trace.records, dtype=OP_DTYPE)
    strtab = b"".join(s.encode("utf-8") + b"\0" for s in trace.sites)
    header = np.zeros((), HEADER)
    header["magic"], header["version"], header["header_size"] = MAGIC, VERSION, HEADER_SIZE
    header["record_size"], header["nr_records"] = OP_DTYPE.itemsize, len(records)
    header["nr_ids"], header["nr_sites"] = trace.nr_ids or 0, len(trace.sites)
    header["strtab_offset"], header["strtab_size"] = HEADER_SIZE + records.nbytes, len(strtab)
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(records.tobytes())
        f.write(strtab)


def load(path: str | os.PathLike, mmap: bool = False) -> Trace:
    """Read a trace file; with mmap=True the records stay on disk (read-only memmap)."""
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            raw = f.read(HEADER_SIZE)
            if len(raw) < HEADER_SIZE:
                raise TraceFormatError(f"{path}: truncated header ({len(raw)} of {HEADER_SIZE} bytes)")
            h = np.frombuffer(raw, HEADER)[0]
            magic = bytes(h["magic"])
            version, header_size, record_size, nr_records, nr_ids, nr_sites, strtab_offset, strtab_size = (
                int(h[k]) for k in ("version", "header_size", "record_size", "nr_records", "nr_ids", "nr_sites",
                                    "strtab_offset", "strtab_size"))
            if magic != MAGIC:
                raise TraceFormatError(f"{path}: not a memsim trace (bad magic {magic!r})")
            if version != VERSION:
                raise TraceFormatError(f"{path}: trace format version {version}, this memsim reads {VERSION}")
            if header_size != HEADER_SIZE or record_size != OP_DTYPE.itemsize:
                raise TraceFormatError(f"{path}: header size {header_size} / record size {record_size} "
                                       f"do not match version {VERSION} ({HEADER_SIZE} / {OP_DTYPE.itemsize})")
            end = HEADER_SIZE + nr_records * record_size
            if strtab_offset != end or strtab_offset + strtab_size != size:
                raise TraceFormatError(f"{path}: truncated or inconsistent: header promises {nr_records} records "
                                       f"and a {strtab_size}-byte string table, file has {size} bytes")
            f.seek(strtab_offset)
            strtab = f.read(strtab_size)
        if mmap:
            records = np.memmap(path, OP_DTYPE, "r", HEADER_SIZE, (nr_records,))
        else:
            records = np.fromfile(path, OP_DTYPE, nr_records, offset=HEADER_SIZE)
    except OSError as e:
        raise TraceFormatError(f"{path}: {e.strerror or e}") from None
    if strtab and not strtab.endswith(b"\0"):
        raise TraceFormatError(f"{path}: string table is not NUL-terminated")
    try:
        sites = strtab.decode("utf-8").split("\0")[:-1] if strtab else []
    except UnicodeDecodeError as e:
        raise TraceFormatError(f"{path}: string table byte {e.start} is not UTF-8") from None
    if len(sites) != nr_sites:
        raise TraceFormatError(f"{path}: header says {nr_sites} call sites, string table holds {len(sites)}")
    return Trace(records, sites, nr_ids)


__all__ = ["ACCESS_RAW", "HEADER", "HEADER_SIZE", "MAGIC", "NO_ID", "NO_NODE", "OP_DTYPE", "VERSION", "Op", "Trace",
           "TraceFormatError", "empty", "infer_nr_ids", "load", "phases", "reuse_ids", "save", "site_name"]
