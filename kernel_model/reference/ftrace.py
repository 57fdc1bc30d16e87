"""Reference ftrace importer in pure Python: the regex importer memsim shipped before the C one
(kernel_model/ftrace.py, core/ftrace.c), with its inputs hardened. Same records, string table,
ids, summary and errors; slow (~0.2 M lines/s) and simple, used to check the C importer.

The hardening: lines are bytes, split at "\\n" only, at most MAX_LINE long; the regexes are
linear (possessive quantifiers, no nested backtracking); every field is checked where it is
used, against the ranges of kernel_model.ftrace; names must be UTF-8 without NUL; timestamps
are exact decimals rounded to the nanosecond (the float of before agreed on every capture
with microsecond timestamps).
"""

from __future__ import annotations

import lzma
import os
import re
from collections import Counter
from dataclasses import dataclass, field

from kernel_model._core import (
    FTRACE_MAX_BYTES,
    FTRACE_MAX_NS,
    FTRACE_MAX_ORDER,
    FTRACE_MIGRATE_TYPES,
    FTRACE_PCPTYPES,
    MAX_CPUS,
    MAX_NODES,
)
from kernel_model.ftrace import MAX_LINE, FtraceFormatError, describe
from kernel_model.trace import NO_ID, NO_NODE, Op, Trace, empty

# TASK (from the first non-blank to a non-blank), " [CPU] ", optional FLAGS, "SECONDS.FRACTION: EVENT:"
LINE = re.compile(rb"\s*+\S(?:.*?\S)??\s++\[(\d++)\]\s++(?:(\d++\.\d++):|\S++\s++(\d++\.\d++):)\s++(\w++):\s?(.*)",
                  re.DOTALL)
FIELD = re.compile(rb"(?<!\w)(\w++)=(\S++)")
HEX = re.compile(rb"(?:0[xX](?=.))?([0-9a-fA-F]+)", re.DOTALL)
DEC = re.compile(rb"-?([0-9]+)")
HANDLED = {"mm_page_alloc", "mm_page_free", "kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free"}


class _Bad(Exception):
    """A bad field: (kind, field) for describe()."""


@dataclass
class _Builder:
    rows: list[tuple[int, int, int, int, int, int, int]] = field(default_factory=list)
    sites: dict[str, int] = field(default_factory=lambda: {"": 0})
    live: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)   # (kind, pfn/ptr) -> (id, x)
    free_ids: list[int] = field(default_factory=list)
    next_id: int = 0
    caches: dict[tuple[int, int], int] = field(default_factory=dict)    # (bytes_req, bytes_alloc) -> cache id
    unnamed: dict[int, str] = field(default_factory=dict)               # cache id -> placeholder, until a free names it
    skipped: Counter = field(default_factory=Counter)
    last_ns: int | None = None

    def site(self, name: str) -> int:
        return self.sites.setdefault(name, len(self.sites))

    def new_id(self) -> int:
        if self.free_ids:
            return self.free_ids.pop()
        self.next_id += 1
        return self.next_id - 1

    def emit(self, op: Op, cpu: int, site: int = 0, id_: int = NO_ID, arg0: int = 0, arg1: int = 0,
             flags: int = 0) -> None:
        self.rows.append((int(op), flags, cpu, site, id_, arg0, arg1))

    def take(self, kind: str, key: int) -> tuple[int, int] | None:
        got = self.live.pop((kind, key), None)
        if got is not None:
            self.free_ids.append(got[0])
        return got


def _hex(f: dict[bytes, bytes], key: str) -> int:
    value = f.get(key.encode())
    if value is None:
        raise _Bad("missing", key)
    m = HEX.fullmatch(value)
    if not m:
        raise _Bad("syntax", key)
    if len(m[1].lstrip(b"0")) > 16:
        raise _Bad("range", key)
    return int(m[1], 16)


def _dec(f: dict[bytes, bytes], key: str, lo: int, hi: int, default: int | None = None) -> int:
    value = f.get(key.encode())
    if value is None:
        if default is not None:
            return default
        raise _Bad("missing", key)
    m = DEC.fullmatch(value)
    if not m:
        raise _Bad("syntax", key)
    digits = m[1].lstrip(b"0")   # leading zeros are fine, however many (int() refuses > 4300 digits)
    number = -int(digits or b"0") if value.startswith(b"-") else int(digits or b"0")
    if len(digits) > 12 or not lo <= number <= hi:
        raise _Bad("range", key)
    return number


def _text(value: bytes, key: str) -> str:
    if b"\0" in value:
        raise _Bad("nul", key)
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise _Bad("utf8", key) from None


def _function(f: dict[bytes, bytes]) -> str:
    if b"call_site" not in f:
        raise _Bad("missing", "call_site")
    return _text(f[b"call_site"].split(b"+", 1)[0], "call_site")


