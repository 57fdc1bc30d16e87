"""Typed settings: what a scenario key, a profiler option or a generator parameter accepts.

A Kind checks one raw TOML value and returns it (normalised where the type allows it, e.g. an
int given for a float); it raises FieldError with what was expected and what came instead.
The loader turns a FieldError into one line naming the file, line and key (or `--set KEY`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernel_model.units import parse_duration, parse_size


class FieldError(ValueError):
    """A value of the wrong type or out of range; the message says what was expected, `path` where
    inside the value (e.g. "[1][0]" for an item of a list of lists)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message, self.path = message, path

    def named(self, name: str) -> str:
        """The message for the setting `name`: "topology.latency[0][1]: expected ..."."""
        return f"{name}{self.path}: {self.message}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Kind:
    """What a value may be. check() returns the value to use, or raises FieldError."""

    expected = "a value"
    types: tuple[type, ...] = ()      # the Python types of the values it takes (from TOML)

    def check(self, value: Any) -> Any:
        raise NotImplementedError

    def fail(self, value: Any, why: str | None = None) -> FieldError:
        return FieldError(why or f"expected {self.expected}, got {_show(value)}")


@dataclass(frozen=True)
class Int(Kind):
    types = (int,)
    min: int | None = None
    max: int | None = None

    @property
    def expected(self) -> str:
        if self.min is not None and self.max is not None:
            return f"an integer in {self.min:,}..{self.max:,}"
        if self.min is not None:
            return f"an integer >= {self.min:,}"
        return "an integer"

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(value)
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise self.fail(value)
        return value


@dataclass(frozen=True)
class Float(Kind):
    types = (int, float)
    min: float | None = None
    max: float | None = None

    @property
    def expected(self) -> str:
        if self.min is not None and self.max is not None:
            return f"a number in {self.min:g}..{self.max:g}"
        return "a number"

    def check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(value)
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise self.fail(value)
        return float(value) if isinstance(value, float) else value


@dataclass(frozen=True)
class Bool(Kind):
    types = (bool,)
    expected = "true or false"

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(value)
        return value


@dataclass(frozen=True)
class Str(Kind):
    types = (str,)
    choices: tuple[str, ...] = ()
    max_len: int = 4096

    @property
    def expected(self) -> str:
        return f"one of {', '.join(map(repr, self.choices))}" if self.choices else "a string"

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or (self.choices and value not in self.choices) or len(value) > self.max_len:
            raise self.fail(value)
        return value


@dataclass(frozen=True)
class Size(Kind):
    """Bytes: an integer or a string such as "256M"; kept as given (Machine parses it too)."""
    types = (int, str)
    min: int = 0
    max: int | None = None

    @property
    def expected(self) -> str:
        return "a size such as 4096 or \"256M\"" + (f" of at most {_bytes(self.max)}" if self.max else "")

    def check(self, value: Any) -> int | str:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise self.fail(value)
        try:
            n = parse_size(value)
        except ValueError as e:
            raise FieldError(str(e)) from None
        if n < self.min or (self.max is not None and n > self.max):
            raise self.fail(value, f"size {_show(value)} is outside {_bytes(self.min)}..{_bytes(self.max)}"
                            if self.max is not None else None)
        return value


@dataclass(frozen=True)
class Duration(Kind):
    """Simulated time with a unit ("500ms"); checked within min_ns..max_ns, returned as given."""
    types = (str,)
    min_ns: int = 0
    max_ns: int | None = None
    expected = "a duration such as \"500ms\""

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.fail(value)
        try:
            ns = parse_duration(value)
        except ValueError as e:
            raise FieldError(str(e)) from None
        if ns < self.min_ns or (self.max_ns is not None and ns > self.max_ns):
            raise self.fail(value, f"{value!r} is outside {_ns(self.min_ns)}..{_ns(self.max_ns or 0)}")
        return value


@dataclass(frozen=True)
class ListOf(Kind):
    types = (list,)
    item: Kind
    min_len: int = 0
    max_len: int = 1 << 16

    @property
    def expected(self) -> str:
        if self.min_len == self.max_len:
            return f"a list of {self.min_len}, each {self.item.expected}"
        return f"a list of {self.min_len}..{self.max_len:,}, each {self.item.expected}"

    def check(self, value: Any) -> list:
        if not isinstance(value, list) or not self.min_len <= len(value) <= self.max_len:
            raise self.fail(value)
        out = []
        for i, x in enumerate(value):
            try:
                out.append(self.item.check(x))
            except FieldError as e:
                raise FieldError(e.message, f"[{i}]{e.path}") from None
        return out


@dataclass(frozen=True)
class OneOf(Kind):
    """The first of several kinds that accepts the value."""
    kinds: tuple[Kind, ...]

    @property
    def expected(self) -> str:
        return " or ".join(k.expected for k in self.kinds)

    def check(self, value: Any) -> Any:
        errors = []
        for k in self.kinds:
            try:
                return k.check(value)
            except FieldError as e:
                errors.append((k, e))
        for k, e in errors:   # the error of the kind that takes values of this type says most
            if type(value) in k.types:
                raise e
        raise self.fail(value)


@dataclass(frozen=True)
class Table(Kind):
    """A TOML table, checked key by key by whoever owns it (caches, topology)."""
    types = (dict,)
    expected = "a table"

    def check(self, value: Any) -> dict:
        if not isinstance(value, dict):
            raise self.fail(value)
        return value


@dataclass(frozen=True)
class Field:
    """A named setting: its kind, its default (None: not set) and one line of documentation."""
    name: str
    kind: Kind
    default: Any = None
    doc: str = ""


def check_table(table: Any, fields: Sequence[Field], what: str) -> dict[str, Any]:
    """The checked values of the keys present in table ({name: value}); an unknown key or a bad
    value raises TableError naming the key."""
    if not isinstance(table, dict):
        raise TableError(None, f"{what} must be a table, got {_show(table)}")
    known = {f.name: f for f in fields}
    out = {}
    for key, value in table.items():
        if key not in known:
            raise TableError(key, f"unknown key {what}.{key}", f" (known: {', '.join(sorted(known))})")
        try:
            out[key] = known[key].kind.check(value)
        except FieldError as e:
            raise TableError(key, e.named(f"{what}.{key}")) from None
    return out


class TableError(FieldError):
    """A bad key of a table: `key` is the offending key (None: the table itself); `hint` what
    would have been accepted."""

    def __init__(self, key: str | None, message: str, hint: str = "") -> None:
        super().__init__(message + hint)
        self.key, self.message, self.hint = key, message, hint


def memory_budget() -> int:
    """Bytes of host memory a model may take: half of the RAM (or of the cgroup's limit), so a
    size the host cannot hold is refused when it is read, not met as a MemoryError or the OOM
    killer halfway through a run."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            total = min(total, int(limit))
    except OSError:
        pass
    return total // 2


def human_bytes(n: int) -> str:
    """1536 -> "1.5K", 1 << 40 -> "1T": sizes in messages."""
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.3g}{unit}"
    return str(n)


def _bytes(n: int | None) -> str:
    if n is None:
        return "unbounded"
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def _ns(n: int) -> str:
    for unit, scale in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return f"{n}ns"
