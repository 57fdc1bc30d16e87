"""Bad ftrace captures (issue 12): each ends `memsim trace convert` with one line naming the file
and line, exit status 2 and no traceback; fields are range-checked; nothing is read without bound."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from ftrace_captures import assert_same_import

from kernel_model import trace
from kernel_model._core import MAX_CPUS
from kernel_model.ftrace import MAX_LINE, FtraceFormatError, import_ftrace
from kernel_model.reference.ftrace import import_ftrace as import_reference
from sim.cli import main

HEADER = b"# tracer: nop\n#\n"
KMALLOC = b"sh-12 [001] ..... 10.000001: kmalloc: call_site=seq_open+0x2f/0x90 ptr=ffff888004a00000 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false\n"
CACHE_ALLOC = b"sh-12 [000] ..... 10.000003: kmem_cache_alloc: call_site=vm_area_dup+0x21/0x90 ptr=ffff888005668130 bytes_req=152 bytes_alloc=152 gfp_flags=GFP_KERNEL node=-1 accounted=true\n"
PAGE_ALLOC = b"sh-12 [000] ..... 10.000004: mm_page_alloc: page=ffffea000026e500 pfn=0x9b94 order=1 migratetype=1 gfp_flags=GFP_KERNEL\n"


def _convert_fails(tmp_path, capsys, data: bytes, line: int, expected: str) -> str:
    """`memsim trace convert` of data: exit 2, one stderr line naming file:line and `expected`."""
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    assert main(["trace", "convert", str(path), str(tmp_path / "out.mtr")]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"memsim: error: {path}:{line}: "), lines[0]
    assert expected in lines[0], lines[0]
    assert not (tmp_path / "out.mtr").exists()
    with pytest.raises(FtraceFormatError) as ref:   # the reference says the same
        import_reference(path)
    assert f"memsim: error: {ref.value}" == lines[0]
    return lines[0]


@pytest.mark.parametrize("line,expected", [
    (KMALLOC.replace(b"[001]", b"[99999]"), f"CPU out of range (memsim models CPUs 0..{MAX_CPUS - 1})"),
    (KMALLOC.replace(b"[001]", b"[" + b"9" * 400 + b"]"), "CPU out of range"),
    (KMALLOC.replace(b"bytes_req=100", b"bytes_req=-8"), "kmalloc line: bytes_req= out of range (0..4194304)"),
    (KMALLOC.replace(b"bytes_req=100", b"bytes_req=99999999999"), "bytes_req= out of range"),
    (CACHE_ALLOC.replace(b"bytes_alloc=152", b"bytes_alloc=4194305"), "bytes_alloc= out of range"),
    (PAGE_ALLOC.replace(b"order=1", b"order=-1"), "mm_page_alloc line: order= out of range (0..10)"),
    (PAGE_ALLOC.replace(b"order=1", b"order=11"), "order= out of range (0..10)"),
    (PAGE_ALLOC.replace(b"migratetype=1", b"migratetype=-1"), "migratetype= out of range (0..5)"),
    (PAGE_ALLOC.replace(b"migratetype=1", b"migratetype=6"), "migratetype= out of range (0..5)"),
    (KMALLOC.replace(b"node=-1", b"node=" + b"9" * 30), "kmalloc line: node= out of range (-1..63)"),
    (KMALLOC.replace(b"node=-1", b"node=-2"), "node= out of range"),
    (KMALLOC.replace(b"10.000001", b"1" * 400 + b".5"), "kmalloc line: timestamp out of range"),
    (KMALLOC.replace(b"10.000001", b"9223372037.0"), "timestamp out of range"),
    (KMALLOC.replace(b"ptr=ffff888004a00000", b"ptr=1ffff888004a00000"), "ptr= out of range (64 bits)"),
    (KMALLOC.replace(b"ptr=ffff888004a00000", b"ptr=0x"), "ptr= is not a hexadecimal number"),
    (KMALLOC.replace(b"bytes_req=100", b"bytes_req=+100"), "bytes_req= is not a decimal number"),
    (KMALLOC.replace(b"seq_open", b"seq\0open"), "kmalloc line: call_site= contains a NUL byte"),
    (KMALLOC.replace(b"seq_open", b"seq_\xffopen"), "kmalloc line: call_site= is not UTF-8"),
    (KMALLOC.replace(b"seq_open", b"seq_\xed\xa0\x80open"), "call_site= is not UTF-8"),   # a surrogate
    (PAGE_ALLOC.replace(b"GFP_KERNEL", b"GFP_\0KERNEL"), "mm_page_alloc line: gfp_flags= contains a NUL byte"),
    (KMALLOC.replace(b" call_site=seq_open+0x2f/0x90", b""), "kmalloc line without call_site="),
])
def test_bad_field_is_one_line_naming_file_line_and_field(tmp_path, capsys, line, expected):
    _convert_fails(tmp_path, capsys, HEADER + KMALLOC.replace(b"ptr=ffff888004a00000", b"ptr=ffff888004a01000") + line,
                   4, expected)


def test_nul_in_a_cache_name_is_refused(tmp_path, capsys):
    """A NUL in name= once made an .mtr that memsim refused to load; now the import refuses it."""
    free = b"sh-12 [000] ..... 10.000006: kmem_cache_free: call_site=remove_vma+0x4a/0x60 ptr=ffff888005668130 name=vm_area\0struct\n"
    _convert_fails(tmp_path, capsys, HEADER + CACHE_ALLOC + free, 4, "kmem_cache_free line: name= contains a NUL byte")


def test_non_ftrace_file_is_not_echoed(tmp_path, capsys):
    """The first line of a file that is not ftrace (a key, a password file) stays out of the error."""
    secret = b"admin:$6$hunter2s3cr3t:19000:0:99999:7:::\x1b[2J\n"
    msg = _convert_fails(tmp_path, capsys, secret + KMALLOC, 1, "not an ftrace event line")
    assert "s3cr3t" not in msg and "admin" not in msg and "\x1b" not in msg


def test_binary_file_is_one_line(tmp_path, capsys):
    _convert_fails(tmp_path, capsys, bytes(range(256)) * 4, 1, "not an ftrace event line")


def test_memsim_trace_is_not_ftrace(tmp_path, capsys):
    mtr = tmp_path / "x.mtr"
    trace.save(mtr, import_ftrace(_write(tmp_path / "ok.txt", HEADER + KMALLOC))[0])
    _convert_fails(tmp_path, capsys, mtr.read_bytes(), 1, "not an ftrace event line")


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_long_line_is_refused_at_its_number(tmp_path, capsys):
    long = b"sh-1 [000] ..... 1.0: kmalloc: " + b"x" * MAX_LINE + b"\n"
    _convert_fails(tmp_path, capsys, HEADER + KMALLOC + long + KMALLOC, 4, f"line longer than {MAX_LINE} bytes")


def test_line_of_exactly_the_bound_is_read(tmp_path):
    line = KMALLOC.rstrip(b"\n") + b" pad=" + b"y" * MAX_LINE
    line = line[:MAX_LINE] + b"\n"
    t, info = import_ftrace(_write(tmp_path / "t.txt", HEADER + line))
    assert info["events"] == {"kmalloc": 1} and len(t) == 1


def test_endless_line_is_not_read_without_bound(tmp_path, capsys):
    """A file that is one endless line (a pipe that never sends a newline) ends in an error after at
    most a few chunks, not when memory runs out."""
    fifo = tmp_path / "endless.txt"
    os.mkfifo(fifo)
    written = [0]

    def writer() -> None:
        block = b"a" * (1 << 16)
        try:
            with open(fifo, "wb") as f:
                while written[0] < 256 << 20:   # far beyond the bound: reaching it fails the test
                    f.write(block)
                    written[0] += len(block)
        except BrokenPipeError:
            pass

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    assert main(["trace", "convert", str(fifo), str(tmp_path / "out.mtr")]) == 2
    t.join(timeout=30)
    assert not t.is_alive() and written[0] < 8 << 20
    assert capsys.readouterr().err == f"memsim: error: {fifo}:1: line longer than {MAX_LINE} bytes\n"


ADVERSARIAL = [   # 60 kB lines; the old regexes took 2-11 s on each of the first three
    b"a" + b" " * 60000 + b"b\n",
    b"a [0] " + b"1" * 60000 + b"\n",
    b"sh-1 [000] ..... 1.0: kmalloc: " + b"w" * 60000 + b"\n",
    b"a " + b"[0] " * 15000 + b"\n",
    b"sh-1 [000] ..... 1.0: kmalloc: " + b"a=" * 30000 + b"\n",
    b"sh-1 [000] ..... 1.0: kmalloc: " + b"a " * 30000 + b"\n",
    b"x" + b" [1] 1.1: e:" * 5000 + b"\n",
]


def test_adversarial_lines_finish(tmp_path):
    """Both importers finish at once on lines built to make backtracking regexes quadratic (the old
    LINE regex took > 30 s on a 100 kB line, together the old regexes over a minute on these);
    a subprocess, so a regression is a timeout rather than a hung test run."""
    paths = [str(_write(tmp_path / f"adv{i}-{k}.txt", HEADER + line))
             for k in range(5) for i, line in enumerate(ADVERSARIAL)]
    code = ("import sys\nfrom kernel_model.ftrace import import_ftrace, FtraceFormatError\n"
            "from kernel_model.reference.ftrace import import_ftrace as ref\n"
            "for p in sys.argv[1:]:\n    for f in (import_ftrace, ref):\n"
            "        try:\n            f(p)\n        except FtraceFormatError:\n            pass\n")
    r = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, timeout=60,
                       cwd=os.path.dirname(os.path.dirname(__file__)))
    assert r.returncode == 0, r.stderr


def test_leading_zeros_are_only_zeros(tmp_path):
    """Numbers with thousands of leading zeros are small numbers (Python's int() refuses > 4300 digits)."""
    zeros = b"0" * 5000
    line = PAGE_ALLOC.replace(b"order=1", b"order=" + zeros + b"1").replace(b"10.000004", zeros + b"10.000004")
    line = line.replace(b"[000]", b"[" + zeros + b"1]").replace(b"pfn=0x9b94", b"pfn=0x" + zeros + b"9b94")
    path = _write(tmp_path / "t.txt", HEADER + line)
    t, _ = import_ftrace(path)
    assert (t.records["arg0"][0], t.records["cpu"][0]) == (1, 1)
    assert_same_import(path)


def test_task_names_need_not_be_utf8(tmp_path):
    """A task's comm may hold any bytes (prctl PR_SET_NAME); only the names kept must be UTF-8."""
    t, info = import_ftrace(_write(tmp_path / "t.txt", HEADER + KMALLOC.replace(b"sh-12", b"\xff\xfe\0-12")))
    assert info["events"] == {"kmalloc": 1} and t.sites == ["", "seq_open"]


def test_utf8_names_round_trip_through_the_trace_file(tmp_path):
    t, _ = import_ftrace(_write(tmp_path / "t.txt", HEADER + KMALLOC.replace(b"seq_open", "séq_öpen_名".encode())))
    trace.save(tmp_path / "t.mtr", t)
    assert trace.load(tmp_path / "t.mtr").sites == ["", "séq_öpen_名"]
