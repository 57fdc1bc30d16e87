"""Trace files: round trip, layout, and clear errors for broken files."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from kernel_model import Op, Trace, trace
from kernel_model.trace import HEADER_SIZE, OP_DTYPE, TraceFormatError


def sample() -> Trace:
    recs = trace.empty(3)
    recs[0] = (Op.PAGE_ALLOC, 1, 2, 1, 0, 3, trace.NO_NODE)
    recs[1] = (Op.PAGE_FREE, 0, 2, 2, 0, 3, 0)
    recs[2] = (Op.PHASE, 0, 0, 3, trace.NO_ID, 1, 0)
    return Trace(recs, ["", "alloc_pipe_info", "free_pipe_info", "phase: teardown ünïcode"])


def test_round_trip(tmp_path):
    t = sample()
    trace.save(tmp_path / "t.mtr", t)
    for mmap in (False, True):
        back = trace.load(tmp_path / "t.mtr", mmap=mmap)
        assert back.sites == t.sites and back.nr_ids == 1
        assert back.records.tobytes() == t.records.tobytes()


def test_record_layout_is_little_endian_24_bytes(tmp_path):
    assert OP_DTYPE.itemsize == 24
    trace.save(tmp_path / "t.mtr", sample())
    raw = (tmp_path / "t.mtr").read_bytes()
    assert raw[:8] == b"MEMSIMTR" and struct.unpack_from("<H", raw, 8)[0] == trace.VERSION
    op, flags, cpu, site, ident, arg0, arg1 = struct.unpack_from("<BBHIIIQ", raw, HEADER_SIZE)
    assert (op, flags, cpu, site, ident, arg0, arg1) == (1, 1, 2, 1, 0, 3, 2**64 - 1)


@pytest.mark.parametrize("damage,message", [
    (lambda b: b"XXXXXXXX" + b[8:], "bad magic"),
    (lambda b: b[:8] + struct.pack("<H", 9) + b[10:], "version 9"),
    (lambda b: b[:-5], "truncated"),
    (lambda b: b[:30], "truncated"),
    (lambda b: b[:-1] + b"x", "NUL-terminated"),
])
def test_broken_files_name_the_file_and_the_problem(tmp_path, damage, message):
    p = tmp_path / "t.mtr"
    trace.save(p, sample())
    p.write_bytes(damage(p.read_bytes()))
    with pytest.raises(TraceFormatError, match=message) as e:
        trace.load(p)
    assert str(p) in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(TraceFormatError, match="No such file"):
        trace.load(tmp_path / "nope.mtr")


def test_trace_requires_the_record_dtype():
    with pytest.raises(TypeError):
        Trace(np.zeros(4, np.uint8))
