"""Weighted-interleave weights searched on the workload: every candidate re-run on a fresh machine
with the weights set on every CPU (one weight per node, 1..255, as Linux's system-wide
/sys/kernel/mm/mempolicy/weighted_interleave/nodeN), the objective the core's NUMA access cost
(each access costs the latency from the accessing CPU's node to the page's node), allocation
failures first.

The search is coordinate descent: from equal weights, each node's weight in turn tries a ladder of
values (1 2 3 4 6 8 12 16 24 32 48 64 96 128 192 255, and the current value +-1 and +-2) with the
others fixed, keeps the best, and sweeps the nodes again until a sweep changes nothing or the
evaluation budget is spent. The cost is not convex in the weights (the interleave pattern, not
only the ratio, places pages), so the optimum found is a local one: the table compares it with
local allocation, plain interleave and the HMAT-bandwidth weights, all measured the same way.

A memory policy configuration (also numa_what_if's rows) is a tuple: ("local",), ("interleave",),
("preferred", node), ("bind", node), ("preferred_many",), ("weighted_interleave", weights) and
("hmat",) (weighted interleave with each CPU's weights from its node's HMAT bandwidths).
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.experiments.registry import Experiment, ExperimentContext, register
from sim.experiments.rerun import Evaluations, Map, OptimiseError, Rerun, in_process
from sim.profilers.views import BarChart, Column, Fact, Figure, Section, Table

VERSION = 1
LADDER = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 255)
MAX_EVALS = 100
Config = tuple


def apply(m, config: Config) -> None:
    """Set the configuration's memory policy on every CPU of machine m."""
    kind, nodes = config[0], list(range(m.nodes))
    for cpu in range(len(m.cpu_to_node)):
        if kind == "local":
            m.set_mempolicy(cpu, "local")
        elif kind in ("preferred", "bind"):
            m.set_mempolicy(cpu, kind, [config[1]])
        elif kind in ("interleave", "preferred_many"):
            m.set_mempolicy(cpu, kind, nodes)
        elif kind == "weighted_interleave":
            m.set_mempolicy(cpu, kind, nodes, list(config[1]))
        elif kind == "hmat":
            m.set_bandwidth_aware(cpu)
        else:
            raise ValueError(f"unknown memory policy configuration {config!r}")


def measure(rerun: Rerun, config: Config) -> dict:
    """Re-run the workload with the configuration (see measure_machine)."""
    m = rerun.build()
    apply(m, config)
    return measure_machine(m, rerun.trace)


def measure_machine(m, trace) -> dict:
    """Replay trace on machine m: access cost, locality, node imbalance (most - fewest pages in use
    on a node, over the mean), allocation failures and rejected records."""
    res = m.replay(trace)
    acc = m.numa_access()["cpus"].values()
    local, remote = sum(a["local"] for a in acc), sum(a["remote"] for a in acc)
    used = [m.node_pages[n] - m.nr_free_pages(n) for n in range(m.nodes)]
    mean = sum(used) / len(used)
    return {"access_cost_ns": sum(a["cost_ns"] for a in acc),
            "locality": local / (local + remote) if local + remote else 1.0,
            "imbalance": (max(used) - min(used)) / mean if mean else 0.0,
            "alloc_failed": res.alloc_failed, "errors": res.nr_errors}


def objective(measured: dict) -> tuple:
    return measured["alloc_failed"], measured["access_cost_ns"]


def _key(weights: Sequence[int], measured: dict) -> tuple:
    return (*objective(measured), sum(weights), tuple(weights))


def search(evals: Evaluations, nodes: int, max_evals: int) -> tuple[int, ...]:
    """Coordinate descent over the weights (see the module's docstring) until evals has run max_evals
    re-runs in all; the best weights measured."""
    best = (1,) * nodes
    best_m = evals([("weighted_interleave", best)])[0]
    changed = True
    while changed and evals.count < max_evals:
        changed = False
        for node in range(nodes):
            here = best[node]
            values = sorted((set(LADDER) | {v for v in (here - 2, here - 1, here + 1, here + 2) if 1 <= v <= 255})
                            - {here})
            tries = [best[:node] + (v,) + best[node + 1:] for v in values]
            tries = [w for w in tries if ("weighted_interleave", w) not in evals.results]
            tries = tries[:max(max_evals - evals.count, 0)]
            if not tries:
                continue
            for w, got in zip(tries, evals([("weighted_interleave", w) for w in tries]), strict=True):
                if _key(w, got) < _key(best, best_m):
                    best, best_m, changed = w, got, True
    return best


def ratio(weights: Sequence[int]) -> str:
    return ":".join(map(str, weights))


