"""Grid values as the command line gives them and as `--set` takes them back: TOML values.

`--grid KEY=V1,V2,...` is split at the commas outside strings and arrays (so values may be
strings with commas or arrays: `--grid 'machine.node_mem=["64M","64M"],["96M","32M"]'`), and each
item is read as `--set` reads a value: TOML, else a bare word.
Each point then runs with `KEY=<the value as TOML>` overrides."""

from __future__ import annotations

import json
import math
import re
import tomllib
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class GridError(ValueError):
    """A --grid argument that cannot be read; the message names it."""


def parse_grid(arg: str) -> tuple[str, list[Any]]:
    """"machine.pcp=true,false" -> ("machine.pcp", [True, False])."""
    key, eq, text = arg.partition("=")
    key = key.strip()
    if not eq or key.count(".") != 1 or not all(_BARE_KEY.fullmatch(p) for p in key.split(".")):
        raise GridError(f"--grid {arg!r}: expected section.key=V1,V2,... (values in TOML)")
    if not text.strip():
        raise GridError(f"--grid {key}: no values (expected {key}=V1,V2,...)")
    values = []
    for item in _split(text):
        if not item:
            raise GridError(f"--grid {key}: an empty value in {text!r}")
        try:
            values.append(tomllib.loads(f"v = {item}")["v"])
        except tomllib.TOMLDecodeError:
            values.append(item)   # a bare word, as --set takes it
    return key, values


def _split(text: str) -> list[str]:
    """Split at the commas outside strings, arrays and inline tables."""
    items, start, depth, quote, i = [], 0, 0, "", 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
        i += 1
    items.append(text[start:].strip())
    return items


def toml_value(value: Any) -> str:
    """A value as TOML text (what `--set key=<text>` reads back to the same value)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise GridError(f"{value!r}: not a value a scenario takes (TOML booleans, numbers, strings, arrays, tables)")


def _string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, and TOML wants DEL escaped too."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def show(value: Any) -> str:
    """A value in tables and file names: TOML, strings without quotes."""
    return value if isinstance(value, str) else toml_value(value)
