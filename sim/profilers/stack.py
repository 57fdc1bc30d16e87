"""Stack profiler: per-CPU depth from CALL/RET, high-water marks and the chain that reached
them, overflows against the stack size (16 KiB, Linux's THREAD_SIZE on x86-64), the largest
frames, and Linux-style kstack_* buckets of the high-water marks."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel_model.snapshot import Snapshots
from sim.profilers.sampling import Sampling

VERSION = 1
BUCKETS = (("kstack_1k", 1 << 10), ("kstack_2k", 2 << 10), ("kstack_4k", 4 << 10), ("kstack_8k", 8 << 10),
           ("kstack_16k", 16 << 10), ("kstack_32k", 32 << 10), ("kstack_64k", 64 << 10))


@dataclass
class StackProfiler(Sampling):
    machine: object
    stack_size: int = 16 << 10
    top: int = 10
    max_points: int = 200
    _records: list[int] = field(default_factory=list)
    _depths: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.machine.enable_stacks(self.stack_size)

    def take(self, snaps: Snapshots) -> None:
        self._records.extend(snaps.records.tolist())
        self._depths.extend(snaps.stack_depth.tolist())
        while len(self._records) > self.max_points:
            self._records, self._depths = self._records[1::2], self._depths[1::2]

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
            "records": self._records, "depth_over_time": self._depths,
            "cpus": [{"cpu": c, "high_water": s["high_water"], "overflows": s["overflows"], "calls": s["calls"]}
                     for c, s in enumerate(stacks)],
            "deepest_chain": {"cpu": deepest, "bytes": stacks[deepest]["high_water"],
                              "functions": [names[i] for i in stacks[deepest]["chain"]]} if stacks else None,
            "largest_frames": [{"function": names[i], "bytes": f} for f, i in largest],
            "kstack_buckets": buckets,
        }
