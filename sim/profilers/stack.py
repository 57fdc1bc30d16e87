"""Stack profiler: per-CPU and per-task depth from CALL/RET (TASK records switch the task a CPU
runs; each task has its own stack), high-water marks and the chain that reached them, overflows
against the stack size (16 KiB, Linux's THREAD_SIZE on x86-64), the largest frames, Linux-style
kstack_* buckets of the high-water marks, and suggestions read off the high-water chains: frames
that dominate the deepest chain (what shrinking them saves) and recursion that iteration (or a
tail call the compiler turns into a jump) would flatten, with the depth and bytes at stake."""

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
DOMINANT_SHARE = 0.10      # a frame holding this share of the deepest chain's bytes dominates it
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
        tasks = self.machine.task_stacks()
        names = self.machine.site_names()
        every = [*stacks, *tasks.values()]          # the CPUs' own tasks, then the trace's tasks
        buckets = dict.fromkeys([b for b, _ in BUCKETS] + ["kstack_rest"], 0)
        for s in every:
            if s["calls"]:
                key = next((b for b, limit in BUCKETS if s["high_water"] <= limit), "kstack_rest")
                buckets[key] += 1
        deepest = max(range(len(every)), key=lambda k: every[k]["high_water"], default=None)
        largest = sorted(((int(f), i) for i, f in enumerate(frames) if f), reverse=True)[: self.top]
        chain = None
        if every:
            d = every[deepest]
            chain = {"cpu": deepest if deepest < len(stacks) else d["hw_cpu"], "bytes": d["high_water"],
                     "functions": [names[i] for i in d["chain"]], "frame_bytes": [int(frames[i]) for i in d["chain"]]}
            if deepest >= len(stacks):
                chain["task"] = list(tasks)[deepest - len(stacks)]
        return {
            "version": VERSION, "unit": "bytes", "stack_size": self.stack_size,
            "records": self._series.records, "depth_over_time": self._series["depth"],
            "cpus": [{"cpu": c, "high_water": s["high_water"], "overflows": s["overflows"], "calls": s["calls"]}
                     for c, s in enumerate(stacks)],
            "tasks": [{"task": t, "high_water": s["high_water"], "overflows": s["overflows"], "calls": s["calls"],
                       "frames": len(s["chain"]), "cpu": s["hw_cpu"], "running_on": s["on_cpu"]}
                      for t, s in tasks.items()],
            "deepest_chain": chain,
            "largest_frames": [{"function": names[i], "bytes": f} for f, i in largest],
            "kstack_buckets": buckets,
            "suggestions": suggestions(every, deepest, names, len(stacks), list(tasks)),
        }


def _owner(k: int, nr_cpus: int, task_ids: list[int]) -> str:
    return f"cpu{k}" if k < nr_cpus else f"task {task_ids[k - nr_cpus]}"


