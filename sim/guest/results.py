"""The firmware's results area (firmware/results.h), read from guest RAM.

The layout is struct fw_results as the 32-bit guest lays it out (i386: 8-byte integers are
4-byte aligned); tests/test_guest.py checks every offset against gcc -m32's offsetof.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernel_model._core import MIGRATE_TYPES as NR_MT
from kernel_model._core import NR_NUMA_STAT_ITEMS, NR_WMARK, NR_ZONE_STAT_ITEMS, WMARK_NAMES, ZONE_NAMES
from kernel_model._core import NR_PAGE_ORDERS as NR_ORDERS
from kernel_model._core import NR_REPLAY_ERROR_CODES as NR_ERRORS

RESULTS_ADDR = 0x10000
MAGIC = 0x524D534D
VERSION = 2
MAX_NODES, MAX_CPUS, MAX_RANGES, MAX_CACHES, MAX_ZONES = 8, 8, 4, 64, 3
STATUS = {0: "ok", 1: "running", 2: "bad boot (not multiboot, or no memory map)", 3: "no trace module",
          4: "the trace module is not a valid memsim trace", 5: "the firmware's metadata does not fit in memory",
          6: "more NUMA nodes or CPUs than the firmware handles",
          7: "a command-line value the firmware or the core cannot use (kmalloc_classes, thermal)"}
STAGES = {0: "booting", 1: "topology read", 2: "machine set up", 3: "replaying", 4: "done"}

_ZONE = [("type", "<u4"), ("start_pfn", "<u4"), ("spanned_pages", "<u4")]
_NODE = [("start_pfn", "<u4"), ("spanned_pages", "<u4"), ("nr_ranges", "<u4"),
         ("range_start", "<u4", MAX_RANGES), ("range_end", "<u4", MAX_RANGES), ("nr_srat", "<u4"),
         ("srat_base_lo", "<u4", MAX_RANGES), ("srat_base_hi", "<u4", MAX_RANGES),
         ("srat_len_lo", "<u4", MAX_RANGES), ("srat_len_hi", "<u4", MAX_RANGES),
         ("nr_cpus", "<u4"), ("cpu_apic", "<u4", MAX_CPUS), ("zonelist", "u1", MAX_NODES),
         ("nr_zones", "<u4"), ("zone", "zone", MAX_ZONES)]

_FIELDS = [("magic", "<u4"), ("version", "<u4"), ("status", "<u4"), ("stage", "<u4"),
           ("nr_nodes", "<u4"), ("nr_cpus", "<u4"), ("has_slit", "<u4"), ("has_hmat", "<u4"),
           ("flags", "<u4"), ("min_free_kbytes", "<u4"),
           ("image_end", "<u4"), ("modules_end", "<u4"), ("reserved_end", "<u4"),
           ("stack_size", "<u4"), ("stack_high_water", "<u4"),
           ("cpu_to_node", "<u4", MAX_CPUS), ("distance", "u1", (MAX_NODES, MAX_NODES)),
           ("hmat_latency", "<u4", (MAX_NODES, MAX_NODES)), ("node", "node", MAX_NODES),
           ("records_lo", "<u4"), ("records_hi", "<u4"), ("done_lo", "<u4"), ("done_hi", "<u4"),
           ("results_addr", "<u4"), ("nr_ids", "<u4"),
           ("error_count", "<u8", NR_ERRORS), ("alloc_failed", "<u8"), ("free_skipped", "<u8"),
           ("access_skipped", "<u8"), ("nr_free", "<u4", (MAX_NODES, NR_MT, NR_ORDERS)),
           ("numa", "<u8", (MAX_NODES, NR_NUMA_STAT_ITEMS)), ("zone_stat", "<u8", (MAX_NODES, NR_ZONE_STAT_ITEMS)),
           ("nr_caches", "<u4"), ("cache_slabs", "<u4", MAX_CACHES), ("cache_objects", "<u4", MAX_CACHES),
           ("ids_addr", "<u4"), ("first_error_record", "<u4"), ("first_error_code", "<u4"),
           ("root_addr", "<u4"), ("alloc_record_addr", "<u4"), ("mem_map_addr", "<u4"), ("mem_map_pfn", "<u4"),
           ("cache_size", "<u4", MAX_CACHES), ("watermark", "<u4", (MAX_NODES, NR_WMARK)),
           ("thermal_temp", "<u8", MAX_NODES), ("thermal_peak", "<u8", MAX_NODES),
           ("thermal_throttled_ns", "<u8", MAX_NODES)]


def _i386(fields: list[tuple], sub: dict[str, np.dtype]) -> np.dtype:
    """A numpy dtype with the offsets gcc -m32 gives a C struct of these fields."""
    names, formats, offsets, off, align = [], [], [], 0, 1
    for name, fmt, *shape in fields:
        base = sub[fmt] if fmt in sub else np.dtype(fmt)
        a = 4 if fmt in sub else min(base.itemsize, 4)    # i386: nothing is aligned beyond 4
        off = -(-off // a) * a
        dt = np.dtype((base, shape[0])) if shape else base
        names.append(name)
        formats.append(dt)
        offsets.append(off)
        off += dt.itemsize
        align = max(align, a)
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": -(-off // align) * align})


ZONE_DTYPE = _i386(_ZONE, {})
NODE_DTYPE = _i386(_NODE, {"zone": ZONE_DTYPE})
RESULTS_DTYPE = _i386(_FIELDS, {"node": NODE_DTYPE})


@dataclass
class GuestResults:
    """A decoded results area; raw is the numpy record."""

    raw: np.void

    @classmethod
    def parse(cls, data: bytes) -> GuestResults:
        if len(data) < RESULTS_DTYPE.itemsize:
            raise ValueError("results area cut short")
        raw = np.frombuffer(data[: RESULTS_DTYPE.itemsize], RESULTS_DTYPE)[0]
        if int(raw["magic"]) != MAGIC:
            raise ValueError("no results area (the firmware did not start, or this is not its memory)")
        if int(raw["version"]) != VERSION:
            raise ValueError(f"results area version {int(raw['version'])}, expected {VERSION}")
        return cls(raw)

    def __getitem__(self, key: str):
        return self.raw[key]

    @property
    def status(self) -> int:
        return int(self.raw["status"])

    @property
    def nr_nodes(self) -> int:
        return int(self.raw["nr_nodes"])

    @property
    def records(self) -> int:
        return int(self.raw["records_lo"]) | int(self.raw["records_hi"]) << 32

    @property
    def done(self) -> int:
        return int(self.raw["done_lo"]) | int(self.raw["done_hi"]) << 32

    def distances(self) -> list[list[int]]:
        n = self.nr_nodes
        return self.raw["distance"][:n, :n].astype(int).tolist()

    def cpus(self) -> list[int]:
        """The node of each CPU, in SRAT order."""
        return self.raw["cpu_to_node"][: int(self.raw["nr_cpus"])].astype(int).tolist()

    def nodes(self) -> list[dict]:
        out = []
        for i in range(self.nr_nodes):
            n = self.raw["node"][i]
            srat = [((int(n["srat_base_hi"][k]) << 32) | int(n["srat_base_lo"][k]),
                     (int(n["srat_len_hi"][k]) << 32) | int(n["srat_len_lo"][k])) for k in range(int(n["nr_srat"]))]
            usable = [(int(n["range_start"][k]), int(n["range_end"][k])) for k in range(int(n["nr_ranges"]))]
            zones = []
            for z in n["zone"][: int(n["nr_zones"])]:
                lo, hi = int(z["start_pfn"]), int(z["start_pfn"]) + int(z["spanned_pages"])
                zones.append({"zone": ZONE_NAMES[int(z["type"])], "start_pfn": lo, "spanned_pages": hi - lo,
                              "usable_pfns": [(max(a, lo), min(b, hi)) for a, b in usable if max(a, lo) < min(b, hi)]})
            out.append({
                "node": i,
                "memory": [{"base": b, "size": s} for b, s in srat],
                "start_pfn": int(n["start_pfn"]), "spanned_pages": int(n["spanned_pages"]),
                "usable_pfns": usable,
                "zones": zones,
                "cpus": [c for c, node in enumerate(self.cpus()) if node == i],
                "zonelist": n["zonelist"][: self.nr_nodes].astype(int).tolist(),
            })
        return out

    def hmat_latency(self) -> list[list[int]] | None:
        """HMAT access latency (ns), initiator x target, when the guest found an HMAT."""
        n = self.nr_nodes
        return self.raw["hmat_latency"][:n, :n].astype(int).tolist() if int(self.raw["has_hmat"]) else None

    def nr_free(self) -> np.ndarray:
        """Free blocks [node, migratetype, order], as Machine.nr_free()."""
        return self.raw["nr_free"][: self.nr_nodes].astype(np.uint64)

    def watermarks(self) -> dict[int, dict[str, int]]:
        """min / low / high watermarks in pages per node, as the guest set them up."""
        return {n: dict(zip(WMARK_NAMES, self.raw["watermark"][n].tolist(), strict=True))
                for n in range(self.nr_nodes)}

    def thermal(self) -> dict[int, dict[str, int]]:
        """Per node the thermal model's temperature, peak and throttled ns, as Machine.thermal() names them."""
        return {n: {"temperature": int(self.raw["thermal_temp"][n]), "peak": int(self.raw["thermal_peak"][n]),
                    "throttled_ns": int(self.raw["thermal_throttled_ns"][n])} for n in range(self.nr_nodes)}

    def free_pages(self) -> list[int]:
        """Free pages in the buddy lists per node (NR_FREE_PAGES)."""
        return (self.nr_free() << np.arange(NR_ORDERS, dtype=np.uint64)).sum(axis=(1, 2)).astype(int).tolist()
