"""Linux /proc text formats (mm/vmstat.c) for the model's state, and parsers for real files.

Each formatter takes plain data so the same code prints the model, a guest's state
or numbers read from a real machine, byte for byte as the kernel prints them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from kernel_model.mm import MIGRATETYPE_NAMES, NR_PAGE_ORDERS, PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER
from kernel_model.vmstat import extfrag_index, unusable_free_index

FREECOUNT_CAP = 100000  # pagetypeinfo stops counting a list here and prints ">"


@dataclass
class ZoneFreeState:
    """What /proc/buddyinfo and /proc/pagetypeinfo show of one zone."""

    node: int
    zone: str
    nr_free: Sequence[Sequence[int]]  # [migratetype][order] free blocks
    pageblocks: Sequence[int]  # pageblocks per migratetype

    def nr_free_per_order(self) -> list[int]:
        return [sum(int(row[o]) for row in self.nr_free) for o in range(NR_PAGE_ORDERS)]


def format_buddyinfo(zones: Iterable[ZoneFreeState]) -> str:
    return "".join(
        f"Node {z.node}, zone {z.zone:>8} " + "".join(f"{n:6d} " for n in z.nr_free_per_order()) + "\n"
        for z in zones
    )


def _thousandths(value: int, width: int) -> str:
    """C's "%{width}d.%03d" of value / 1000 and value % 1000 (both truncate towards zero)."""
    q = int(value / 1000)
    return f"{q:{width}d}.{value - q * 1000:03d}"


def format_extfrag_index(zones: Iterable[ZoneFreeState]) -> str:
    """/sys/kernel/debug/extfrag/extfrag_index."""
    return "".join(
        f"Node {z.node}, zone {z.zone:>8} "
        + "".join(_thousandths(extfrag_index(z.nr_free_per_order(), o), 2) + " " for o in range(NR_PAGE_ORDERS))
        + "\n"
        for z in zones
    )


def format_unusable_index(zones: Iterable[ZoneFreeState]) -> str:
    """/sys/kernel/debug/extfrag/unusable_index."""
    return "".join(
        f"Node {z.node}, zone {z.zone:>8} "
        + "".join(_thousandths(unusable_free_index(z.nr_free_per_order(), o), 0) + " " for o in range(NR_PAGE_ORDERS))
        + "\n"
        for z in zones
    )


def format_pagetypeinfo(zones: Sequence[ZoneFreeState]) -> str:
    """pagetypeinfo_show per node: header, free counts per type, pageblock counts per type."""
    out = []
    for node in sorted({z.node for z in zones}):
        nz = [z for z in zones if z.node == node]
        out.append(f"Page block order: {PAGEBLOCK_ORDER}\n")
        out.append(f"Pages per block:  {PAGEBLOCK_NR_PAGES}\n\n")
        out.append(f"{'Free pages count per migrate type at order':<43} ")
        out.append("".join(f"{o:6d} " for o in range(NR_PAGE_ORDERS)) + "\n")
        for z in nz:
            for mt, name in enumerate(MIGRATETYPE_NAMES):
                out.append(f"Node {node:4d}, zone {z.zone:>8}, type {name:>12} ")
                for o in range(NR_PAGE_ORDERS):
                    n = int(z.nr_free[mt][o])
                    out.append(f">{FREECOUNT_CAP:6d} " if n >= FREECOUNT_CAP else f"{n:6d} ")
                out.append("\n")
        out.append(f"\n{'Number of blocks type ':<23}")
        out.append("".join(f"{name:>12} " for name in MIGRATETYPE_NAMES) + "\n")
        for z in nz:
            out.append(f"Node {node}, zone {z.zone:>8} " + "".join(f"{int(n):12d} " for n in z.pageblocks) + "\n")
    return "".join(out)


# /proc/zoneinfo's names of the zone NUMA events (numa_stat_name), in NUMASTAT order
ZONEINFO_NUMA = ("numa_hit", "numa_miss", "numa_foreign", "numa_interleave", "numa_local", "numa_other")


@dataclass
class ZoneInfo:
    """What the model has of one zone's /proc/zoneinfo block (mm/vmstat.c zoneinfo_show_print)."""

    node: int
    zone: str
    free: int
    min: int
    low: int
    high: int
    spanned: int
    present: int
    managed: int
    protection: Sequence[int]      # lowmem_reserve[] per zone type
    start_pfn: int
    pagesets: Sequence[tuple[int, int, int]] = ()  # (count, high, batch) per CPU
    numa: Mapping[str, int] = field(default_factory=dict)   # NUMASTAT names -> count


