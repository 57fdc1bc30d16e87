"""The ftrace importer: synthetic lines by hand, the real Linux 6.1 capture end to end, errors."""

from __future__ import annotations

import functools
import hashlib
import json
import lzma
import re
from collections import Counter

import pytest

from kernel_model import Machine, Op
from kernel_model._core import ftrace_gfp_zone_bits
from sim.cli import main
from sim.scenario import run_scenario
from sim.workloads.ftrace import FtraceFormatError, import_ftrace

HEADER = "# tracer: nop\n#\n"
LINES = """\
   sh-12  [001] .....  10.000001: kmalloc: call_site=seq_open+0x2f/0x90 ptr=ffff888004a00000 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false
   sh-12  [001] .....  10.000003: kmem_cache_alloc: call_site=vm_area_dup+0x21/0x90 ptr=ffff888005668130 bytes_req=152 bytes_alloc=152 gfp_flags=GFP_KERNEL node=-1 accounted=true
   sh-12  [000] .....  10.000004: mm_page_alloc: page=ffffea000026e500 pfn=0x9b94 order=1 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE
   sh-12  [000] .....  10.000004: kfree: call_site=seq_release+0x1d/0x30 ptr=ffff888004a00000
   sh-12  [000] .....  10.000006: kmem_cache_free: call_site=remove_vma+0x4a/0x60 ptr=ffff888005668130 name=vm_area_struct
   sh-12  [000] .....  10.000007: mm_page_free: page=ffffea000026e500 pfn=0x9b94 order=1
   sh-12  [000] .....  10.000008: kfree: call_site=foo+0x1/0x2 ptr=0000000000000000
   sh-12  [000] .....  10.000009: mm_page_pcpu_drain: page=ffffea000026e500 pfn=0x9b94 order=0 migratetype=1
"""


