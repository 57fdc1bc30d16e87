"""memsim optimize: the closed-loop optimisers (sim/experiments), each re-running the workload for
every candidate: kmalloc size classes, weighted-interleave weights, dedicated caches. Prints the
measured table and the re-runs it took, and writes a report directory: the fitted variant's
report with the optimiser's section (docs/optimize.md)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from sim.commands.common import UserError, load_trace, scenario_errors

# optimiser -> (its experiment's name, what it does)
OPTIMISERS = {
    "size-classes": ("size_classes", "kmalloc size classes fitted to the workload, every candidate re-run"),
    "numa-weights": ("numa_weights", "weighted-interleave weights searched by re-running the workload"),
    "dedicated-caches": ("dedicated_caches", "the pattern analyzer's dedicated-cache recommendations re-run"),
}


def add_parser(sub) -> None:
    p = sub.add_parser("optimize", help="closed-loop optimisers: kmalloc size classes, NUMA weights, dedicated caches",
                       description="Optimise a setting for a scenario's workload (or a trace's), re-running the "
                                   "workload for every candidate: the result is measured, not predicted. "
                                   "docs/optimize.md describes each optimiser.")
    verbs = p.add_subparsers(dest="optimizer", required=True, metavar="OPTIMISER")
    for name, (_, text) in OPTIMISERS.items():
        v = verbs.add_parser(name, help=text, description=text + ".")
        v.add_argument("source", metavar="SCENARIO|TRACE", help="a scenario (file or shipped name) or a trace file")
        v.add_argument("--variant", help="the scenario's variant to fit (default: its first)")
        v.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                       help="override a scenario setting (repeatable)")
        v.add_argument("--seed", type=int, help="override scenario.seed")
        v.add_argument("--nodes", type=int, help="a trace's machine: NUMA nodes (default 1)")
        v.add_argument("--node-mem", help="a trace's machine: memory per node (default 1G)")
        v.add_argument("--cpus-per-node", type=int, help="a trace's machine: CPUs per node (default: as many as "
                                                         "the trace uses)")
        if name == "size-classes":
            v.add_argument("--classes", type=int, metavar="K", help="at most K classes (default: Linux's 13)")
            v.add_argument("--max-waste", type=float, metavar="PCT",
                           help="no request rounded up by more than PCT%% of its class (beyond 8-byte alignment)")
        if name != "dedicated-caches":
            v.add_argument("--max-evals", type=int, metavar="N", help="re-runs of the workload at most "
                           "(default: 40 for size-classes, 100 for numa-weights)")
        v.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="re-runs in parallel on N local Dask workers (default 1: in this process)")
        v.add_argument("--out", help="report directory (default: out/<scenario>-<optimiser>)")
        v.add_argument("--json", action="store_true", help="print the result as JSON")
        v.set_defaults(func=run)


TRACE_SCENARIO = """\
# {path} as `memsim optimize` ran it: a scenario (memsim run this file)
[scenario]
name = {name}

[machine]
nodes = {nodes}
node_mem = {node_mem}
cpus_per_node = {cpus}

[workload]
generator = "trace"
file = {path}

