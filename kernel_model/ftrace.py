"""Import a Linux ftrace text capture of kmem:* events (/sys/kernel/tracing/trace) as an op stream.

The file (plain or .xz) is read in 1 MiB chunks and parsed in C (core/ftrace.c), so
memory stays bounded whatever the capture's length, beyond the records themselves.
Lines become records as Linux 6.1 writes them:
  mm_page_alloc     pfn= order= migratetype= gfp_flags=   -> PAGE_ALLOC (site: the gfp flags)
  mm_page_free      pfn=                                  -> PAGE_FREE (the allocation's order)
  kmalloc           call_site= ptr= bytes_req= node=      -> KMALLOC (site: the call site's function)
  kfree             call_site= ptr=                       -> KFREE
  kmem_cache_alloc  call_site= ptr= bytes_req= bytes_alloc= node=
                                                          -> CACHE_ALLOC into a kmem_cache per
                                                             (bytes_req, bytes_alloc), named by the
                                                             name= its frees carry
  kmem_cache_free   call_site= ptr= name=                 -> CACHE_FREE
and the timestamps advance simulated time (TIME records, nanoseconds). Frees of what was
allocated before tracing began, kfree(NULL), failed allocations, highatomic/CMA page
allocations and every other event (pcp drains, compaction, vmscan...) are skipped and
counted. The model places everything itself: the trace says what was asked, not where.

docs/trace-format.md ("Importing Linux ftrace text") has the line grammar and the checks;
kernel_model/reference/ftrace.py is the same importer in pure Python.
"""

from __future__ import annotations

import contextlib
import lzma
import os
from collections.abc import Callable

from kernel_model._core import (
    FTRACE_EVENTS,
    FTRACE_MAX_BYTES,
    FTRACE_MAX_LINE,
    FTRACE_MAX_NS,
    FTRACE_MAX_ORDER,
    FTRACE_MIGRATE_TYPES,
    MAX_CPUS,
    MAX_NODES,
    FtraceParser,
)
from kernel_model.trace import Trace

CHUNK = 1 << 20
HANDLED = frozenset(FTRACE_EVENTS)
MAX_LINE = FTRACE_MAX_LINE

_RANGES = {
    "order": f"0..{FTRACE_MAX_ORDER}",
    "migratetype": f"0..{FTRACE_MIGRATE_TYPES - 1}",
    "node": f"-1..{MAX_NODES - 1}",
    "bytes_req": f"0..{FTRACE_MAX_BYTES}",
    "bytes_alloc": f"0..{FTRACE_MAX_BYTES}",
    "ptr": "64 bits",
    "pfn": "64 bits",
    "timestamp": f"at most {FTRACE_MAX_NS // 10**9} s",
    "CPU": f"memsim models CPUs 0..{MAX_CPUS - 1}",
}


class FtraceFormatError(ValueError):
    """A capture that cannot be imported; the message names the file and line."""


def describe(kind: str, event: str = "", field: str = "") -> str:
    """The error text for a bad line (without the file:line prefix). Never quotes the line:
    a capture's bytes are not echoed to the terminal."""
    name = field if field in ("timestamp", "CPU") else f"{field}="
    if kind == "not_event":
        return "not an ftrace event line (expected TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: FIELDS)"
    if kind == "long_line":
        return f"line longer than {MAX_LINE} bytes"
    if kind == "limit":
        return "more live objects or names than a memsim trace can number"
    if kind == "missing":
        return f"{event} line without {name}"
    base = "hexadecimal" if field in ("ptr", "pfn") else "decimal"
    what = {"syntax": f"is not a {base} number", "range": f"out of range ({_RANGES.get(field, '')})",
            "nul": "contains a NUL byte", "utf8": "is not UTF-8"}[kind]
    return f"{event} line: {name} {what}"


def import_ftrace(path: str | os.PathLike,
                  progress: Callable[[int, int], None] | None = None) -> tuple[Trace, dict]:
    """Read an ftrace text file (.txt or .txt.xz): the op stream and what was skipped.
    progress, if given, is called after each chunk with (bytes read, file size) of the
    file on disk (not for a pipe). A bad line raises FtraceFormatError naming the file and line."""
    path = os.fspath(path)
    parser = FtraceParser()
    try:
        with open(path, "rb") as raw, \
                (lzma.LZMAFile(raw) if path.endswith(".xz") else contextlib.nullcontext(raw)) as src:
            size = os.fstat(raw.fileno()).st_size
            carry = b""
            while True:
                data = src.read(CHUNK)
                buf = carry + data if carry else data
                used = parser.feed(buf, not data)
                if parser.error:
                    line, kind, event, field = parser.error
                    raise FtraceFormatError(f"{path}:{line}: {describe(kind, event, field)}")
                carry = buf[used:]
                if progress and size:   # a pipe has no size to show progress against
                    progress(raw.tell(), size)
                if not data:
                    break
    except MemoryError:
        raise FtraceFormatError(f"{path}:{parser.lines + 1}: not enough memory to import the capture") from None
    except OSError as e:
        raise FtraceFormatError(f"{path}: {e.strerror or e}") from None
    except (EOFError, lzma.LZMAError) as e:
        raise FtraceFormatError(f"{path}: not a readable .xz file ({e})") from None
    records = parser.records()
    info = {"events": parser.events(), "records": len(records), "skipped": parser.skipped(),
            "cpus": parser.cpus, "live_at_end": parser.live}
    return Trace(records, parser.sites(), nr_ids=parser.nr_ids), info
