"""Fuzzing the ftrace importer (issue 12): arbitrary bytes and mutated real lines either convert
(and the .mtr written loads back) or end `memsim trace convert` with exit 2 and one line naming
the file and line; never another exception, a crash or a hang. The C importer and the reference
agree on every input. MEMSIM_FUZZ_EXAMPLES=N runs N examples per test (default: a short run)."""

from __future__ import annotations

import contextlib
import io
import lzma
import os
import re
from pathlib import Path

from conftest import LINUX_2NODE
from ftrace_captures import assert_same_import
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_model import trace
from sim.cli import main

EXAMPLES = int(os.environ.get("MEMSIM_FUZZ_EXAMPLES", "1000"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _real_lines() -> list[bytes]:
    """A few hundred lines of the shipped capture (header and every event kind it has)."""
    with lzma.open(LINUX_2NODE / "trace.txt.xz", "rb") as f:
        lines = f.read(400_000).split(b"\n")[:-1]
    return [line + b"\n" for line in lines]


REAL = _real_lines()
TOKENS = [b"\0", b"\xff", b"\xc3", b"\n", b"\r", b"\t", b" ", b"[", b"]", b"=", b":", b".", b"-", b"+", b"#",
          b"9" * 25, b"0x", b"0" * 40, b"0" * 5000, b"18446744073709551616", b"ptr=", b"name=", b"call_site=", b"[99999]",
          b" kmem_cache_free: ", b" mm_page_alloc: ", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82"]


@st.composite
def mutated(draw) -> bytes:
    """Real lines, spliced and cut, with bytes and tokens inserted, changed and deleted."""
    data = bytearray(b"".join(draw(st.lists(st.sampled_from(REAL), min_size=1, max_size=12))))
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.integers(0, 4))
        if op == 0:
            data[at:at] = draw(st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=6))
        elif op == 1:
            del data[at:at + draw(st.integers(1, 40))]
        elif op == 2 and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == 3:
            data[at:at] = data[at:at + draw(st.integers(1, 60))]
        else:
            del data[at:]
    return bytes(data)


def _convert(path: Path) -> None:
    """`memsim trace convert` works (its output loads back) or fails in one line naming file:line."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(["trace", "convert", str(path), str(path.with_suffix(".mtr"))])
    if rc == 0:
        trace.load(path.with_suffix(".mtr"))
        return
    assert rc == 2, err.getvalue()
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and re.match(rf"memsim: error: {re.escape(str(path))}:\d+: \S", lines[0]), lines
    assert "Traceback" not in lines[0]


def _check(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "input.txt"
    path.write_bytes(data)
    assert_same_import(path)
    _convert(path)


@FUZZ
@given(data=st.binary(max_size=3000) | st.lists(st.sampled_from(TOKENS + [b"a", b"1", b"sh-1"]), max_size=80).map(b"".join))
def test_arbitrary_bytes(tmp_path_factory, data):
    _check(tmp_path_factory, data)


@FUZZ
@given(data=mutated())
def test_mutated_real_lines(tmp_path_factory, data):
    _check(tmp_path_factory, data)