def format_zoneinfo(zones: Iterable[ZoneInfo]) -> str:
    """/proc/zoneinfo in the kernel's layout, every zone given (populated or not), with the lines
    the model has values for: the per-node stats and the zone counters the model does not keep
    (LRU sizes, mlock, bounce, vm stats threshold, node_unreclaimable) are left out."""
    out = []
    for z in zones:
        out.append(f"Node {z.node}, zone {z.zone:>8}\n")
        out.append(f"  pages free     {z.free}\n")
        out.append("        boost    0\n")
        out.append(f"        min      {z.min}\n")
        out.append(f"        low      {z.low}\n")
        out.append(f"        high     {z.high}\n")
        out.append(f"        spanned  {z.spanned}\n")
        out.append(f"        present  {z.present}\n")
        out.append(f"        managed  {z.managed}\n")
        out.append("        cma      0\n")
        out.append("        protection: (" + ", ".join(str(r) for r in z.protection) + ")\n")
        if not z.spanned:
            continue   # "If unpopulated, no other information is useful"
        out.append(f"      {'nr_free_pages':<12} {z.free}\n")
        for name, key in zip(ZONEINFO_NUMA, z.numa, strict=False):
            out.append(f"      {name:<12} {z.numa[key]}\n")
        out.append("  pagesets\n")
        for cpu, (count, high, batch) in enumerate(z.pagesets):
            out.append(f"    cpu: {cpu}\n              count: {count}\n")
            out.append(f"              high:  {high}\n              batch: {batch}\n")
        out.append(f"  start_pfn:           {z.start_pfn}\n")
    return "".join(out)


@dataclass
class ZoneRecord:
    """One zone of a parsed /proc/zoneinfo: its values by key, and the line each came from."""

    node: int
    zone: str
    line: int                                   # of the "Node N, zone NAME" header
    values: dict[str, int] = field(default_factory=dict)      # "min", "managed", "nr_free_pages", ...
    protection: list[int] = field(default_factory=list)
    pagesets: list[dict[str, int]] = field(default_factory=list)   # cpu, count, high, batch
    lines: dict[str, int] = field(default_factory=dict)       # key -> line number

    def __getitem__(self, key: str) -> int:
        return self.values[key]


_ZONEINFO_VALUE = re.compile(r"^\s+([a-z_]+(?: [a-z_]+)*):?\s+(-?\d+)$")


def parse_zoneinfo(text: str) -> list[ZoneRecord]:
    """Every zone of a /proc/zoneinfo text, in order. A line that is none of the kernel's forms
    (a truncated one among them) raises ValueError naming it."""
    zones: list[ZoneRecord] = []
    z: ZoneRecord | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        head = re.fullmatch(r"Node (\d+), zone\s+(\S+)", line)
        if head:
            z = ZoneRecord(int(head.group(1)), head.group(2), lineno)
            zones.append(z)
            continue
        stripped = line.strip()
        if z is None or not stripped:
            if stripped:
                raise ValueError(f"line {lineno}: zoneinfo line before the first zone")
            continue
        if stripped in ("per-node stats", "pagesets"):
            continue
        if stripped.startswith("protection:"):
            m = re.fullmatch(r"protection: \((-?\d+(?:, -?\d+)*)\)", stripped)
            if not m:
                raise ValueError(f"line {lineno}: not a zoneinfo protection line")
            z.protection = [int(x) for x in m.group(1).split(", ")]
            z.lines["protection"] = lineno
            continue
        m = _ZONEINFO_VALUE.match(line)
        if not m:
            raise ValueError(f"line {lineno}: not a zoneinfo line")
        key, value = m.group(1), int(m.group(2))
        if key == "cpu":
            z.pagesets.append({"cpu": value, "line": lineno})
        elif key in ("count", "high", "batch") and z.pagesets and line.startswith("              "):
            z.pagesets[-1][key] = value
        elif key == "vm stats threshold":
            continue
        else:
            z.values[key] = value
            z.lines[key] = lineno
    return zones


def parse_buddyinfo(text: str) -> list[tuple[int, str, list[int]]]:
    """(node, zone, nr_free per order) for every line of a /proc/buddyinfo text."""
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            head, counts = line.split(", zone")
            fields = counts.split()
            rows.append((int(head.split()[1]), fields[0], [int(x) for x in fields[1:]]))
        except (ValueError, IndexError):
            raise ValueError(f"line {lineno}: not a buddyinfo line: {line!r}") from None
    return rows


def parse_pagetypeinfo(text: str) -> list[ZoneFreeState]:
    """Zones of a /proc/pagetypeinfo text with their free counts and pageblock counts."""
    zones: dict[tuple[int, str], ZoneFreeState] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        try:
            if ", type " in line:
                head, rest = line.split(", type ")
                node = int(head.split(",")[0].split()[1])
                zone = head.split("zone")[1].strip()
                fields = rest.split()
                mt = MIGRATETYPE_NAMES.index(fields[0])
                empty = [[0] * NR_PAGE_ORDERS for _ in MIGRATETYPE_NAMES]
                z = zones.setdefault((node, zone), ZoneFreeState(node, zone, empty, [0] * len(MIGRATETYPE_NAMES)))
                z.nr_free[mt] = [int(x.lstrip(">")) for x in fields[1:]]
            elif line.startswith("Node ") and ", zone" in line:
                head, rest = line.split(", zone")
                fields = rest.split()
                node, zone = int(head.split()[1]), fields[0]
                zones[(node, zone)].pageblocks = [int(x) for x in fields[1:]]
        except (ValueError, IndexError, KeyError):
            raise ValueError(f"line {lineno}: not a pagetypeinfo line: {line!r}") from None
    return list(zones.values())
