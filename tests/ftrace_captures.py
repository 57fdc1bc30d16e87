"""Hypothesis strategies for ftrace captures, and the C importer checked against the reference."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from kernel_model.ftrace import FtraceFormatError
from kernel_model.ftrace import import_ftrace as import_c
from kernel_model.reference.ftrace import import_ftrace as import_ref

PTRS = [0, 0xFFFF888004A00000, 0xFFFF888004A00040, 0xFFFF888005668130, 0xFFFF88801F5DDAC0, 0x10]
PFNS = [0, 0x9B94, 0x9B96, 0x1234, 0x40000]
CALL_SITES = ["seq_open+0x2f/0x90", "vm_area_dup+0x21/0x90", "remove_vma+0x4a/0x60", "kfree_rcu_work",
              "+0x1/0x2", "dup_fd+0x2a/0x300", "ext4_alloc_inode+0x1a/0x1b0 [ext4]", "caché_fn+0x1/0x2"]
CACHE_NAMES = ["vm_area_struct", "anon_vma", "dentry", "seq_open", "kmem_cache-152/152", "ínode_cache"]
SIZES = [(152, 152), (64, 64), (184, 192), (0, 0), (4096, 4096)]
GFP = ["GFP_KERNEL", "GFP_HIGHUSER_MOVABLE|__GFP_COMP", "GFP_ATOMIC|__GFP_NOWARN", "GFP_KERNEL|__GFP_ZERO"]
OTHER_EVENTS = ["mm_page_pcpu_drain", "mm_page_alloc_zone_locked", "mm_page_free_batched", "sched_switch",
                "mm_compaction_kcompactd_sleep", "kmalloc_node"]
TASKS = ["sh-12", "<idle>-0", "kworker/0:1-33", "Web Content-1234", "a [1] b-7", "(sd-pam)-99", "x"]


@st.composite
def body(draw, event: str) -> bytes:
    ptr = f"ptr={draw(st.sampled_from(PTRS)):016x}"
    site = f"call_site={draw(st.sampled_from(CALL_SITES))}"
    pfn = draw(st.sampled_from(PFNS))
    page = f"page=ffffea{pfn:010x} pfn=0x{pfn:x}"
    if event in ("kmalloc", "kmem_cache_alloc"):
        req, alloc = draw(st.sampled_from(SIZES))
        node = draw(st.sampled_from([-1, -1, 0, 1]))
        fields = [site, ptr, f"bytes_req={req}", f"bytes_alloc={alloc}", f"gfp_flags={draw(st.sampled_from(GFP))}",
                  f"node={node}", "accounted=false"]
    elif event == "kfree":
        fields = [site, ptr]
    elif event == "kmem_cache_free":
        fields = [site, ptr] + ([f"name={draw(st.sampled_from(CACHE_NAMES))}"] if draw(st.booleans()) else [])
    elif event == "mm_page_alloc":
        fields = [page, f"order={draw(st.integers(0, 10))}", f"migratetype={draw(st.integers(0, 5))}"]
        if draw(st.integers(0, 9)):
            fields.append(f"gfp_flags={draw(st.sampled_from(GFP))}")
    elif event == "mm_page_free":
        fields = [page, f"order={draw(st.integers(0, 10))}"]
    else:
        fields = [page, "order=0", "migratetype=1"]
    out = [f.encode() for f in fields]
    if draw(st.integers(0, 29)) == 0:   # now and then a bad or missing field: both importers must say the same
        i = draw(st.integers(0, len(out) - 1))
        bad = draw(st.sampled_from([b"", b"-1", b"zz", b"99999999999", b"0x", b"1e3", b"+5", b"-", b"\xff", b"a\0b"]))
        out[i] = out[i].split(b"=", 1)[0] + b"=" + bad if bad else b"accounted=true"
    return b" ".join(out)


@st.composite
def capture(draw, max_lines: int = 60) -> bytes:
    """ftrace text: the six handled events and others interleaved over a few pointers, pfns and
    caches (reuse, frees of unknown pointers, kfree(NULL), failed allocations, cache names
    arriving late or never), with Linux's layout and its variations."""
    out = [b"# tracer: nop\n#\n"]
    ts = draw(st.integers(0, 10**7))
    for _ in range(draw(st.integers(0, max_lines))):
        kind = draw(st.integers(0, 19))
        if kind == 0:
            out.append(draw(st.sampled_from([b"\n", b"   \t\n", b"# comment [000] 1.0: kmalloc:\n", b"\r\n"])))
            continue
        event = draw(st.sampled_from(["kmalloc", "kmem_cache_alloc", "kfree", "kmem_cache_free", "mm_page_alloc",
                                      "mm_page_free"] * 3 + OTHER_EVENTS))
        ts = max(0, ts + draw(st.sampled_from([0, 1, 7, 1000, 123456, -5])))
        decimals = draw(st.sampled_from([6, 6, 9, 3, 12]))
        stamp = f"{ts // 10**6}.{ts % 10**6:06d}"
        stamp = stamp[:stamp.index(".") + 1 + decimals] if decimals < 6 else stamp + "7" * (decimals - 6)
        flags = draw(st.sampled_from([" .....", " d..1.", "", " ...s2"]))
        cpu = draw(st.sampled_from([0, 1, 3, 12]))
        task = draw(st.sampled_from(TASKS))
        sep = draw(st.sampled_from([":", ": ", ":  "]))
        out.append(f"{task:>16} [{cpu:03d}]{flags} {stamp:>12}: {event}{sep}".encode() + draw(body(event)) + b"\n")
    if out and draw(st.booleans()):
        out[-1] = out[-1].rstrip(b"\n")   # the last line without its newline
    return b"".join(out)


def imported(fn, path: Path):
    """(records bytes, sites, nr_ids, info with its key orders) or the error message."""
    try:
        t, info = fn(path)
    except FtraceFormatError as e:
        return str(e)
    return (t.records.tobytes(), t.sites, t.nr_ids, info, list(info["events"]), list(info["skipped"]))


def assert_same_import(path: Path):
    """The C importer and the reference give the same trace, summary or error; returns it."""
    ours, ref = imported(import_c, path), imported(import_ref, path)
    assert ours == ref
    return ours
