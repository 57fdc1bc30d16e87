"""Import a Linux ftrace text capture of kmem:* events (/sys/kernel/tracing/trace) as an op stream.

Lines become records as Linux 6.1 writes them:
  mm_page_alloc     page= pfn= order= migratetype= gfp_flags=     -> PAGE_ALLOC (site: the gfp flags)
  mm_page_free      page= pfn= order=                             -> PAGE_FREE
  kmalloc           call_site= ptr= bytes_req= ... node=          -> KMALLOC (site: the call site's function)
  kfree             call_site= ptr=                               -> KFREE
  kmem_cache_alloc  call_site= ptr= bytes_req= bytes_alloc= ...   -> CACHE_ALLOC into a kmem_cache per
                                                                     (bytes_req, bytes_alloc), named by the
                                                                     name= its frees carry
  kmem_cache_free   call_site= ptr= name=                         -> CACHE_FREE
and the timestamps advance simulated time (TIME records, nanoseconds). Frees of what was
allocated before tracing began, kfree(NULL), failed allocations, highatomic/CMA page
allocations and every other event (pcp drains, compaction, vmscan...) are skipped and
counted. The model places everything itself: the trace says what was asked, not where.
"""

from __future__ import annotations

import lzma
import os
import re
from collections import Counter
from dataclasses import dataclass, field

from kernel_model.trace import NO_ID, NO_NODE, Op, Trace, empty

LINE = re.compile(r"^\s*(?P<task>.+?)\s+\[(?P<cpu>\d+)\]\s+\S*\s*(?P<ts>\d+\.\d+):\s+(?P<event>\w+):\s?(?P<body>.*)$")
FIELD = re.compile(r"(\w+)=(\S+)")
HANDLED = {"mm_page_alloc", "mm_page_free", "kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free"}


class FtraceFormatError(ValueError):
    """A line that is not ftrace text; the message names the file and line."""


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


def _function(call_site: str) -> str:
    return call_site.split("+", 1)[0]


def _event(b: _Builder, event: str, cpu: int, f: dict[str, str]) -> None:
    if event == "mm_page_alloc":
        mt, pfn = int(f["migratetype"]), int(f["pfn"], 16)
        if mt > 2 or pfn == 0:
            b.skipped["page alloc (highatomic/CMA or failed)"] += 1
            return
        id_ = b.new_id()
        b.live[("page", pfn)] = (id_, int(f["order"]))
        b.emit(Op.PAGE_ALLOC, cpu, b.site(f.get("gfp_flags", "")), id_, int(f["order"]), NO_NODE, mt)
    elif event == "mm_page_free":
        got = b.take("page", int(f["pfn"], 16))
        if got is None:
            b.skipped["page free of a page allocated before the trace"] += 1
            return
        b.emit(Op.PAGE_FREE, cpu, 0, got[0], got[1])
    elif event in ("kmalloc", "kmem_cache_alloc"):
        ptr = int(f["ptr"], 16)
        if ptr == 0:
            b.skipped[f"{event} that failed"] += 1
            return
        node = int(f.get("node", "-1"))
        id_, site = b.new_id(), b.site(_function(f["call_site"]))
        if event == "kmalloc":
            b.live[("obj", ptr)] = (id_, -1)
            b.emit(Op.KMALLOC, cpu, site, id_, int(f["bytes_req"]), NO_NODE if node < 0 else node)
            return
        key = (int(f["bytes_req"]), int(f["bytes_alloc"]))
        if key not in b.caches:
            placeholder = f"kmem_cache-{key[0]}/{key[1]}"
            b.caches[key] = b.new_id()
            b.unnamed[b.caches[key]] = placeholder
            b.emit(Op.CACHE_CREATE, cpu, b.site(placeholder), b.caches[key], key[1], 8)
        b.live[("obj", ptr)] = (id_, b.caches[key])
        b.emit(Op.CACHE_ALLOC, cpu, site, id_, 0, b.caches[key])
    else:   # kfree, kmem_cache_free
        ptr = int(f["ptr"], 16)
        got = b.take("obj", ptr) if ptr else None
        if got is None:
            b.skipped["kfree(NULL)" if not ptr else f"{event} of an object allocated before the trace"] += 1
            return
        id_, cache = got
        if cache < 0:
            b.emit(Op.KFREE, cpu, b.site(_function(f["call_site"])), id_)
            return
        name = f.get("name")
        if name and cache in b.unnamed and name not in b.sites:   # the cache's real name, from a free
            b.sites[name] = b.sites.pop(b.unnamed.pop(cache))
        b.emit(Op.CACHE_FREE, cpu, b.site(_function(f["call_site"])), id_, 0, cache)


def _open(path: str | os.PathLike):
    path = os.fspath(path)
    return lzma.open(path, "rt", errors="replace") if path.endswith(".xz") else open(path, errors="replace")


def import_ftrace(path: str | os.PathLike) -> tuple[Trace, dict]:
    """Read an ftrace text file (.txt or .txt.xz): the op stream and what was skipped.
    A line that is not ftrace output raises FtraceFormatError naming the file and line."""
    b = _Builder()
    events: Counter = Counter()
    try:
        with _open(path) as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip() or line.startswith("#"):
                    continue
                m = LINE.match(line)
                if not m:
                    raise FtraceFormatError(f"{path}:{lineno}: not an ftrace event line: {line.strip()[:80]!r}")
                event = m["event"]
                events[event] += 1
                if event not in HANDLED:
                    continue
                ns = round(float(m["ts"]) * 1e9)
                cpu = int(m["cpu"])
                if b.last_ns is not None and ns > b.last_ns:
                    b.emit(Op.TIME, cpu, arg1=ns - b.last_ns)
                b.last_ns = ns if b.last_ns is None else max(ns, b.last_ns)
                try:
                    _event(b, event, cpu, dict(FIELD.findall(m["body"])))
                except (KeyError, ValueError) as e:
                    raise FtraceFormatError(f"{path}:{lineno}: {event} line without a valid {e}") from None
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