def _event(b: _Builder, event: str, cpu: int, f: dict[bytes, bytes]) -> None:
    if event == "mm_page_alloc":
        mt, pfn = _dec(f, "migratetype", 0, FTRACE_MIGRATE_TYPES - 1), _hex(f, "pfn")
        if mt >= FTRACE_PCPTYPES or pfn == 0:
            b.skipped["page alloc (highatomic/CMA or failed)"] += 1
            return
        order, gfp = _dec(f, "order", 0, FTRACE_MAX_ORDER), _text(f.get(b"gfp_flags", b""), "gfp_flags")
        id_ = b.new_id()
        b.live[("page", pfn)] = (id_, order)
        b.emit(Op.PAGE_ALLOC, cpu, b.site(gfp), id_, order, NO_NODE, mt)
    elif event == "mm_page_free":
        got = b.take("page", _hex(f, "pfn"))
        if got is None:
            b.skipped["page free of a page allocated before the trace"] += 1
            return
        b.emit(Op.PAGE_FREE, cpu, 0, got[0], got[1])
    elif event in ("kmalloc", "kmem_cache_alloc"):
        ptr = _hex(f, "ptr")
        if ptr == 0:
            b.skipped[f"{event} that failed"] += 1
            return
        node = _dec(f, "node", -1, MAX_NODES - 1, default=-1)
        site = b.site(_function(f))
        size = _dec(f, "bytes_req", 0, FTRACE_MAX_BYTES)
        if event == "kmalloc":
            id_ = b.new_id()
            b.live[("obj", ptr)] = (id_, -1)
            b.emit(Op.KMALLOC, cpu, site, id_, size, NO_NODE if node < 0 else node)
            return
        key = (size, _dec(f, "bytes_alloc", 0, FTRACE_MAX_BYTES))
        id_ = b.new_id()
        if key not in b.caches:
            placeholder = f"kmem_cache-{key[0]}/{key[1]}"
            b.caches[key] = b.new_id()
            b.unnamed[b.caches[key]] = placeholder
            b.emit(Op.CACHE_CREATE, cpu, b.site(placeholder), b.caches[key], key[1], 8)
        b.live[("obj", ptr)] = (id_, b.caches[key])
        b.emit(Op.CACHE_ALLOC, cpu, site, id_, 0, b.caches[key])
    else:   # kfree, kmem_cache_free
        ptr = _hex(f, "ptr")
        got = b.take("obj", ptr) if ptr else None
        if got is None:
            b.skipped["kfree(NULL)" if not ptr else f"{event} of an object allocated before the trace"] += 1
            return
        id_, cache = got
        if cache < 0:
            b.emit(Op.KFREE, cpu, b.site(_function(f)), id_)
            return
        if b"name" in f and cache in b.unnamed:
            name = _text(f[b"name"], "name")
            if name not in b.sites:   # the cache's real name, from a free
                b.sites[name] = b.sites.pop(b.unnamed.pop(cache))
        b.emit(Op.CACHE_FREE, cpu, b.site(_function(f)), id_, 0, cache)


def _ns(ts: bytes) -> int | None:
    """SECONDS.FRACTION in nanoseconds, rounded half to even; None when out of range."""
    sec, frac = ts.split(b".")
    if len(sec.lstrip(b"0")) > 10:
        return None
    frac = frac[:10] + (b"1" if frac[10:].strip(b"0") else b"")   # past the 10th digit only "nonzero" matters
    scale = 10 ** len(frac)
    ns, rest = divmod(int((sec.lstrip(b"0") or b"0") + frac) * 10**9, scale)
    if 2 * rest > scale or (2 * rest == scale and ns & 1):
        ns += 1
    return ns if ns <= FTRACE_MAX_NS else None


def _lines(path: str):
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rb") as f:
        lineno = 0
        while True:
            line = f.readline(MAX_LINE + 2)
            if not line:
                return
            lineno += 1
            body = line[:-1] if line.endswith(b"\n") else line
            if len(body) > MAX_LINE:
                raise FtraceFormatError(f"{path}:{lineno}: {describe('long_line')}")
            yield lineno, body


def import_ftrace(path: str | os.PathLike) -> tuple[Trace, dict]:
    """Read an ftrace text file (.txt or .txt.xz): the op stream and what was skipped.
    A bad line raises FtraceFormatError naming the file and line."""
    path = os.fspath(path)
    b = _Builder()
    events: Counter = Counter()
    try:
        for lineno, line in _lines(path):
            if not line.strip() or line.startswith(b"#"):
                continue
            m = LINE.fullmatch(line)
            if not m:
                raise FtraceFormatError(f"{path}:{lineno}: {describe('not_event')}")
            cpu_text, ts, event, body = m[1], m[2] or m[3], m[4].decode(), m[5]
            events[event] += 1
            if event not in HANDLED:
                continue
            try:
                ns = _ns(ts)
                if ns is None:
                    raise _Bad("range", "timestamp")
                cpu = int(cpu_text.lstrip(b"0")[:6] or b"0")   # 6 digits are beyond MAX_CPUS already
                if cpu >= MAX_CPUS:
                    raise _Bad("range", "CPU")
                if b.last_ns is not None and ns > b.last_ns:
                    b.emit(Op.TIME, cpu, arg1=ns - b.last_ns)
                b.last_ns = ns if b.last_ns is None else max(ns, b.last_ns)
                _event(b, event, cpu, dict(FIELD.findall(body)))
            except _Bad as e:
                raise FtraceFormatError(f"{path}:{lineno}: {describe(e.args[0], event, e.args[1])}") from None
    except OSError as e:
        raise FtraceFormatError(f"{path}: {e.strerror or e}") from None
    except (EOFError, lzma.LZMAError) as e:
        raise FtraceFormatError(f"{path}: not a readable .xz file ({e})") from None
    rec = empty(len(b.rows))
    if b.rows:
        for name, col in zip(rec.dtype.names, zip(*b.rows, strict=True), strict=True):
            rec[name] = col
    sites = sorted(b.sites, key=b.sites.get)
    info = {"events": dict(events), "records": len(rec), "skipped": dict(b.skipped),
            "cpus": int(rec["cpu"].max()) + 1 if len(rec) else 0, "live_at_end": len(b.live)}
    return Trace(rec, sites, nr_ids=b.next_id), info
