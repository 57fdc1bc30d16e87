"""Scenario files (TOML): what to build, what to run on it, what to measure, where to write.
See docs/scenarios.md for the schema. A scenario is reproducible: same file and seed, same
report byte for byte."""

from __future__ import annotations

import copy
import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from kernel_model import Machine, Op, ReplayResult, Topology, TopologyError, trace
from kernel_model.caches import CacheConfigError
from kernel_model.trace import TraceFormatError
from kernel_model.units import parse_duration
from sim.driver import observe_now, replay_in_chunks
from sim.profilers import patterns
from sim.profilers.cache import CacheProfiler
from sim.profilers.fragmentation import FragmentationProfiler
from sim.profilers.leaks import LeakDetector
from sim.profilers.numa import NumaProfiler, what_if
from sim.profilers.realtime import RealtimeTracker
from sim.profilers.slab import SlabProfiler
from sim.profilers.stack import StackProfiler
from sim.report import chrome
from sim.workloads import kmalloc_churn, page_churn
from sim.workloads.call_stacks import call_stacks
from sim.workloads.ftrace import FtraceFormatError, import_ftrace
from sim.workloads.mixed_mobility import mixed_mobility_churn
from sim.workloads.object_access import object_access
from sim.workloads.object_graph import object_graph

VERSION = 1
SECTIONS = {"scenario", "machine", "workload", "profile", "variant", "output", "caches", "topology", "guest"}
MACHINE_KEYS = {"nodes", "node_mem", "cpus_per_node", "pcp", "mobility_grouping", "min_free_kbytes"}
GENERATORS = {
    "mixed_mobility": (mixed_mobility_churn, {"ops": "n_ops", "occupancy_pages": "occupancy_pages",
                                              "unmovable_fraction": "unmovable_fraction",
                                              "reclaimable_fraction": "reclaimable_fraction", "cpus": "cpus"}),
    "page_churn": (page_churn, {"ops": "n_ops", "occupancy_pages": "occupancy_pages", "cpus": "cpus",
                                "orders": "orders", "order_weights": "order_weights",
                                "migratetype_weights": "migratetype_weights"}),
    "kmalloc_churn": (kmalloc_churn, {"ops": "n_ops", "live_objects": "live_objects", "cpus": "cpus",
                                      "sizes": "sizes", "weights": "weights",
                                      "remote_free_fraction": "remote_free_fraction", "phases": "phases"}),
    "call_stacks": (call_stacks, {"excursions": "excursions", "cpus": "cpus", "max_depth": "max_depth",
                                  "recursion_fraction": "recursion_fraction",
                                  "recursion_depth": "recursion_depth"}),
    "object_graph": (object_graph, {"operations": "operations", "tables": "tables", "cpus": "cpus", "leaks": "leaks",
                                    "population": "population", "data_sizes": "data_sizes"}),
    "object_access": (object_access, {"objects": "n_objects", "object_size": "object_size",
                                      "accesses": "accesses", "cpus": "cpus", "share_fraction": "share_fraction",
                                      "pattern": "pattern", "store_fraction": "store_fraction"}),
}

FILE_GENERATORS = ("trace", "ftrace")   # workload.file: a memsim trace, or Linux ftrace text (.txt/.txt.xz)

MIN_INTERVAL_NS, MAX_INTERVAL_NS = 1_000_000, 60_000_000_000   # time-based snapshot intervals: 1 ms..60 s
MAX_PHASES = 1000    # PHASE markers kept per variant (report size stays bounded)
SHIPPED = Path(__file__).resolve().parent.parent / "scenarios"

PROFILERS = ("fragmentation", "slab", "cache", "numa", "numa_what_if", "stack", "realtime", "patterns", "leaks")


class ScenarioError(ValueError):
    """A scenario that cannot run; the message names the file, line and key."""


@dataclass
class Scenario:
    path: Path
    data: dict
    text: str

    @property
    def name(self) -> str:
        return self.data.get("scenario", {}).get("name", self.path.stem)

    def where(self, section: str, key: str | None = None) -> str:
        """file:line of a key (or a section header) for error messages."""
        lines = self.text.splitlines()
        start = next((i for i, line in enumerate(lines) if re.match(rf"\s*\[\[?{re.escape(section)}\]?\]", line)), None)
        if key is None or start is None:
            return f"{self.path}:{(start or 0) + 1}"
        for i in range(start + 1, len(lines)):
            if re.match(r"\s*\[", lines[i]):
                break
            if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
                return f"{self.path}:{i + 1}"
        return f"{self.path}:{start + 1}"


