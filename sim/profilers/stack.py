"""Stack profiler: per-CPU depth from CALL/RET, high-water marks and the chain that reached
them, overflows against the stack size (16 KiB, Linux's THREAD_SIZE on x86-64), the largest
frames, and Linux-style kstack_* buckets of the high-water marks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kernel_model import Machine
from kernel_model.snapshot import Snapshots
from sim.fields import Field, Int
from sim.profilers.registry import BarChart, Column, Fact, Figure, LineChart, Profiler, Section, Table, register
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
                              "functions": [names[i] for i in stacks[deepest]["chain"]],
                              "frame_bytes": [int(frames[i]) for i in stacks[deepest]["chain"]]} if stacks else None,
            "largest_frames": [{"function": names[i], "bytes": f} for f, i in largest],
            "kstack_buckets": buckets,
        }


def _summary(r: dict) -> str:
    return (f"stack high-water {max(c['high_water'] for c in r['cpus']):,} B of {r['stack_size']:,}, "
            f"overflows {sum(c['overflows'] for c in r['cpus']):,}")


BUCKETS_NOTE = ("kstack buckets (as Linux's CONFIG_DEBUG_STACK_USAGE reports): CPUs by the smallest power of two "
                "holding their high-water mark. The stack limit is THREAD_SIZE (16 KiB on x86-64); a call beyond it "
                "is an overflow.")


def _runs(chain: dict) -> list[dict]:
    """The deepest chain, outermost frame first, with repeated frames (recursion) as one row."""
    rows: list[dict] = []
    depth = 0
    for fn, size in zip(chain["functions"], chain.get("frame_bytes") or [0] * len(chain["functions"]), strict=True):
        if rows and rows[-1]["function"] == fn:
            rows[-1]["times"] += 1
        else:
            rows.append({"frames": [depth, depth], "function": fn, "frame": size, "times": 1, "stack": 0})
        depth += 1
        rows[-1]["frames"][1] = depth - 1
        rows[-1]["stack"] += size
    below = 0
    for row in rows:
        below += row["stack"]
        row["depth_bytes"] = below
    return rows


def _section(r: dict) -> Section:
    high = max((c["high_water"] for c in r["cpus"]), default=0)
    chain = r["deepest_chain"]
    cpus = [{**c, "share": c["high_water"] / r["stack_size"]} for c in r["cpus"]]
    buckets = [{"bucket": k, "cpus": n} for k, n in sorted(r["kstack_buckets"].items(), key=_bucket_order)]
    return Section([Fact("stack limit", r["stack_size"], "bytes"), Fact("high-water mark", high, "bytes"),
                    Fact("overflows", sum(c["overflows"] for c in r["cpus"]), "count"),
                    Fact("deepest chain", chain["bytes"] if chain else 0, "bytes"),
                    Fact("frames in the deepest chain", len(chain["functions"]) if chain else 0, "count")],
                   [Table("Per CPU", cpus, (
                       Column("cpu", "CPU", "count"), Column("calls", "calls", "count"),
                       Column("high_water", "high-water mark", "bytes"),
                       Column("share", "share of the stack limit", "ratio"),
                       Column("overflows", "overflows", "count"))),
                    Table(f"The deepest chain (CPU {chain['cpu']}), outermost frame first" if chain else
                          "The deepest chain", _runs(chain) if chain else [], (
                        Column("frames", "frames", "range"), Column("function", "function", "text"),
                        Column("frame", "frame size", "bytes"), Column("times", "times in a row", "count"),
                        Column("depth_bytes", "stack used at its end", "bytes"))),
                    Table("Largest frames", r["largest_frames"], (
                        Column("function", "function", "text"), Column("bytes", "frame size", "bytes"))),
                    Table("kstack buckets", buckets, (
                        Column("bucket", "high-water mark within", "text"), Column("cpus", "CPUs", "count")))],
                   [BUCKETS_NOTE])


def _bucket_order(kv: tuple[str, int]) -> int:
    names = [b for b, _ in BUCKETS] + ["kstack_rest"]
    return names.index(kv[0]) if kv[0] in names else len(names)


def _charts(results: Mapping[str, dict]) -> list:
    charts: list = []
    for name, r in results.items():
        depth = r["depth_over_time"]
        cpus = len(depth[0]) if depth else 0
        charts.append(LineChart("stack_depth.svg", "Stack depth per CPU", "records replayed", "bytes",
                                {f"CPU {c}": (r["records"], [d[c] for d in depth]) for c in range(cpus)},
                                hlines=((r["stack_size"], "stack limit"),), yunit="bytes", variant=name))
    buckets = [b for b, _ in BUCKETS] + ["kstack_rest"]
    charts.append(BarChart("kstack_buckets.svg", "CPUs by stack high-water mark", "high-water mark within", "CPUs",
                           buckets, {name: [r["kstack_buckets"].get(b, 0) for b in buckets]
                                     for name, r in results.items()}))
    return charts


def _metrics(r: dict) -> dict[str, float]:
    high = max((c["high_water"] for c in r["cpus"]), default=0)
    chain = r["deepest_chain"]
    return {"high_water_bytes": high,
            "overflows": sum(c["overflows"] for c in r["cpus"]),
            "deepest_chain_bytes": chain["bytes"] if chain else 0,
            "stack_size_bytes": r["stack_size"], "high_water_share": round(high / r["stack_size"], 6),
            "deepest_chain_frames": len(chain["functions"]) if chain else 0,
            "largest_frame_bytes": r["largest_frames"][0]["bytes"] if r["largest_frames"] else 0}


def _labels(r: dict) -> dict[str, str]:
    out = {"largest_frame": r["largest_frames"][0]["function"]} if r["largest_frames"] else {}
    chain = r["deepest_chain"]
    if chain and chain["functions"]:
        out["deepest_chain_entry"] = chain["functions"][0]
        out["deepest_chain_innermost"] = chain["functions"][-1]
    return out


FIGURES = (Figure("high_water_bytes", "bytes", "stack high-water mark"),
           Figure("overflows", "count", "stack overflows"),
           Figure("deepest_chain_bytes", "bytes", "bytes of the deepest chain"),
           Figure("stack_size_bytes", "bytes", "stack limit"),
           Figure("high_water_share", "ratio", "high-water mark as a share of the stack limit"),
           Figure("deepest_chain_frames", "count", "frames in the deepest chain"),
           Figure("largest_frame_bytes", "bytes", "the largest frame"),
           Figure("largest_frame", "text", "the function with the largest frame"),
           Figure("deepest_chain_entry", "text", "the outermost function of the deepest chain"),
           Figure("deepest_chain_innermost", "text", "the innermost function of the deepest chain"))


PROFILER = register(Profiler(
    "stack", "Stacks", lambda ctx: StackProfiler(ctx.machine, stack_size=ctx.options["stack_size"]),
    options=(Field("stack_size", Int(64, 1 << 30), 16 << 10,
                   "the stack limit in bytes (Linux's THREAD_SIZE: 16 KiB)"),),
    doc="per-CPU stack depth from CALL/RET, high-water marks, the deepest chain, overflows, largest frames",
    metrics=_metrics, labels=_labels, figures=FIGURES, summary=_summary, section=_section, charts=_charts))
