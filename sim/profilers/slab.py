"""Slab profiler: slab memory over time and, at the end, tools/mm/slabinfo's Loss per cache and
the kmalloc rounding waste (see kernel_model.slabinfo)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel_model.snapshot import Snapshots
from sim.profilers.sampling import Sampling

VERSION = 1


@dataclass
class SlabProfiler(Sampling):
    machine: object
    max_points: int = 200
    top: int = 10
    _records: list[int] = field(default_factory=list)
    _slab_pages: list[int] = field(default_factory=list)

    def take(self, snaps: Snapshots) -> None:
        self._records.extend(snaps.records.tolist())
        self._slab_pages.extend(snaps.slab_pages.tolist())
        while len(self._records) > self.max_points:
            self._records, self._slab_pages = self._records[1::2], self._slab_pages[1::2]

    def result(self) -> dict:
        waste = self.machine.slab_waste()
        caches = sorted(((v["loss"], name) for name, v in waste["caches"].items() if v["loss"]), reverse=True)
        return {"version": VERSION, "unit": "pages, bytes", "records": self._records,
                "slab_pages": self._slab_pages, "total_loss": waste["total_loss"],
                "total_kmalloc_rounding": waste["total_kmalloc_rounding"],
                "top_loss": [{"cache": name, **waste["caches"][name]} for _, name in caches[: self.top]],
                "large_kmalloc": waste["large_kmalloc"]}