def load(path: str | os.PathLike, overrides: list[str] = ()) -> Scenario:
    """Read and validate a scenario; overrides are "section.key=value" (TOML values)."""
    path = Path(path)
    if not path.exists() and path.suffix == "" and (SHIPPED / f"{path}.toml").exists():
        path = SHIPPED / f"{path}.toml"    # a shipped scenario by name, e.g. "fragmentation"
    try:
        text = path.read_text()
        data = tomllib.loads(text)
    except OSError as e:
        raise ScenarioError(f"{path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: {e}") from None
    sc = Scenario(path, data, text)
    for item in overrides:
        key, eq, value = item.partition("=")
        if not eq or "." not in key:
            raise ScenarioError(f"--set {item!r}: expected section.key=value")
        section, _, name = key.partition(".")
        try:
            parsed = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value   # a bare string
        data.setdefault(section, {})[name] = parsed
    _validate(sc)
    return sc


def _validate(sc: Scenario) -> None:
    unknown = set(sc.data) - SECTIONS
    if unknown:
        s = sorted(unknown)[0]
        raise ScenarioError(f"{sc.where(s)}: unknown section [{s}] (known: {', '.join(sorted(SECTIONS))})")
    for key in set(sc.data.get("machine", {})) - MACHINE_KEYS:
        raise ScenarioError(f"{sc.where('machine', key)}: unknown key machine.{key}")
    w = sc.data.get("workload")
    if not w or "generator" not in w:
        raise ScenarioError(f"{sc.where('workload')}: [workload] needs a generator "
                            f"({', '.join(list(GENERATORS) + list(FILE_GENERATORS))})")
    gen = w["generator"]
    if gen in FILE_GENERATORS:
        if "file" not in w:
            raise ScenarioError(f"{sc.where('workload', 'generator')}: generator {gen!r} needs workload.file")
    elif gen not in GENERATORS:
        raise ScenarioError(f"{sc.where('workload', 'generator')}: unknown generator {gen!r}")
    else:
        allowed = set(GENERATORS[gen][1]) | {"generator"}
        for key in set(w) - allowed:
            raise ScenarioError(f"{sc.where('workload', key)}: generator {gen!r} takes no key {key!r}")
    try:
        _interval(sc)
    except ValueError as e:
        raise ScenarioError(f"{sc.where('profile', 'interval')}: {e}") from None
    profilers = sc.data.get("profile", {}).get("profilers", ["fragmentation"])
    for p in profilers:
        if p not in PROFILERS:
            raise ScenarioError(f"{sc.where('profile', 'profilers')}: unknown profiler {p!r} "
                                f"(known: {', '.join(PROFILERS)})")
    for i, v in enumerate(sc.data.get("variant", [])):
        for key in set(v.get("machine", {})) - MACHINE_KEYS:
            raise ScenarioError(f"{sc.where('variant', 'machine')}: unknown key machine.{key} in variant "
                                f"{str(v.get('name', f'variant-{i}'))!r}")
    if "cache" in profilers and "caches" not in sc.data:
        raise ScenarioError(f"{sc.where('profile', 'profilers')}: the cache profiler needs a [caches] section")


def _interval(sc: Scenario) -> tuple[int | None, int | None]:
    """profile.interval as (records, None) or, with a time unit, (None, nanoseconds of simulated time)."""
    interval = sc.data.get("profile", {}).get("interval", 10000)
    if isinstance(interval, str):
        ns = parse_duration(interval)
        if not MIN_INTERVAL_NS <= ns <= MAX_INTERVAL_NS:
            raise ValueError(f"profile.interval {interval!r} is outside 1ms..60s")
        return None, ns
    if not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0:
        raise ValueError("profile.interval must be a positive record count or a duration such as \"500ms\"")
    return interval, None


def _workload(sc: Scenario, seed: int, overrides: dict | None = None) -> trace.Trace:
    w = {**sc.data["workload"], **(overrides or {})}
    gen = w.pop("generator")
    if gen in FILE_GENERATORS:
        file = Path(w["file"])
        if not file.is_absolute():
            file = sc.path.parent / file
        try:
            return trace.load(file) if gen == "trace" else import_ftrace(file)[0]
        except (TraceFormatError, FtraceFormatError) as e:
            raise ScenarioError(f"{sc.where('workload', 'file')}: {e}") from None
    fn, names = GENERATORS[gen]
    try:
        return fn(**{names[k]: v for k, v in w.items()}, seed=seed)
    except (TypeError, ValueError) as e:
        raise ScenarioError(f"{sc.where('workload')}: {e}") from None