def test_events_become_ops_with_sites_and_time(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(HEADER + LINES)
    t, info = import_ftrace(path)
    r = t.records
    ops = [Op(o).name for o in r["op"] if o != Op.TIME]
    assert ops == ["KMALLOC", "CACHE_CREATE", "CACHE_ALLOC", "PAGE_ALLOC", "KFREE", "CACHE_FREE", "PAGE_FREE"]
    assert [int(x) for x in r["arg1"][r["op"] == Op.TIME]] == [2000, 1000, 2000, 1000, 1000]
    kmalloc = r[r["op"] == Op.KMALLOC][0]
    assert kmalloc["arg0"] == 100 and t.sites[kmalloc["site"]] == "seq_open" and kmalloc["cpu"] == 1
    page = r[r["op"] == Op.PAGE_ALLOC][0]
    assert (page["arg0"], page["flags"], t.sites[page["site"]]) == (1, 1, "GFP_HIGHUSER_MOVABLE")
    create = r[r["op"] == Op.CACHE_CREATE][0]
    assert t.sites[create["site"]] == "vm_area_struct" and create["arg0"] == 152   # named by its free
    assert info["skipped"] == {"kfree(NULL)": 1} and info["events"]["mm_page_pcpu_drain"] == 1
    res = Machine(nodes=1, node_mem="16M", cpus_per_node=2).replay(t)
    assert res.ok and res.op_counts["kmalloc"] == 1


@pytest.mark.parametrize("text,where", [
    ("garbage here\n", ":3: not an ftrace event line"),
    ("   sh-1 [000] .....  1.0: kmalloc: call_site=x ptr=zz bytes_req=1\n", ":3: kmalloc line: ptr= is not a hexadecimal number"),
    ("   sh-1 [000] .....  1.0: mm_page_free: page=1 order=0\n", ":3: mm_page_free line without pfn="),
])
def test_bad_lines_name_file_and_line(tmp_path, capsys, text, where):
    path = tmp_path / "bad.txt"
    path.write_text(HEADER + text)
    with pytest.raises(FtraceFormatError, match=re.escape(where)):
        import_ftrace(path)
    assert main(["trace", "convert", str(path), str(tmp_path / "o.mtr")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "Traceback" not in err[0]


def test_real_capture_converts_and_replays_without_errors(linux_capture, tmp_path):
    """Every traced allocation becomes an op; frees match them; the model replays all of it."""
    with lzma.open(linux_capture / "trace.txt.xz", "rt") as f:
        events = Counter(m.group(1) for m in re.finditer(r"\s(\w+): (?:call_site|page)=", f.read()))
    assert main(["trace", "convert", str(linux_capture / "trace.txt.xz"), str(tmp_path / "linux.mtr")]) == 0
    t, info = import_ftrace(linux_capture / "trace.txt.xz")
    ops = Counter(Op(o).name for o in t.records["op"])
    skipped = info["skipped"]
    assert ops["KMALLOC"] == events["kmalloc"] and ops["CACHE_ALLOC"] == events["kmem_cache_alloc"]
    assert ops["PAGE_ALLOC"] == events["mm_page_alloc"]
    assert ops["KFREE"] == events["kfree"] - skipped["kfree(NULL)"] - skipped["kfree of an object allocated before the trace"]
    assert ops["PAGE_FREE"] == events["mm_page_free"] - skipped["page free of a page allocated before the trace"]
    names = {t.sites[s] for s in t.records["site"][t.records["op"] == Op.CACHE_CREATE]}
    assert {"vm_area_struct", "anon_vma", "dentry"} <= names
    res = Machine(nodes=2, node_mem="512M").replay(t)
    assert res.ok and res.alloc_failed == 0


def test_linux_trace_scenario_replays_the_capture(linux_capture, tmp_path):
    report = run_scenario("linux-trace", ["profile.profilers=['fragmentation', 'slab']"], out=tmp_path).report
    assert [v["name"] for v in report["variants"]] == ["pcp-on", "pcp-off"]
    assert all(v["replay"]["errors"] == 0 for v in report["variants"])
    assert "vm_area_struct" in (tmp_path / "pcp-on.slabinfo.txt").read_text()


# What the regex importer memsim shipped before the C one (sim/workloads/ftrace.py at 94ae5b2) made
# of the shipped capture: sha256 of the records' bytes and of the NUL-joined site names.
BEFORE_C = {
    "records_sha256": "e077a00a449296d8034b3cc3b501ab0612f90f253bbf15244fc141046c55970a",
    "sites_sha256": "ab5be3a6f1e48f9918c5dbe3277fc9a023772c2717034ca1db0fd8462da2a793",
    "nr_sites": 173, "nr_ids": 13024,
    "info": {"events": {"kmem_cache_free": 56646, "kmem_cache_alloc": 48563, "kmalloc": 10591, "mm_page_alloc": 62567,
                        "mm_page_alloc_zone_locked": 19019, "mm_page_free": 62549, "kfree": 13799,
                        "mm_page_free_batched": 52556, "mm_compaction_kcompactd_sleep": 60,
                        "mm_page_alloc_extfrag": 1, "mm_page_pcpu_drain": 11510},
             "records": 487479,
             "skipped": {"kmem_cache_free of an object allocated before the trace": 8230,
                         "page free of a page allocated before the trace": 98, "kfree(NULL)": 3208,
                         "kfree of an object allocated before the trace": 19},
             "cpus": 2, "live_at_end": 282},
}


def test_shipped_capture_converts_as_before(linux_capture):
    """Byte for byte what the regex importer made: records, site order, ids, summary (and its order)."""
    t, info = import_ftrace(linux_capture / "trace.txt.xz")
    assert hashlib.sha256(t.records.tobytes()).hexdigest() == BEFORE_C["records_sha256"]
    assert hashlib.sha256("\0".join(t.sites).encode()).hexdigest() == BEFORE_C["sites_sha256"]
    assert (len(t.sites), t.nr_ids) == (BEFORE_C["nr_sites"], BEFORE_C["nr_ids"])
    assert json.dumps(info) == json.dumps(BEFORE_C["info"])


def test_progress_is_reported_to_the_end(tmp_path):
    path = tmp_path / "t.txt.xz"
    path.write_bytes(lzma.compress((HEADER + LINES * 3000).encode()))
    seen = []
    import_ftrace(path, lambda done, total: seen.append((done, total)))
    size = path.stat().st_size
    assert seen[-1] == (size, size) and all(a[0] <= b[0] for a, b in zip(seen, seen[1:], strict=False))


def test_convert_draws_a_progress_bar_on_a_terminal(tmp_path, capsys, monkeypatch):
    import sim.progress

    path = tmp_path / "t.txt"
    path.write_text(HEADER + LINES)
    monkeypatch.setattr(sim.progress, "Progress", functools.partial(sim.progress.Progress, force=True, after=0))
    assert main(["trace", "convert", str(path), str(tmp_path / "o.mtr")]) == 0
    size = path.stat().st_size
    assert f"100% {size:,} / {size:,} bytes" in capsys.readouterr().err


@pytest.mark.parametrize("flags,bits", [
    ("GFP_KERNEL", 0), ("GFP_HIGHUSER_MOVABLE|__GFP_COMP", 0xA), ("GFP_HIGHUSER|__GFP_ACCOUNT", 0x2),
    ("GFP_DMA", 0x1), ("GFP_DMA32|__GFP_ZERO", 0x4), ("GFP_TRANSHUGE_LIGHT|__GFP_THISNODE", 0xA),
    ("__GFP_MOVABLE|__GFP_RECLAIMABLE", 0x8), ("GFP_KERNEL|0x4", 0x4), ("none", 0), ("", 0),
])
def test_gfp_zone_bits(flags, bits):
    """The zone modifier bits of a printed gfp_flags= (for the zone an allocation may use)."""
    assert ftrace_gfp_zone_bits(flags.encode()) == bits


def test_timestamps_without_the_flags_column(tmp_path):
    """With irq-info off a line has no flags column; the old regex then read 10.000000 as 0.000000."""
    path = tmp_path / "t.txt"
    path.write_text("  sh-1 [000]     9.999000: kmalloc: call_site=a ptr=10 bytes_req=8\n"
                    "  sh-1 [000]    10.000000: kfree: call_site=a ptr=10\n")
    t, _ = import_ftrace(path)
    assert [Op(o).name for o in t.records["op"]] == ["KMALLOC", "TIME", "KFREE"]
    assert t.records["arg1"][1] == 1_000_000
