"""A saved run browsed with a time slider: frames built from report.json (the profilers' bounded
series, read at the slider's record count) and the /proc-format texts the run left beside it
(the free area, slabinfo, zoneinfo and numastat at the end of the run).

The slider moves over the fragmentation profiler's samples (it is on in every scenario); every
other series is read at its last sample at or before that record count.
"""

from __future__ import annotations

import bisect
import re
from pathlib import Path
from typing import Any

from kernel_model.procfs import parse_pagetypeinfo
from kernel_model.slabinfo import parse_slabinfo
from sim.report.directory import slug
from sim.tui.frame import Buddy, CacheLevel, Caches, Frame, Node, Numa, Slab, SlabRow, Stacks, cache_extras, numa_parts

END = "(at the end of the run)"


def _at(records: list[int], at: int) -> int:
    """Index of the last sample at or before record count `at` (-1: none yet)."""
    return bisect.bisect_right(records, at) - 1


def _upto(records: list[int], values: list, at: int) -> tuple:
    return tuple(values[:_at(records, at) + 1])


class ReportSource:
    """Frames of a report directory's variants; seek() moves the slider."""

    kind = "report"

    def __init__(self, report: dict, directory: str | Path, variant: str | None = None) -> None:
        self.report, self.directory = report, Path(directory)
        self.scenario = report["scenario"]
        self.variants = [v["name"] for v in report["variants"]]
        if variant is not None and variant not in self.variants:
            raise ValueError(f"{self.directory}: no variant {variant!r} (variants: {', '.join(self.variants)})")
        self.current = self.variants.index(variant) if variant is not None else 0
        self.error = None
        self.section = "overview"
        self.position = {name: len(self._axis(name)) - 1 for name in self.variants}   # start at the end
        self._seq = 0
        self._frame: Frame | None = None
        self._texts: dict[str, dict[str, Any]] = {}

    @property
    def views(self) -> set[str]:
        v = self._variant()
        return {"overview", "buddy", "slab", "numa",
                *(name for name, key in (("caches", "cache"), ("leaks", "leaks"), ("stacks", "stack")) if key in v)}

    def _variant(self, name: str | None = None) -> dict:
        return self.report["variants"][self.variants.index(name) if name else self.current]

    def _axis(self, name: str) -> list[int]:
        return self._variant(name)["fragmentation"]["records"] or [self.report["records"]]

    # -- the source protocol ------------------------------------------------------
    def frame(self) -> Frame | None:
        if self._frame is None:
            self._frame = self._build()
        return self._frame

    def begin(self) -> None:
        """Nothing waits for the screen."""

    def show(self, section: str) -> None:
        self.section = section

    def switch(self, step: int) -> None:
        self.current = (self.current + step) % len(self.variants)
        self._frame = None

    def seek(self, step: int) -> None:
        name = self.variants[self.current]
        self.position[name] = min(max(self.position[name] + step, 0), len(self._axis(name)) - 1)
        self._frame = None

    def stop(self, timeout: float = 0) -> None:
        """Nothing runs."""

    # -- building a frame -------------------------------------------------------
    def _build(self) -> Frame:
        name = self.variants[self.current]
        v, axis, i = self._variant(), self._axis(name), self.position[name]
        at = axis[i]
        frag = v["fragmentation"]
        texts = self._end_texts(name)
        snaps = frag["series"][:i + 1]
        zones = texts["zones"]
        nodes = tuple(Node(n, p["free_pages"], zones.get(n, {}).get("managed", 0),
                           tuple(zones[n][k] for k in ("min", "low", "high")) if n in zones else None,
                           tuple(s[n]["free_pages"] for s in snaps)) for n, p in enumerate(frag["series"][i]))
        rt = v.get("realtime")
        rates, alerts, now_ns = None, (), 0
        if rt and rt["snapshots"]:
            k = _at([s["records"] for s in rt["snapshots"]], at)
            if k >= 0:
                rates = rt["snapshots"][k]
                now_ns = rates["time_ns"]
            alerts = tuple(a for a in rt["alerts"] if a["records"] <= at)
        point = frag["series"][i]
        buddy = Buddy(texts["free_area"], tuple(tuple(p["unusable_index"]) for p in point),
                      tuple(tuple(p["extfrag_index"]) for p in point), END)
        self._seq += 1
        return Frame("report", self.scenario, name, at, self.report["records"], f"record {at:,} ({i + 1}/{len(axis)})",
                     seq=self._seq, now_ns=now_ns, nodes=nodes, rates=rates, alerts=alerts,
                     order9_history=tuple(sum(p["free_blocks_order_ge_9"] for p in s) for s in snaps),
                     buddy=buddy, slab=self._slab(v, texts, at), numa=self._numa(v, texts, at),
                     caches=self._caches(v.get("cache"), at), leaks=v.get("leaks"),
                     stacks=self._stacks(v.get("stack"), at),
                     note="left/right move through the run's samples (shift: ten at a time)")

    def _end_texts(self, name: str) -> dict[str, Any]:
        """The variant's /proc texts at the end of the run, read once (missing ones: empty)."""
        if name not in self._texts:
            prefix = self.directory / slug(name)
            free_area, zones, slabinfo, numastat = None, {}, [], {}
            text = _read(f"{prefix}.pagetypeinfo.txt")
            if text:
                free_area = tuple(tuple(tuple(row) for row in z.nr_free) for z in parse_pagetypeinfo(text))
            for block in re.split(r"^Node ", _read(f"{prefix}.zoneinfo.txt"), flags=re.M)[1:]:
                node = int(block.split(",")[0])
                values = {k: int(m.group(1)) for k in ("min", "low", "high", "managed")
                          if (m := re.search(rf"^\s+{k}\s+(\d+)$", block, re.M))}
                if values.get("managed"):   # a node's populated zones, summed
                    zone = zones.setdefault(node, dict.fromkeys(values, 0))
                    for k, v in values.items():
                        zone[k] += v
            slabinfo = parse_slabinfo(_read(f"{prefix}.slabinfo.txt")) if _read(f"{prefix}.slabinfo.txt") else []
            for n in range(len(zones)):
                lines = _read(f"{prefix}.node{n}.numastat.txt").split()
                numastat[n] = {k: int(x) for k, x in zip(lines[::2], lines[1::2], strict=True)}
            self._texts[name] = {"free_area": free_area, "zones": zones, "slabinfo": slabinfo, "numastat": numastat}
        return self._texts[name]

    @staticmethod
    def _slab(v: dict, texts: dict, at: int) -> Slab:
        s = v.get("slab")
        loss = {r["cache"]: r["loss"] for r in s["top_loss"]} if s else {}
        rows = tuple(SlabRow(r["name"], r["num_objs"], r["active_objs"], r["objsize"], r["num_slabs"],
                             r["objperslab"], r["num_slabs"] * r["pagesperslab"], loss.get(r["name"]))
                     for r in texts["slabinfo"] if r["num_slabs"] or r["name"] in loss)
        history = _upto(s["records"], s["slab_pages"], at) if s else ()
        return Slab(rows, history, s["total_loss"] if s else None,
                    f"caches {END}; loss of the {len(loss)} largest only" if s else f"caches {END}")

    @staticmethod
    def _numa(v: dict, texts: dict, at: int) -> Numa:
        r, stat = v.get("numa"), texts["numastat"]
        if r is None:
            return Numa(tuple({"node": n, **x} for n, x in stat.items()), note=f"numastat {END}")
        k = _at(r["records"], at)
        nodes = tuple({"node": int(n), "utilisation": x["utilisation"][k] if k >= 0 else None,
                       **stat.get(int(n), {}), "accesses": x["accesses"]} for n, x in r["nodes"].items())
        return Numa(nodes, r["locality"], _upto(r["records"], r["locality_over_time"], at), (),
                    tuple(r["remote_hot_spots"]["call_sites"]),
                    note=f"utilisation and locality at the slider; numastat, accesses and hot spots {END}"
                         + ("; temperatures at the slider" if "thermal" in r else ""), **numa_parts(r, k + 1))

    @staticmethod
    def _caches(r: dict | None, at: int) -> Caches | None:
        if r is None:
            return None
        name, heat = next(iter(r["heatmaps"].items()), ("", {"misses": []}))
        return Caches(tuple(CacheLevel(k, c["hits"], c["misses"], _upto(r["records"], c["miss_ratio_over_time"], at))
                            for k, c in r["caches"].items()), name, _upto(r["records"], heat["misses"], at),
                      **cache_extras(r))

    @staticmethod
    def _stacks(r: dict | None, at: int) -> Stacks | None:
        if r is None:
            return None
        history = _upto(r["records"], r["depth_over_time"], at)
        depth = history[-1] if history else [0] * len(r["cpus"])
        return Stacks(tuple({**c, "depth": depth[c["cpu"]]} for c in r["cpus"]), r["stack_size"],
                      tuple(zip(*history, strict=True)), r["deepest_chain"], tuple(r["largest_frames"]),
                      tuple(r.get("tasks", ())), r.get("suggestions"))


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""
