"""Cachegrind-compatible simulation: `valgrind --tool=lackey --trace-mem=yes` logs in,
cachegrind's event counts (Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw) out.

The log is read in fixed-size chunks and parsed in C, so memory stays bounded
whatever the log's size.
"""

from __future__ import annotations

import os
import re

from kernel_model._core import CG_EVENTS, CG_MAX_PARAM, CG_MIN_LINE_SIZE, CachegrindSim
from kernel_model.caches import LATENCY_DEFAULT_NS, LATENCY_MAX_NS, LATENCY_MEMORY_NS

CHUNK = 8 << 20

CacheSpec = tuple[int, int, int]   # size, associativity, line size (cachegrind's --I1=S,A,L)


class LackeyFormatError(ValueError):
    """A lackey log that cannot be read; the message names the file and line."""


def geometry_problem(size: int, assoc: int, line: int) -> str | None:
    """Why cachegrind refuses a cache of this geometry (its cg_arch.c check_cache, and valgrind's
    limit of a signed 32-bit number per parameter), or None if it takes it."""
    if max(size, assoc, line) > CG_MAX_PARAM:
        problem = f"a number above {CG_MAX_PARAM} (valgrind: too large and overflowed)"
    elif min(size, assoc, line) <= 0:
        problem = "size, associativity and line size must be positive"
    elif size % (assoc * line) or (size // (assoc * line)) & (size // (assoc * line) - 1):
        problem = "the set count, size / (associativity x line size), is not a power of two"
    elif line & (line - 1):
        problem = "the line size is not a power of two"
    elif line < CG_MIN_LINE_SIZE:
        problem = f"the line size is below cachegrind's minimum of {CG_MIN_LINE_SIZE} bytes"
    elif size <= line:
        problem = "the size is not larger than one line"
    else:
        problem = None
    return problem


def parse_cache_spec(text: str) -> CacheSpec:
    """'32768,8,64' -> (32768, 8, 64), as cachegrind's --I1/--D1/--LL take them; a geometry
    cachegrind would refuse is a ValueError naming the spec and the reason."""
    parts = text.split(",")
    if len(parts) != 3 or not all(re.fullmatch(r"\s*[0-9]{1,19}\s*", p) for p in parts):
        raise ValueError(f"cache spec {text!r}: expected SIZE,ASSOC,LINE_SIZE (e.g. 32768,8,64)")
    size, assoc, line = (int(p) for p in parts)
    problem = geometry_problem(size, assoc, line)
    if problem:
        raise ValueError(f"cache spec {text!r}: {problem}")
    return size, assoc, line


def simulate_lackey(path: str | os.PathLike, I1: CacheSpec, D1: CacheSpec, LL: CacheSpec,
                    chunk: int = CHUNK) -> dict[str, int]:
    """Replay a lackey log through cachegrind's simulation; returns its event counts."""
    sim = CachegrindSim(I1, D1, LL)
    path = os.fspath(path)
    carry = b""
    try:
        with open(path, "rb") as f:
            while True:
                data = f.read(chunk)
                buf = carry + data if carry else data
                final = not data
                used = sim.feed_lackey(buf, final)
                if sim.error:
                    line, col = sim.error
                    bad = buf[used:buf.find(b"\n", used) if b"\n" in buf[used:] else len(buf)]
                    raise LackeyFormatError(f"{path}:{line}:{col}: not a lackey trace line: "
                                            f"{bad[:80].decode('utf-8', 'replace')!r}")
                carry = buf[used:]
                if final:
                    break
                if len(carry) > 1 << 20:
                    raise LackeyFormatError(f"{path}:{sim.lines + 1}: line longer than 1 MiB")
    except OSError as e:
        raise LackeyFormatError(f"{path}: {e.strerror or e}") from None
    return sim.events()


def read_cachegrind_out(path: str | os.PathLike) -> dict[str, int]:
    """The summary counts of a cachegrind.out file."""
    text = open(path).read()
    events = re.search(r"^events: (.*)$", text, re.M)
    summary = re.search(r"^summary: (.*)$", text, re.M)
    if not events or not summary:
        raise ValueError(f"{path}: no events/summary lines: not a cachegrind.out file")
    return dict(zip(events.group(1).split(), (int(x) for x in summary.group(1).split()), strict=True))


def format_summary(ev: dict[str, int]) -> str:
    """The counts in cachegrind's summary layout."""
    def pct(a: int, b: int) -> str:
        return f"{100 * a / b:.1f}%" if b else "0.0%"

    d_refs, d1, dl = ev["Dr"] + ev["Dw"], ev["D1mr"] + ev["D1mw"], ev["DLmr"] + ev["DLmw"]
    ll_refs = ev["I1mr"] + d1
    ll_miss = ev["ILmr"] + dl
    rows = [
        f"I   refs:      {ev['Ir']:,}",
        f"I1  misses:    {ev['I1mr']:,}",
        f"LLi misses:    {ev['ILmr']:,}",
        f"I1  miss rate: {pct(ev['I1mr'], ev['Ir'])}",
        "",
        f"D   refs:      {d_refs:,}  ({ev['Dr']:,} rd + {ev['Dw']:,} wr)",
        f"D1  misses:    {d1:,}  ({ev['D1mr']:,} rd + {ev['D1mw']:,} wr)",
        f"LLd misses:    {dl:,}  ({ev['DLmr']:,} rd + {ev['DLmw']:,} wr)",
        f"D1  miss rate: {pct(d1, d_refs)}",
        "",
        f"LL refs:       {ll_refs:,}",
        f"LL misses:     {ll_miss:,}",
        f"LL miss rate:  {pct(ll_miss, ev['Ir'] + d_refs)}",
    ]
    return "\n".join(rows) + "\n"


__all__ = ["CG_EVENTS", "CachegrindSim", "LackeyFormatError", "format_summary", "geometry_problem",
           "parse_cache_spec", "read_cachegrind_out", "simulate_lackey"]


# cachegrind's two levels: L1 (I1, D1) and LL, which stands for the last level (an L3)
LATENCY_NS = {"I1": LATENCY_DEFAULT_NS[0], "D1": LATENCY_DEFAULT_NS[0], "LL": LATENCY_DEFAULT_NS[2],
              "memory": float(LATENCY_MEMORY_NS)}


def parse_latency_spec(text: str) -> dict[str, float]:
    """'D1=1.2,LL=12,memory=90' -> every latency in ns, the ones not given from LATENCY_NS."""
    out = dict(LATENCY_NS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, value = part.partition("=")
        try:
            ns = float(value) if eq else None
        except ValueError:
            ns = None
        if key.strip() not in LATENCY_NS or ns is None or not 0 < ns <= LATENCY_MAX_NS:
            raise ValueError(f"latency spec {text!r}: expected NAME=NS pairs with NAME one of "
                             f"{', '.join(LATENCY_NS)} and 0 < NS <= {LATENCY_MAX_NS:,} (e.g. D1=1.5,LL=10,memory=100)")
        out[key.strip()] = ns
    return out


def latency_summary(ev: dict[str, int], ns: dict[str, float]) -> dict:
    """AMAT from cachegrind's counts: an access served by L1 costs its L1 latency, one that misses
    it and hits LL adds LL's, one that misses LL too adds memory's (cachegrind counts one access and
    at most one miss per level for an access that straddles two lines). Per instructions, data and
    both: accesses served by each level, AMAT; and the accesses by latency."""
    def part(l1: str, refs: int, l1_miss: int, ll_miss: int) -> dict:
        served = {l1: refs - l1_miss, "LL": l1_miss - ll_miss, "memory": ll_miss}
        cost = {l1: ns[l1], "LL": ns[l1] + ns["LL"], "memory": ns[l1] + ns["LL"] + ns["memory"]}
        total = sum(served[k] * cost[k] for k in served)
        return {"accesses": refs, "served": served, "latency_ns": cost, "time_ns": total,
                "amat_ns": total / refs if refs else 0.0}

    inst = part("I1", ev["Ir"], ev["I1mr"], ev["ILmr"])
    data = part("D1", ev["Dr"] + ev["Dw"], ev["D1mr"] + ev["D1mw"], ev["DLmr"] + ev["DLmw"])
    hist: dict[float, int] = {}
    for p in (inst, data):
        for k, n in p["served"].items():
            if n:
                hist[p["latency_ns"][k]] = hist.get(p["latency_ns"][k], 0) + n
    refs = inst["accesses"] + data["accesses"]
    time_ns = inst["time_ns"] + data["time_ns"]
    return {"ns": dict(ns), "instructions": inst, "data": data,
            "all": {"accesses": refs, "time_ns": time_ns, "amat_ns": time_ns / refs if refs else 0.0},
            "histogram": [{"ns": k, "accesses": hist[k]} for k in sorted(hist)]}


def format_latency(lat: dict) -> str:
    """AMAT lines under the summary."""
    ns = lat["ns"]
    return (f"latency (ns):  I1 {ns['I1']:g}, D1 {ns['D1']:g}, LL {ns['LL']:g}, memory {ns['memory']:g}\n"
            f"I   AMAT:      {lat['instructions']['amat_ns']:.3f} ns\n"
            f"D   AMAT:      {lat['data']['amat_ns']:.3f} ns\n"
            f"AMAT:          {lat['all']['amat_ns']:.3f} ns\n")