def _machine(sc: Scenario, overrides: dict) -> Machine:
    cfg = {**sc.data.get("machine", {}), **overrides}
    kwargs = {k: cfg[k] for k in MACHINE_KEYS if k in cfg}
    try:
        if "topology" in sc.data:
            kwargs["topology"] = Topology.from_dict(sc.data["topology"], f"{sc.path}: [topology]")
        if "caches" in sc.data:
            kwargs["caches"] = sc.data["caches"]
        return Machine(**kwargs)
    except (ValueError, TopologyError, CacheConfigError) as e:
        raise ScenarioError(f"{sc.where('machine')}: {e}") from None


def run(sc: Scenario, out_dir: str | os.PathLike | None = None, seed: int | None = None,
        monitor=None) -> dict:
    """Run every variant (or the machine as given) and write the report directory. monitor, if
    given, is called as monitor(variant, machine, records) for a watcher of each variant's replay."""
    seed = seed if seed is not None else int(sc.data.get("scenario", {}).get("seed", 0))
    out = Path(out_dir or sc.data.get("output", {}).get("dir", f"out/{sc.name}"))
    interval, every_ns = _interval(sc)
    base_workload = workload = _workload(sc, seed)
    if every_ns and not (workload.records["op"] == Op.TIME).any():
        raise ScenarioError(f"{sc.where('profile', 'interval')}: profile.interval is simulated time, but the "
                            "workload has no TIME records: give a record count instead")
    variants = sc.data.get("variant") or [{"name": "base"}]
    chosen = sc.data.get("profile", {}).get("profilers", ["fragmentation"])
    report = {"version": VERSION, "scenario": sc.name,
              "description": sc.data.get("scenario", {}).get("description", ""), "seed": seed,
              "records": len(workload), "variants": []}
    out.mkdir(parents=True, exist_ok=True)
    for v in variants:
        name = str(v.get("name", f"variant-{len(report['variants'])}"))
        m = _machine(sc, v.get("machine", {}))
        if v.get("workload"):   # a variant may change the workload's parameters too
            workload = _workload(sc, seed, v["workload"])
        frag = FragmentationProfiler(m)
        observers = {"fragmentation": frag}
        if "slab" in chosen:
            observers["slab"] = SlabProfiler(m)
        if "cache" in chosen:
            first = "L1d" if any(lv.get("name") == "L1d" for lv in sc.data["caches"].get("levels", [])) else \
                sc.data["caches"]["levels"][0].get("name", "L1")
            observers["cache"] = CacheProfiler(m, heatmap=(f"cpu0/{first}",), line_use=(f"cpu0/{first}",))
        if "numa" in chosen:
            observers["numa"] = NumaProfiler(m)
        if "realtime" in chosen:
            observers["realtime"] = RealtimeTracker(m, alert_free_fraction=float(
                sc.data["profile"].get("alert_free_fraction", 0.10)))
        if "stack" in chosen:
            observers["stack"] = StackProfiler(m, stack_size=int(sc.data["profile"].get("stack_size", 16 << 10)))
        if "leaks" in chosen:
            observers["leaks"] = LeakDetector(m, workload, min_age=int(sc.data["profile"].get("leak_min_age", 1000)))
        watchers = list(observers.values()) + ([monitor(name, m, len(workload))] if monitor else [])
        results: list[ReplayResult] = replay_in_chunks(m, workload, interval, watchers, every_ns=every_ns)
        m.drain_pcp()
        observe_now(m, observers.values(), len(workload))
        slug = _slug(name)
        for fname, text in (("buddyinfo", m.buddyinfo()), ("pagetypeinfo", m.pagetypeinfo()),
                            ("zoneinfo", m.zoneinfo()), ("slabinfo", m.slabinfo()),
                            *((f"node{n}.numastat", m.numastat_text(n)) for n in range(m.nodes))):
            (out / f"{slug}.{fname}.txt").write_text(text)
        report["variants"].append({
            "name": name, "machine": copy.deepcopy({**sc.data.get("machine", {}), **v.get("machine", {})}),
            "replay": {"alloc_failed": sum(r.alloc_failed for r in results),
                       "errors": sum(r.nr_errors for r in results)},
            "fragmentation": frag.result(),
            **{name: obs.result() for name, obs in observers.items() if name != "fragmentation"},
        })
        report["variants"][-1]["phases"] = trace.phases(workload)[:MAX_PHASES]
        if "patterns" in chosen:
            report["variants"][-1]["patterns"] = patterns.analyze(workload)
    if "numa_what_if" in chosen:
        report["numa_what_if"] = what_if(base_workload, lambda: _machine(sc, {}))
    (out / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    (out / "trace.json").write_text(json.dumps(chrome.timeline(report), sort_keys=True) + "\n")
    write_html(report, out)
    report["out_dir"] = str(out)
    return report


def _slug(variant: str) -> str:
    """A variant's name as a file-name prefix."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", variant).strip("-") or "variant"


def write_html(report: dict, out: Path, html_path: Path | None = None) -> None:
    """charts/*.svg and report.html (self-contained, the charts inline) from a report and the
    per-variant text files in its directory."""
    from sim.report import html, svg

    charts_dir = out / "charts"
    charts_dir.mkdir(exist_ok=True)
    order9 = {}
    unusable = {}
    for v in report["variants"]:
        f = v["fragmentation"]
        order9[v["name"]] = (f["records"], [sum(p["free_blocks_order_ge_9"] for p in snap) for snap in f["series"]])
        unusable[v["name"]] = (f["records"], [max(p["unusable_index"][9] for p in snap) for snap in f["series"]])
    charts = {
        "order9_blocks.svg": svg.line_chart(order9, "Free blocks of order >= 9", "records replayed", "blocks"),
        "unusable_index_order9.svg": svg.line_chart(unusable, "Unusable free index at order 9 (worst node)",
                                                    "records replayed", "thousandths"),
    }
    for name, text in charts.items():
        (charts_dir / name).write_text(text)
    texts = {}
    for v in report["variants"]:
        texts[v["name"]] = (out / f"{_slug(v['name'])}.buddyinfo.txt").read_text()
    Path(html_path or out / "report.html").write_text(html.render(report, list(charts.values()), texts))


def summary(report: dict) -> str:
    """A short table of the variants (allocation failures, order-9 availability, health, and the
    other profilers' headline figures), then the NUMA what-if table if there is one."""
    lines = [f"{report['scenario']}: {report['records']:,} records, seed {report['seed']}",
             f"{'variant':<24} {'alloc fail':>10} {'free order>=9':>14} {'health':>7} {'unusable(9)':>12}  other"]
    for v in report["variants"]:
        final = v["fragmentation"]["final"]
        other = []
        if "slab" in v:
            other.append(f"slab loss {v['slab']['total_loss']:,} B, rounding {v['slab']['total_kmalloc_rounding']:,} B")
        if "cache" in v:
            other += [f"{k} miss {c['miss_ratio']:.1%}" for k, c in v["cache"]["caches"].items()
                      if c["hits"] + c["misses"]][:3]
            other += [f"prefetchable: {p['call_site']}" for p in v["cache"]["prefetch_candidates"][:1]]
        if "numa" in v:
            other.append(f"locality {v['numa']['locality']:.1%}, cost {v['numa']['access_cost_ns']:,} ns")
        if "realtime" in v:
            rt = v["realtime"]
            other.append(f"alerts {len(rt['alerts'])}" + (f" (first at record {rt['alerts'][0]['records']:,}: "
                                                          f"{rt['alerts'][0]['alert']})" if rt["alerts"] else ""))
        if "patterns" in v:
            pa = v["patterns"]
            other.append(f"temporaries {pa['temporaries']:,} of {pa['allocs']:,}, "
                         f"{len(pa['recommendations'])} recommendations")
        if "leaks" in v:
            lk = v["leaks"]["summary"]
            other.append("leaks: " + ", ".join(f"{k.replace('_', ' ')} {lk[k]['objects']:,}" for k in
                                               ("definitely_lost", "indirectly_lost", "possibly_lost")) +
                         f"; kmemleak reported {v['leaks']['kmemleak']['reported']:,}")
        if "stack" in v:
            st = v["stack"]
            other.append(f"stack high-water {max(c['high_water'] for c in st['cpus']):,} B of {st['stack_size']:,}, "
                         f"overflows {sum(c['overflows'] for c in st['cpus']):,}")
        lines.append(f"{v['name']:<24} {v['replay']['alloc_failed']:>10,} "
                     f"{sum(p['free_blocks_order_ge_9'] for p in final):>14,} "
                     f"{v['fragmentation']['health_score']:>7.1f} "
                     f"{'/'.join(str(p['unusable_index'][9]) for p in final):>12}  {'; '.join(other)}")
    if "numa_what_if" in report:
        lines.append(f"{'policy':<24} {'cost (ns)':>14} {'locality':>9} {'imbalance':>10} {'alloc fail':>10}")
        for row in report["numa_what_if"]["table"]:
            lines.append(f"{row['policy']:<24} {row['access_cost_ns']:>14,} {row['locality']:>9.1%} "
                         f"{row['imbalance']:>10.2f} {row['alloc_failed']:>10,}")
        rec = report["numa_what_if"]["recommendation"]
        lines.append(f"best measured: {rec['policy']} ({rec['access_cost_ns']:,} ns, "
                     f"{rec['saving_vs_worst_ns']:,} ns less than the worst)")
    return "\n".join(lines)
