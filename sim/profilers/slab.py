"""Slab profiler: slab memory over time and, at the end, tools/mm/slabinfo's Loss per cache and
the kmalloc rounding waste (see kernel_model.slabinfo)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel_model import Machine
from kernel_model.snapshot import Snapshots
from sim.profilers.registry import Profiler, Section, register
from sim.profilers.sampling import Sampling
from sim.profilers.series import Series

VERSION = 1


@dataclass
class SlabProfiler(Sampling):
    machine: Machine
    max_points: int = 200
    top: int = 10
    _series: Series = field(init=False)

    def __post_init__(self) -> None:
        self._series = Series(states=("slab_pages",), max_points=self.max_points)

    def take(self, snaps: Snapshots) -> None:
        self._series.extend(snaps.records.tolist(), slab_pages=snaps.slab_pages.tolist())

    def result(self) -> dict:
        waste = self.machine.slab_waste()
        caches = sorted(((v["loss"], name) for name, v in waste["caches"].items() if v["loss"]), reverse=True)
        return {"version": VERSION, "unit": "pages, bytes", "records": self._series.records,
                "slab_pages": self._series["slab_pages"], "total_loss": waste["total_loss"],
                "total_kmalloc_rounding": waste["total_kmalloc_rounding"],
                "top_loss": [{"cache": name, **waste["caches"][name]} for _, name in caches[: self.top]],
                "large_kmalloc": waste["large_kmalloc"]}


def _summary(r: dict) -> str:
    return f"slab loss {r['total_loss']:,} B, rounding {r['total_kmalloc_rounding']:,} B"


def _section(r: dict) -> Section:
    return Section([("layout loss (bytes)", f"{r['total_loss']:,}"),
                    ("kmalloc rounding waste (bytes)", f"{r['total_kmalloc_rounding']:,}")],
                   [("Caches by loss", r["top_loss"])])


def _timeline(r: dict, track) -> None:
    for ts, pages in zip(r["records"], r["slab_pages"], strict=True):
        track.counter("slab pages", ts, {"pages": pages})


def _metrics(r: dict) -> dict[str, float]:
    return {"total_loss_bytes": r["total_loss"], "kmalloc_rounding_bytes": r["total_kmalloc_rounding"],
            "slab_pages_peak": max(r["slab_pages"], default=0),
            "slab_pages_final": r["slab_pages"][-1] if r["slab_pages"] else 0}


PROFILER = register(Profiler(
    "slab", "Slab", lambda ctx: SlabProfiler(ctx.machine),
    doc="slab pages over time, slabinfo's Loss per cache and the kmalloc rounding waste",
    metrics=_metrics, summary=_summary, section=_section, timeline=_timeline))
