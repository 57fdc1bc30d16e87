"""What the views show: one immutable picture of a variant (a Frame), built where the data is
(the replay thread, a saved report, a guest's RAM) and handed whole to the UI thread, which
never reads the machine itself.

A frame carries the sections its source could fill: a live run fills the overview figures at
every frame and the section of the view on screen (the others are None until it is shown),
a saved report what report.json kept, a guest what its results area holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# the sections a frame may carry besides the overview's figures, by the view that shows them
SECTIONS = ("buddy", "slab", "numa", "caches", "leaks", "stacks")


@dataclass(frozen=True)
class Node:
    """One node's free memory: pages now, against its size and watermarks, and over time."""
    node: int
    free_pages: int
    managed_pages: int
    watermarks: tuple[int, int, int] | None          # min, low, high (pages)
    free_history: tuple[int, ...] = ()                # free pages at each sample, oldest first

    @property
    def state(self) -> str:
        """Where free memory stands against the watermarks (Linux's zone_watermark_ok terms)."""
        if self.watermarks is None:
            return "-"
        low_min, low, high = self.watermarks
        if self.free_pages <= low_min:
            return "below min"
        if self.free_pages <= low:
            return "below low"
        return "ok" if self.free_pages > high else "below high"


@dataclass(frozen=True)
class SlabRow:
    """A slabtop row: OBJS ACTIVE USE OBJ-SIZE SLABS OBJ/SLAB and the pages and layout loss."""
    cache: str
    objects: int | None     # num_objs (None: the source does not know it)
    active: int             # active_objs
    objsize: int
    slabs: int
    objs_per_slab: int | None
    pages: int | None
    loss: int | None        # bytes: slabs * slab bytes - active * objsize (tools/mm/slabinfo's Loss)

    @property
    def use(self) -> float | None:
        return self.active / self.objects if self.objects else None


@dataclass(frozen=True)
class Frame:
    """A variant as the views see it at one point of its run."""
    kind: str                                         # "live", "report" or "guest"
    scenario: str
    variant: str
    records: int                                      # records replayed at this point
    total: int                                        # records in the variant's workload
    state: str                                        # running, paused, held, done, stopped, booting ...
    seq: int = 0                                      # increases with every frame a source makes
    now_ns: int = 0                                   # simulated time (TIME records)
    replay_rate: float | None = None                  # records per wall-clock second, lately
    speed: float | None = None                        # the pace asked for (records/s); None: as fast as it goes
    nodes: tuple[Node, ...] = ()
    rates: Mapping[str, Any] | None = None            # the real-time tracker's latest(): rates, trend, exhaustion
    alerts: tuple[Mapping[str, Any], ...] = ()
    order9_history: tuple[int, ...] = ()              # free blocks of order >= 9, all nodes, over time
    buddy: Buddy | None = None
    slab: Slab | None = None
    numa: Numa | None = None
    caches: Caches | None = None
    leaks: Mapping[str, Any] | None = None            # the leak detector's result() at its latest scan
    stacks: Stacks | None = None
    note: str = ""                                    # what the source wants said (a guest's stage ...)

    @property
    def progress(self) -> float:
        return min(self.records / self.total, 1.0) if self.total else 0.0


@dataclass(frozen=True)
class Buddy:
    free_area: tuple[tuple[tuple[int, ...], ...], ...] | None   # [node][migratetype][order] free blocks
    unusable: tuple[tuple[int, ...], ...]                       # [node][order] unusable free index (thousandths)
    extfrag: tuple[tuple[int, ...], ...] = ()                   # [node][order] extfrag index (thousandths)
    free_area_note: str = ""                                    # when the free-area table is not "now"