[profile]
profilers = ["fragmentation", "slab", "patterns"]
"""


def _output(args: argparse.Namespace, name: str) -> Path:
    return Path(args.out) if args.out else Path("out") / f"{name}-{args.optimizer}"


def _source(args: argparse.Namespace):
    """(Rerun, scenario spec, its variant, report directory) of the optimiser's workload and machine.
    A trace becomes a scenario of its own, written beside the report (<out>/<trace>.toml)."""
    from sim.experiments.rerun import Rerun
    from sim.report.directory import slug
    from sim.scenario import ScenarioError, build_machine, build_workload, load, machine_kwargs

    path = Path(args.source)
    with scenario_errors():
        if path.is_file() and path.suffix != ".toml":
            if args.set or args.variant or args.seed is not None:
                raise UserError(f"{args.source}: --set, --variant and --seed apply to scenarios, not to a trace")
            trace = load_trace(args.source)
            nodes = args.nodes or 1
            used = int(trace.records["cpu"].max()) + 1 if len(trace) else 1
            text = TRACE_SCENARIO.format(path=json.dumps(str(path.resolve())), name=json.dumps(slug(path.stem)),
                                         nodes=nodes, node_mem=json.dumps(args.node_mem or "1G"),
                                         cpus=args.cpus_per_node or math.ceil(used / nodes))
            out = _output(args, slug(path.stem))
            try:
                out.mkdir(parents=True, exist_ok=True)
                (out / f"{slug(path.stem)}.toml").write_text(text)
            except OSError as e:
                raise UserError(f"{out}: {e.strerror or e}") from None
            spec = load(out / f"{slug(path.stem)}.toml")
        else:
            given = [k for k, v in (("--nodes", args.nodes), ("--node-mem", args.node_mem),
                                    ("--cpus-per-node", args.cpus_per_node)) if v is not None]
            if given:
                raise UserError(f"{given[0]} describes a trace's machine; a scenario's is its [machine] (use --set)")
            spec = load(args.source, args.set)
            out = _output(args, spec.name)
        if spec.guest is not None:
            raise ScenarioError(f"{spec.path}: a [guest] scenario runs in QEMU; optimise its host twin's workload "
                                "with a scenario without [guest]")
        names = [v.name for v in spec.variants]
        if args.variant is not None and args.variant not in names:
            raise ScenarioError(f"{spec.path}: no variant {args.variant!r} (variants: {', '.join(names)})")
        variant = spec.variants[names.index(args.variant) if args.variant else 0]
        build_machine(spec, variant)
        trace = build_workload(spec, variant.workload, spec.seed if args.seed is None else args.seed)
    return Rerun(trace, machine_kwargs(spec, variant)), spec, variant, out


def _optimise(name: str, args: argparse.Namespace, rerun, run):
    from sim.experiments import dedicated_caches, numa_weights, size_classes

    if name == "size-classes":
        if args.max_waste is not None and not 0 <= args.max_waste < 100:
            raise UserError(f"--max-waste {args.max_waste}: a percentage from 0 to below 100")
        return size_classes.optimise(rerun, args.classes, None if args.max_waste is None else args.max_waste / 100,
                                     args.max_evals or size_classes.MAX_EVALS, run)
    if name == "numa-weights":
        return numa_weights.optimise(rerun, args.max_evals or numa_weights.MAX_EVALS, run)
    return dedicated_caches.verify(rerun, run)


def run(args: argparse.Namespace) -> int:
    from sim.experiments import EXPERIMENTS
    from sim.experiments.rerun import OptimiseError
    from sim.sweep.engine import Engine, EngineError

    if args.jobs < 1:
        raise UserError(f"--jobs {args.jobs}: expected at least 1")
    if getattr(args, "max_evals", None) is not None and args.max_evals < 1:
        raise UserError(f"--max-evals {args.max_evals}: expected at least 1")
    rerun, spec, variant, out = _source(args)
    key = OPTIMISERS[args.optimizer][0]
    try:
        with Engine(args.jobs) as engine:
            result, evals = _optimise(args.optimizer, args, rerun, lambda fn, items: engine.map(fn, rerun, items))
            where = engine.describe()
    except EngineError as e:
        raise UserError(str(e)) from None
    except OptimiseError as e:   # bounds the workload cannot meet (--max-waste, --classes, a 1-node machine)
        raise UserError(f"{args.source}: {e}") from None
    with scenario_errors():
        _write_report(out, key, result, spec, variant, args.seed)
    if args.json:
        print(json.dumps({**result, "seconds": round(evals.seconds, 3), "jobs": args.jobs}, indent=1))
        return 0
    print("\n".join(EXPERIMENTS[key].summary(result)))
    print(f"{evals.count} re-runs of {len(rerun.trace):,} records in {evals.seconds:.2f} s ({where})")
    print(f"report: {out}/report.json")
    return 0


def _write_report(out: Path, key: str, result: dict, spec, variant, seed: int | None) -> None:
    """The fitted variant's report, run as the scenario describes it, with the optimiser's result
    beside its profilers."""
    from sim.report.directory import ReportDirectory
    from sim.scenario import run_scenario

    machines: dict = {}
    report = run_scenario(spec, seed=seed, variants=[variant.name], write=False,
                          observers=[lambda v, m, t: machines.__setitem__(v, m)]).report
    report[key] = result
    directory = ReportDirectory(out)
    for v, m in machines.items():
        directory.write_texts(v, m)
    directory.finish(report)
