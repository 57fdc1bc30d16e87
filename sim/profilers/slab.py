"""Slab profiler: slab memory over time and, at the end, tools/mm/slabinfo's Loss per cache, the
kmalloc rounding waste (see kernel_model.slabinfo) and the layout of the caches holding the most
slab pages (object size, objects per slab, slab order)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kernel_model import Machine
from kernel_model.snapshot import Snapshots
from sim.profilers.registry import BarChart, Column, Fact, Figure, LineChart, Profiler, Section, Table, register
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
                "large_kmalloc": waste["large_kmalloc"], "caches": self._layouts(waste)}

    def _layouts(self, waste: dict) -> list[dict]:
        """The caches holding the most slab pages: their layout (object size, objects per slab,
        slab order) and use, as /proc/slabinfo shows them."""
        rows = []
        for cache in self.machine.caches():
            st = self.machine.slab_stats(cache)
            if st["slabs"]:
                rows.append({"cache": cache.name, "object_size": st["object_size"], "slab_size": st["slab_size"],
                             "objects_per_slab": st["objs_per_slab"], "order": st["order"], "slabs": st["slabs"],
                             "pages": st["slabs"] << st["order"], "active_objects": st["objects"],
                             "total_objects": st["total_objects"],
                             "loss": waste["caches"].get(cache.name, {}).get("loss", 0)})
        rows.sort(key=lambda c: (-c["pages"], c["cache"]))
        return rows[: 2 * self.top]


def _summary(r: dict) -> str:
    return f"slab loss {r['total_loss']:,} B, rounding {r['total_kmalloc_rounding']:,} B"


LOSS = ("Loss (tools/mm/slabinfo's): the bytes of slab pages not holding an object's requested size: the "
        "padding of each object to its slab size and the unused tail of each slab. kmalloc rounding: the bytes "
        "kmalloc hands out beyond what was asked (a 100-byte request takes a kmalloc-128 object).")


def _section(r: dict) -> Section:
    peak = max(r["slab_pages"], default=0)
    return Section([Fact("layout loss", r["total_loss"], "bytes"),
                    Fact("kmalloc rounding waste", r["total_kmalloc_rounding"], "bytes"),
                    Fact("slab pages at the end", r["slab_pages"][-1] if r["slab_pages"] else 0, "pages"),
                    Fact("slab pages at the peak", peak, "pages"),
                    Fact("large kmalloc calls (page allocator)", r["large_kmalloc"]["calls"], "count")],
                   [Table("Caches by loss", r["top_loss"], (
                       Column("cache", "cache", "text"), Column("loss", "loss", "bytes"),
                       Column("kmalloc_calls", "kmalloc calls", "count"),
                       Column("kmalloc_requested", "kmalloc requested", "bytes"),
                       Column("kmalloc_rounding", "kmalloc rounding", "bytes"))),
                    Table("Caches by slab pages: layout and use", r.get("caches", []), (
                        Column("cache", "cache", "text"), Column("object_size", "object size", "bytes"),
                        Column("slab_size", "slab size (object + padding)", "bytes"),
                        Column("objects_per_slab", "objects per slab", "count"),
                        Column("order", "slab order", "count"), Column("slabs", "slabs", "count"),
                        Column("pages", "pages", "pages"), Column("active_objects", "active objects", "objects"),
                        Column("total_objects", "total objects", "objects"), Column("loss", "loss", "bytes")))],
                   [LOSS])


def _charts(results: Mapping[str, dict]) -> list:
    caches = list(dict.fromkeys(c["cache"] for r in results.values() for c in r["top_loss"]))[:12]
    loss = {name: [next((c["loss"] for c in r["top_loss"] if c["cache"] == k), 0) for k in caches]
            for name, r in results.items()}
    return [LineChart("slab_pages.svg", "Slab pages over time", "records replayed", "pages",
                      {name: (r["records"], r["slab_pages"]) for name, r in results.items()}, yunit="pages"),
            BarChart("slab_loss.svg", "Layout loss per cache", "loss", "", caches, loss, horizontal=True,
                     unit="bytes")]


def _timeline(r: dict, track) -> None:
    for ts, pages in zip(r["records"], r["slab_pages"], strict=True):
        track.counter("slab pages", ts, {"pages": pages})


def _metrics(r: dict) -> dict[str, float]:
    return {"total_loss_bytes": r["total_loss"], "kmalloc_rounding_bytes": r["total_kmalloc_rounding"],
            "slab_pages_peak": max(r["slab_pages"], default=0),
            "slab_pages_final": r["slab_pages"][-1] if r["slab_pages"] else 0}


def _labels(r: dict) -> dict[str, str]:
    return {"top_loss_cache": r["top_loss"][0]["cache"]} if r["top_loss"] else {}


FIGURES = (Figure("total_loss_bytes", "bytes", "slab layout loss"),
           Figure("kmalloc_rounding_bytes", "bytes", "kmalloc rounding waste"),
           Figure("slab_pages_peak", "pages", "slab pages at the peak"),
           Figure("slab_pages_final", "pages", "slab pages at the end"),
           Figure("top_loss_cache", "text", "the cache losing most"))


PROFILER = register(Profiler(
    "slab", "Slab", lambda ctx: SlabProfiler(ctx.machine),
    doc="slab pages over time, slabinfo's Loss per cache and the kmalloc rounding waste",
    metrics=_metrics, labels=_labels, figures=FIGURES, summary=_summary, section=_section, charts=_charts,
    timeline=_timeline))