@dataclass(frozen=True)
class Slab:
    rows: tuple[SlabRow, ...]
    pages_history: tuple[int, ...] = ()
    total_loss: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Numa:
    nodes: tuple[Mapping[str, Any], ...]              # node, utilisation, free, numastat fields, accesses
    locality: float | None = None
    locality_history: tuple[float, ...] = ()
    cpus: tuple[Mapping[str, Any], ...] = ()          # cpu, node, local, remote, cost_ns
    hot_sites: tuple[Mapping[str, Any], ...] = ()     # site, remote, local
    note: str = ""
    temperatures: tuple[Mapping[str, Any], ...] = ()  # node, temperature, peak, throttled_ns, history (thermal model)
    throttle: int | None = None                       # the thermal model's throttle temperature
    migrations: tuple[Mapping[str, Any], ...] = ()    # migration recommendations with their cost
    balance: tuple[Mapping[str, Any], ...] = ()       # load-balancing advice


@dataclass(frozen=True)
class CacheLevel:
    name: str
    hits: int
    misses: int
    miss_ratio_history: tuple[float, ...] = ()

    @property
    def miss_ratio(self) -> float:
        return self.misses / (self.hits + self.misses) if self.hits + self.misses else 0.0


@dataclass(frozen=True)
class Caches:
    levels: tuple[CacheLevel, ...]
    heatmap_name: str = ""
    heatmap: tuple[tuple[int, ...], ...] = ()         # [window][set bin] misses, oldest first
    coherence: tuple[Mapping[str, Any], ...] = ()     # per CPU: cpu and the profiler's coherence counters
    shared_lines: tuple[Mapping[str, Any], ...] = ()  # lines with coherence misses: line, counts, kind, fix
    amat: tuple[Mapping[str, Any], ...] = ()          # per CPU: cpu, accesses, amat_ns, served (shares)
    latency_histogram: tuple[tuple[float, int], ...] = ()   # (from ns, accesses)
    alignment: tuple[Mapping[str, Any], ...] = ()     # size classes: cache, placements, straddling, affected, fix


def cache_extras(r: Mapping[str, Any]) -> dict[str, Any]:
    """The Caches fields from a cache profiler result's coherence, latency and alignment parts."""
    coh, lat, al = r.get("coherence"), r.get("latency"), r.get("alignment")
    return {
        "coherence": tuple({"cpu": int(c), **v} for c, v in coh["cpus"].items()) if coh else (),
        "shared_lines": tuple({k: ln[k] for k in ("line_addr", "coherence_misses", "false_sharing", "true_sharing",
                                                  "kind", "fix")} for ln in coh["lines"]) if coh else (),
        "amat": tuple({"cpu": int(c), "accesses": v["accesses"], "amat_ns": v["amat_ns"], "served": v["served"]}
                      for c, v in lat["cpus"].items()) if lat else (),
        "latency_histogram": tuple(zip(lat["histogram"]["floor_ns"], lat["histogram"]["accesses"], strict=True))
        if lat else (),
        "alignment": tuple({k: c[k] for k in ("cache", "placements", "straddling", "affected", "fix")}
                           for c in al["classes"]) if al else (),
    }


@dataclass(frozen=True)
class Stacks:
    cpus: tuple[Mapping[str, Any], ...]               # cpu, depth, high_water, overflows, calls
    stack_size: int
    depth_history: tuple[tuple[int, ...], ...] = ()   # [cpu][sample] bytes
    deepest: Mapping[str, Any] | None = None          # cpu, bytes, functions (task)
    largest_frames: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    tasks: tuple[Mapping[str, Any], ...] = ()         # task, high_water, overflows, calls, cpu (TASK records)
    suggestions: Mapping[str, Any] | None = None      # dominant frames and recursion (sim/profilers/stack.py)


def numa_parts(r: dict, samples: int) -> dict[str, Any]:
    """The NUMA result's thermal, migration and balance parts as a frame's Numa takes them; the
    temperature history up to its first `samples` samples."""
    out: dict[str, Any] = {"migrations": tuple(r.get("migration_recommendations", ())),
                           "balance": tuple((r.get("load_balance") or {}).get("advice", ()))}
    t = r.get("thermal")
    if t is not None:
        history = t["temperature_over_time"][:samples]
        out["temperatures"] = tuple({"node": int(n), **x, "history": tuple(h[int(n)] for h in history)}
                                    for n, x in t["nodes"].items())
        out["throttle"] = t["throttle"]
    return out