def frame_suggestions(functions: list[str], sizes: list[int], high_water: int) -> list[dict]:
    """Frames of the deepest chain that hold DOMINANT_SHARE of its bytes or more: shrinking each to
    the chain's median frame (the lower median) saves (frame - median) bytes per occurrence."""
    if not sizes:
        return []
    median = sorted(sizes)[(len(sizes) - 1) // 2]
    out: dict[str, dict] = {}
    for fn, size in zip(functions, sizes, strict=True):
        if size < DOMINANT_SHARE * high_water or size <= median:
            continue
        row = out.setdefault(fn, {"function": fn, "frame": size, "occurrences": 0, "bytes_saved": 0})
        row["frame"] = max(row["frame"], size)
        row["occurrences"] += 1
        row["bytes_saved"] += size - median
    rows = sorted(out.values(), key=lambda r: (-r["bytes_saved"], r["function"]))
    for r in rows:
        r["share"] = r["frame"] / high_water
        r["median_frame"] = median
        r["high_water_after"] = high_water - r["bytes_saved"]
    return rows


def recursion(functions: list[str], sizes: list[int]) -> list[dict]:
    """The recursive parts of a chain: a function that appears twice was re-entered, so it and
    every function between its first and last appearance form a cycle (components merge when
    they overlap). Per cycle: its functions (self-recursion when one), the depth (appearances of
    its most repeated function), the bytes its span takes, and what iteration would save (the
    span less one frame of each of its functions)."""
    parent = list(range(len(functions)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for i, fn in enumerate(functions):
        first.setdefault(fn, i)
        last[fn] = i
    for fn, lo in first.items():
        for i in range(lo + 1, last[fn] + 1):
            parent[find(i)] = find(lo)
    spans: dict[int, list[int]] = {}
    for i in range(len(functions)):
        spans.setdefault(find(i), []).append(i)
    out = []
    for pos in spans.values():
        names = [functions[i] for i in pos]
        if len(pos) < 2:
            continue
        members = sorted(set(names))
        span_bytes = sum(sizes[i] for i in pos)
        one_cycle = sum(max(sizes[i] for i in pos if functions[i] == fn) for fn in members)
        out.append({"functions": members, "kind": "self" if len(members) == 1 else "mutual",
                    "depth": max(names.count(fn) for fn in members), "frames": len(pos),
                    "first_frame": pos[0], "bytes": span_bytes, "bytes_saved": span_bytes - one_cycle})
    return out


def suggestions(every: list[dict], deepest: int | None, names, nr_cpus: int, task_ids: list[int]) -> dict:
    """Frame-size suggestions on the deepest chain; recursion found in any high-water chain (the
    deepest instance of each cycle of functions, where it was found)."""
    if deepest is None:
        return {"dominant_share": DOMINANT_SHARE, "frames": [], "recursion": []}
    d = every[deepest]
    frames = frame_suggestions([names[i] for i in d["chain"]], d["chain_bytes"], d["high_water"])
    found: dict[tuple[str, ...], dict] = {}
    for k, s in enumerate(every):
        for r in recursion([names[i] for i in s["chain"]], s["chain_bytes"]):
            key = tuple(r["functions"])
            if key not in found or r["bytes"] > found[key]["bytes"]:
                found[key] = {**r, "stack": _owner(k, nr_cpus, task_ids), "high_water": s["high_water"]}
    return {"dominant_share": DOMINANT_SHARE, "frames": frames,
            "recursion": sorted(found.values(), key=lambda r: (-r["bytes"], r["functions"]))}


def _stacks(r: dict) -> list[dict]:
    """Every stack of the result: the CPUs' own tasks', then the trace's tasks'."""
    return [*r["cpus"], *r.get("tasks", ())]


def _summary(r: dict) -> str:
    return (f"stack high-water {max(c['high_water'] for c in _stacks(r)):,} B of {r['stack_size']:,}, "
            f"overflows {sum(c['overflows'] for c in _stacks(r)):,}")


BUCKETS_NOTE = ("kstack buckets (as Linux's CONFIG_DEBUG_STACK_USAGE reports): stacks (each CPU's own task, and "
                "each task of the trace's TASK records) by the smallest power of two holding their high-water mark. "
                "The stack limit is THREAD_SIZE (16 KiB on x86-64); a call beyond it is an overflow.")
SUGGESTIONS_NOTE = (f"Suggestions. A frame dominates the deepest chain when it alone holds {DOMINANT_SHARE:.0%} of the "
                    "chain's bytes or more: shrinking it to the chain's median frame (moving large locals to the heap "
                    "or a per-CPU buffer) saves the difference at each appearance, and the high-water mark drops by "
                    "as much. A function appearing twice in a chain was re-entered: it and the frames between its "
                    "appearances are a recursive cycle (self: one function; mutual: several). Written as a loop (or a "
                    "tail call the compiler turns into a jump), the cycle would take one frame of each of its "
                    "functions: the bytes saved are its span's bytes less those.")


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
    high = max((c["high_water"] for c in _stacks(r)), default=0)
    chain = r["deepest_chain"]
    cpus = [{**c, "share": c["high_water"] / r["stack_size"]} for c in r["cpus"]]
    tasks = [{**t, "share": t["high_water"] / r["stack_size"]} for t in r.get("tasks", ())]
    buckets = [{"bucket": k, "cpus": n} for k, n in sorted(r["kstack_buckets"].items(), key=_bucket_order)]
    sug = r.get("suggestions") or {"frames": [], "recursion": []}
    where = (f"task {chain['task']}, on CPU {chain['cpu']}" if "task" in chain else f"CPU {chain['cpu']}") \
        if chain else ""
    recursion = [{**x, "functions": " <-> ".join(x["functions"])} for x in sug["recursion"]]
    return Section([Fact("stack limit", r["stack_size"], "bytes"), Fact("high-water mark", high, "bytes"),
                    Fact("overflows", sum(c["overflows"] for c in _stacks(r)), "count"),
                    Fact("deepest chain", chain["bytes"] if chain else 0, "bytes"),
                    Fact("frames in the deepest chain", len(chain["functions"]) if chain else 0, "count"),
                    Fact("tasks", len(tasks), "count"),
                    Fact("saved by shrinking the dominant frames", sum(f["bytes_saved"] for f in sug["frames"]),
                         "bytes"),
                    Fact("recursive cycles", len(sug["recursion"]), "count")],
                   [Table("Per CPU", cpus, (
                       Column("cpu", "CPU", "count"), Column("calls", "calls", "count"),
                       Column("high_water", "high-water mark", "bytes"),
                       Column("share", "share of the stack limit", "ratio"),
                       Column("overflows", "overflows", "count"))),
                    Table("Per task (TASK records)", tasks, (
                        Column("task", "task", "count"), Column("calls", "calls", "count"),
                        Column("high_water", "high-water mark", "bytes"),
                        Column("share", "share of the stack limit", "ratio"),
                        Column("frames", "frames at it", "count"), Column("cpu", "on CPU then", "count"),
                        Column("overflows", "overflows", "count"))),
                    Table("Suggestions: frames that dominate the deepest chain", sug["frames"], (
                        Column("function", "function", "text"), Column("frame", "frame size", "bytes"),
                        Column("share", "share of the chain", "ratio"), Column("occurrences", "times in it", "count"),
                        Column("median_frame", "the chain's median frame", "bytes"),
                        Column("bytes_saved", "saved if shrunk to it", "bytes"),
                        Column("high_water_after", "high-water mark after", "bytes"))),
                    Table("Suggestions: recursion to turn into iteration (or a tail call)", recursion, (
                        Column("functions", "cycle", "text"), Column("kind", "recursion", "text"),
                        Column("depth", "depth", "count"), Column("frames", "frames", "count"),
                        Column("bytes", "bytes at stake", "bytes"), Column("bytes_saved", "saved as a loop", "bytes"),
                        Column("stack", "found on", "text"))),
                    Table(f"The deepest chain ({where}), outermost frame first" if chain else
                          "The deepest chain", _runs(chain) if chain else [], (
                        Column("frames", "frames", "range"), Column("function", "function", "text"),
                        Column("frame", "frame size", "bytes"), Column("times", "times in a row", "count"),
                        Column("depth_bytes", "stack used at its end", "bytes"))),
                    Table("Largest frames", r["largest_frames"], (
                        Column("function", "function", "text"), Column("bytes", "frame size", "bytes"))),
                    Table("kstack buckets", buckets, (
                        Column("bucket", "high-water mark within", "text"), Column("cpus", "CPUs", "count")))],
                   [BUCKETS_NOTE, SUGGESTIONS_NOTE])


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
    tasks = any(r.get("tasks") for r in results.values())
    charts.append(BarChart("kstack_buckets.svg", "Stacks (CPUs' and tasks') by high-water mark" if tasks else
                           "CPUs by stack high-water mark", "high-water mark within", "stacks" if tasks else "CPUs",
                           buckets, {name: [r["kstack_buckets"].get(b, 0) for b in buckets]
                                     for name, r in results.items()}))
    for name, r in results.items():
        tasks = sorted(r.get("tasks", ()), key=lambda t: (-t["high_water"], t["task"]))[:20]
        if tasks:
            charts.append(BarChart("stack_tasks.svg", "Stack high-water mark per task (the deepest 20)", "task",
                                   "bytes", [f"task {t['task']}" for t in tasks],
                                   {"high-water mark": [t["high_water"] for t in tasks]}, horizontal=True,
                                   unit="bytes", variant=name))
    return charts


def _metrics(r: dict) -> dict[str, float]:
    high = max((c["high_water"] for c in _stacks(r)), default=0)
    chain = r["deepest_chain"]
    out = {"high_water_bytes": high,
           "overflows": sum(c["overflows"] for c in _stacks(r)),
           "deepest_chain_bytes": chain["bytes"] if chain else 0,
           "stack_size_bytes": r["stack_size"], "high_water_share": round(high / r["stack_size"], 6),
           "deepest_chain_frames": len(chain["functions"]) if chain else 0,
           "largest_frame_bytes": r["largest_frames"][0]["bytes"] if r["largest_frames"] else 0}
    sug = r.get("suggestions") or {"frames": [], "recursion": []}
    out |= {"tasks": len(r.get("tasks", ())), "frame_saving_bytes": sum(f["bytes_saved"] for f in sug["frames"]),
            "recursive_cycles": len(sug["recursion"])}
    if sug["recursion"]:
        top = sug["recursion"][0]
        out |= {"recursion_bytes": top["bytes"], "recursion_saving_bytes": top["bytes_saved"],
                "recursion_depth": top["depth"]}
    if sug["frames"]:
        out["top_frame_bytes"] = sug["frames"][0]["frame"]
    return out


def _labels(r: dict) -> dict[str, str]:
    out = {"largest_frame": r["largest_frames"][0]["function"]} if r["largest_frames"] else {}
    chain = r["deepest_chain"]
    if chain and chain["functions"]:
        out["deepest_chain_entry"] = chain["functions"][0]
        out["deepest_chain_innermost"] = chain["functions"][-1]
    sug = r.get("suggestions") or {"frames": [], "recursion": []}
    if sug["frames"]:
        out["top_frame_suggestion"] = sug["frames"][0]["function"]
    if sug["recursion"]:
        out["top_recursion"] = " <-> ".join(sug["recursion"][0]["functions"])
        out["top_recursion_kind"] = sug["recursion"][0]["kind"]
    if chain and "task" in chain:
        out["deepest_task"] = str(chain["task"])
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
           Figure("deepest_chain_innermost", "text", "the innermost function of the deepest chain"),
           Figure("tasks", "count", "tasks of the trace's TASK records that made calls"),
           Figure("frame_saving_bytes", "bytes", "bytes saved by shrinking the frames that dominate the deepest chain"),
           Figure("top_frame_bytes", "bytes", "the frame that dominates the deepest chain most"),
           Figure("recursive_cycles", "count", "recursive cycles in the high-water chains"),
           Figure("recursion_bytes", "bytes", "bytes the largest recursive cycle takes"),
           Figure("recursion_saving_bytes", "bytes", "bytes saved by turning the largest recursive cycle into a loop"),
           Figure("recursion_depth", "count", "depth of the largest recursive cycle"),
           Figure("top_frame_suggestion", "text", "the function whose frame dominates the deepest chain"),
           Figure("top_recursion", "text", "the functions of the largest recursive cycle"),
           Figure("top_recursion_kind", "text", "whether the largest recursive cycle is self or mutual recursion"),
           Figure("deepest_task", "text", "the task with the deepest stack"))


PROFILER = register(Profiler(
    "stack", "Stacks", lambda ctx: StackProfiler(ctx.machine, stack_size=ctx.options["stack_size"]),
    options=(Field("stack_size", Int(64, 1 << 30), 16 << 10,
                   "the stack limit in bytes (Linux's THREAD_SIZE: 16 KiB)"),),
    doc="per-CPU and per-task stack depth from CALL/RET and TASK, high-water marks, the deepest chain, overflows, "
        "largest frames, frame-size and recursion suggestions",
    metrics=_metrics, labels=_labels, figures=FIGURES, summary=_summary, section=_section, charts=_charts))
