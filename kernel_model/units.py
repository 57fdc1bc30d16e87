"""Parsing of human-readable sizes ("256M", "1G", 4096) and durations ("500ms", "2s")."""

from __future__ import annotations

import re

_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(value: int | str) -> int:
    """Bytes from an int or a string with an optional binary suffix K, M, G, T (KiB, MB ... accepted)."""
    if isinstance(value, bool):
        raise ValueError(f"invalid size {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"invalid size {value}: negative")
        return value
    m = _SIZE_RE.match(str(value))
    if not m:
        raise ValueError(f"invalid size {value!r}: expected bytes or a number with K, M, G or T")
    return int(m.group(1)) * _SUFFIX[m.group(2).upper()]


_DURATION = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s)\s*$")


def parse_duration(value: str) -> int:
    """Nanoseconds from a number with a unit: ns, us, ms or s ("500ms", "1.5s")."""
    m = _DURATION_RE.match(str(value))
    if not m:
        raise ValueError(f"invalid duration {value!r}: expected a number with ns, us, ms or s")
    return round(float(m.group(1)) * _DURATION[m.group(2)])