def optimise(rerun: Rerun, max_evals: int = MAX_EVALS, run: Map | None = None) -> tuple[dict, Evaluations]:
    """Search the weights and compare them, measured, with local, interleave and the HMAT weights."""
    m = rerun.build()
    if m.nodes < 2:
        raise OptimiseError("weighted interleave needs a machine with at least 2 nodes")
    if max_evals < 4:
        raise OptimiseError(f"--max-evals {max_evals}: at least 4 (local, interleave, HMAT, a weight set)")
    evals = Evaluations(measure, run or in_process(rerun))
    hmat = m.topology is not None and m.topology.has_bandwidth
    baselines = [("local",), ("interleave",)] + ([("hmat",)] if hmat else [])
    evals(baselines)
    weights = search(evals, m.nodes, max_evals)
    rows = [{"policy": "local", "weights": None}, {"policy": "interleave", "weights": None}]
    if hmat:
        rows.append({"policy": "weighted_interleave (HMAT bandwidth weights)", "weights": None})
    rows.append({"policy": f"weighted_interleave (optimised {ratio(weights)})", "weights": list(weights)})
    configs = [*baselines, ("weighted_interleave", weights)]
    for row, config in zip(rows, configs, strict=True):
        row.update(evals.results[config])
    best = min(rows, key=lambda r: objective(r))
    result = {"version": VERSION, "weights": list(weights), "evaluations": evals.count, "max_evals": max_evals,
              "hmat": hmat, "table": rows,
              "best": best["policy"],
              "searched": [{"weights": list(c[1]), **r} for c, r in evals.results.items()
                           if c[0] == "weighted_interleave"]}
    return result, evals


def _summary(r: dict) -> list[str]:
    lines = [f"weighted-interleave weights: {r['evaluations']} re-runs (coordinate descent); "
             f"optimised {ratio(r['weights'])}",
             f"{'policy':<48} {'cost (ns)':>14} {'locality':>9} {'imbalance':>10} {'alloc fail':>10}"]
    for row in r["table"]:
        lines.append(f"{row['policy']:<48} {row['access_cost_ns']:>14,} {row['locality']:>9.1%} "
                     f"{row['imbalance']:>10.2f} {row['alloc_failed']:>10,}")
    lines.append(f"best measured: {r['best']}" + ("" if r["hmat"] else " (no HMAT bandwidth in this topology)"))
    return lines


TABLE = (Column("policy", "policy", "text"), Column("access_cost_ns", "access cost", "ns"),
         Column("locality", "locality", "ratio"), Column("imbalance", "imbalance", "number"),
         Column("alloc_failed", "allocation failures", "count"), Column("errors", "rejected records", "count"))


def _section(r: dict) -> Section:
    opt = r["table"][-1]
    return Section([Fact("optimised weights", ratio(r["weights"]), "text"),
                    Fact("their access cost", opt["access_cost_ns"], "ns"),
                    Fact("best measured", r["best"], "text"),
                    Fact("re-runs of the workload", r["evaluations"], "count")],
                   [Table("Weighted interleave against the other policies (each re-run)", r["table"], TABLE)],
                   ["Weights are one per node (1..255) on every CPU, found by coordinate descent on the measured "
                    "access cost; the HMAT row gives each CPU weights from its node's HMAT bandwidths. Imbalance: "
                    "(most - fewest pages in use on a node) / mean pages in use."])


def _charts(r: dict) -> list[BarChart]:
    names = [row["policy"] for row in r["table"]]
    return [BarChart("numa_weights.svg", "Access cost: the optimised weights and the other policies", "policy",
                     "access cost", names, {"access cost": [row["access_cost_ns"] for row in r["table"]]},
                     highlight=(r["best"],), unit="ns", horizontal=True)]


def _metrics(r: dict) -> dict[str, float]:
    out = {"optimised.access_cost_ns": r["table"][-1]["access_cost_ns"],
           "optimised.locality": round(r["table"][-1]["locality"], 6),
           "local.access_cost_ns": r["table"][0]["access_cost_ns"],
           "interleave.access_cost_ns": r["table"][1]["access_cost_ns"], "evaluations": r["evaluations"]}
    if r["hmat"]:
        out["hmat.access_cost_ns"] = r["table"][2]["access_cost_ns"]
    return out


FIGURES = (Figure("*.access_cost_ns", "ns", "access cost under {}"),
           Figure("optimised.locality", "ratio", "locality under the optimised weights"),
           Figure("evaluations", "count", "re-runs of the workload"),
           Figure("weights", "text", "the optimised weights"), Figure("best", "text", "the measured best policy"))


def _run(ctx: ExperimentContext) -> dict:
    return optimise(Rerun(ctx.trace, ctx.machine_kwargs))[0]


EXPERIMENT = register(Experiment(
    "numa_weights", "Weighted-interleave weights, optimised and measured", _run, summary=_summary,
    metrics=_metrics, labels=lambda r: {"weights": ratio(r["weights"]), "best": r["best"]}, figures=FIGURES,
    section=_section, charts=_charts,
    doc="weighted-interleave weights searched by re-running the workload, against local, interleave and HMAT"))
