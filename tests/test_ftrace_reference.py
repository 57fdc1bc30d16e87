"""The C ftrace importer against the pure-Python reference (kernel_model/reference/ftrace.py):
the same records, string table, ids, summary and errors, on generated captures and the real one."""

from __future__ import annotations

import lzma
import os
from unittest import mock

from ftrace_captures import assert_same_import, capture, imported
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kernel_model.ftrace
from kernel_model.ftrace import import_ftrace

SETTINGS = settings(max_examples=int(os.environ.get("MEMSIM_FUZZ_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(text=capture())
def test_generated_captures_import_as_the_reference_does(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("cap") / "trace.txt"
    path.write_bytes(text)
    assert_same_import(path)


@SETTINGS
@given(text=capture(max_lines=30), chunk=st.integers(1, 200))
def test_chunk_boundaries_do_not_matter(tmp_path_factory, text, chunk):
    """Lines split across reads (any chunk size) import as when read whole; .xz as plain."""
    d = tmp_path_factory.mktemp("chunks")
    (d / "t.txt").write_bytes(text)
    (d / "t.txt.xz").write_bytes(lzma.compress(text))
    whole = imported(import_ftrace, d / "t.txt")
    with mock.patch.object(kernel_model.ftrace, "CHUNK", chunk):
        assert imported(import_ftrace, d / "t.txt") == whole
    assert imported(import_ftrace, d / "t.txt.xz") == (whole.replace("t.txt:", "t.txt.xz:")
                                                       if isinstance(whole, str) else whole)


def test_shipped_capture_imports_as_the_reference_does(linux_capture):
    got = assert_same_import(linux_capture / "trace.txt.xz")
    assert not isinstance(got, str) and got[3]["records"] == 487_479
