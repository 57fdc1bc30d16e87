"""Stack profiler: per-CPU depth from CALL/RET, high-water marks and the chain that reached
them, overflows against the stack size (16 KiB, Linux's THREAD_SIZE on x86-64), the largest
frames, and Linux-style kstack_* buckets of the high-water marks."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel_model import Machine
from kernel_model.snapshot import Snapshots
from sim.fields import Field, Int
from sim.profilers.registry import Profiler, Section, register
from sim.profilers.sampling import Sampling
from sim.profilers.series import Series

VERSION = 1
BUCKETS = (("kstack_1k", 1 << 10), ("kstack_2k", 2 << 10), ("kstack_4k", 4 << 10), ("kstack_8k", 8 << 10),
           ("kstack_16k", 16 << 10), ("kstack_32k", 32 << 10), ("kstack_64k", 64 << 10))


@dataclass
class StackProfiler(Sampling):
    machine: Machine
    stack_size: int = 16 << 10
    top: int = 10
    max_points: int = 200
    _series: Series = field(init=False)

    def __post_init__(self) -> None:
        self.machine.enable_stacks(self.stack_size)
        self._series = Series(states=("depth",), max_points=self.max_points)   # bytes per CPU

    def take(self, snaps: Snapshots) -> None:
        self._series.extend(snaps.records.tolist(), depth=snaps.stack_depth.tolist())

    def result(self) -> dict:
        stacks, frames = self.machine.stacks()
        names = self.machine.site_names()
        buckets = dict.fromkeys([b for b, _ in BUCKETS] + ["kstack_rest"], 0)
        for s in stacks:
            if s["calls"]:
                key = next((b for b, limit in BUCKETS if s["high_water"] <= limit), "kstack_rest")
                buckets[key] += 1
        deepest = max(range(len(stacks)), key=lambda c: stacks[c]["high_water"], default=None)
        largest = sorted(((int(f), i) for i, f in enumerate(frames) if f), reverse=True)[: self.top]
        return {
            "version": VERSION, "unit": "bytes", "stack_size": self.stack_size,
            "records": self._series.records, "depth_over_time": self._series["depth"],
            "cpus": [{"cpu": c, "high_water": s["high_water"], "overflows": s["overflows"], "calls": s["calls"]}
                     for c, s in enumerate(stacks)],
            "deepest_chain": {"cpu": deepest, "bytes": stacks[deepest]["high_water"],
                              "functions": [names[i] for i in stacks[deepest]["chain"]]} if stacks else None,
            "largest_frames": [{"function": names[i], "bytes": f} for f, i in largest],
            "kstack_buckets": buckets,
        }


def _summary(r: dict) -> str:
    return (f"stack high-water {max(c['high_water'] for c in r['cpus']):,} B of {r['stack_size']:,}, "
            f"overflows {sum(c['overflows'] for c in r['cpus']):,}")


def _section(r: dict) -> Section:
    return Section([("stack size (bytes)", f"{r['stack_size']:,}"),
                    ("deepest chain (bytes)", f"{r['deepest_chain']['bytes']:,}"),
                    ("kstack buckets", ", ".join(f"{k}: {x:,}" for k, x in r["kstack_buckets"].items()))],
                   [("Per CPU", r["cpus"]), ("Largest frames", r["largest_frames"])])


def _metrics(r: dict) -> dict[str, float]:
    return {"high_water_bytes": max((c["high_water"] for c in r["cpus"]), default=0),
            "overflows": sum(c["overflows"] for c in r["cpus"]),
            "deepest_chain_bytes": r["deepest_chain"]["bytes"] if r["deepest_chain"] else 0}


PROFILER = register(Profiler(
    "stack", "Stacks", lambda ctx: StackProfiler(ctx.machine, stack_size=ctx.options["stack_size"]),
    options=(Field("stack_size", Int(64, 1 << 30), 16 << 10,
                   "the stack limit in bytes (Linux's THREAD_SIZE: 16 KiB)"),),
    doc="per-CPU stack depth from CALL/RET, high-water marks, the deepest chain, overflows, largest frames",
    metrics=_metrics, summary=_summary, section=_section))
