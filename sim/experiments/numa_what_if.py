"""NUMA what-if: the scenario's workload replayed on a fresh machine per memory policy
configuration (set on every CPU), tabulating access cost, locality, balance and allocation
failures; the recommendation cites the measured best.

Every policy gets its meaningful parameters: preferred and bind to each node in turn, interleave
over all nodes, weighted interleave with the HMAT-bandwidth weights (when the topology has them)
and with weights searched on this workload (numa_weights, a bounded number of re-runs).
Configurations that allocate alike are one row: preferred_many over all nodes is local, bind to
the only node is local, preferred to a CPU's own node is local for that CPU, weighted interleave
with all weights 1 is interleave."""

from __future__ import annotations

from collections.abc import Callable

from kernel_model import Machine, Trace
from sim.experiments import numa_weights
from sim.experiments.numa_weights import Config, ratio
from sim.experiments.registry import Experiment, ExperimentContext, register
from sim.experiments.rerun import Evaluations, Rerun, in_process
from sim.profilers.views import BarChart, Column, Fact, Figure, Section, Table

VERSION = 2
WEIGHT_EVALS = 40          # re-runs the weight search may take inside the what-if


def configurations(m: Machine, weights: tuple[int, ...] | None) -> list[tuple[str, str, Config]]:
    """(row id, label, configuration) of every policy with its parameters, in table order."""
    out = [("local", "local", ("local",)), ("preferred_many", "preferred_many (all nodes)", ("preferred_many",))]
    out += [(f"preferred_node{n}", f"preferred node {n}", ("preferred", n)) for n in range(m.nodes)]
    out += [(f"bind_node{n}", f"bind node {n}", ("bind", n)) for n in range(m.nodes)]
    out.append(("interleave", "interleave", ("interleave",)))
    if m.topology is not None and m.topology.has_bandwidth:
        out.append(("weighted_interleave_hmat", "weighted_interleave (HMAT weights)", ("hmat",)))
    if weights is not None:
        out.append(("weighted_interleave_optimised", f"weighted_interleave (optimised {ratio(weights)})",
                    ("weighted_interleave", weights)))
    return out


def placement(m: Machine, config: Config) -> tuple:
    """What decides where each CPU's pages go under a configuration: the node its zonelist starts
    from and the nodes allowed, or its interleave weights. Equal for configurations that allocate alike."""
    every = tuple(range(m.nodes))
    kind = config[0]
    out = []
    for node in m.cpu_to_node:
        if kind in ("local", "preferred_many") or (kind == "bind" and m.nodes == 1):
            out.append(("zonelist", node, every))
        elif kind == "preferred":
            out.append(("zonelist", config[1], every))
        elif kind == "bind":
            out.append(("zonelist", node, (config[1],)))
        elif kind == "interleave":
            out.append(("interleave", (1,) * m.nodes))
        elif kind == "weighted_interleave":
            out.append(("interleave", tuple(config[1])))
        else:   # hmat: the weights Machine.set_bandwidth_aware gives this CPU
            row = m.topology.bandwidths()[node]
            low = min(b for b in row if b > 0)
            out.append(("interleave", tuple(max(1, min(255, round(b / low))) for b in row)))
    return tuple(out)


def what_if(trace: Trace, make_machine: Callable[[], Machine], machine_kwargs: dict | None = None,
            weight_evals: int = WEIGHT_EVALS) -> dict:
    """Replay trace on a fresh machine per policy configuration (set on every CPU) and tabulate cost,
    locality, balance and allocation failures; the recommendation cites the measured best. With
    machine_kwargs (the Machine arguments make_machine uses), weighted interleave also runs with
    weights searched on the workload within weight_evals re-runs."""
    m = make_machine()
    rerun = Rerun(trace, machine_kwargs or {})
    weights = None
    if machine_kwargs is not None and m.nodes > 1:
        weights = numa_weights.search(Evaluations(numa_weights.measure, in_process(rerun)), m.nodes, weight_evals)
    rows: dict[tuple, dict] = {}
    for row_id, label, config in configurations(m, weights):
        key = placement(m, config)
        if key in rows:   # allocates as an earlier row does: one row, both names
            rows[key]["policy"] += f" = {label}"
            continue
        machine = make_machine()
        numa_weights.apply(machine, config)
        rows[key] = {"id": row_id, "policy": label, **numa_weights.measure_machine(machine, trace)}
    table = list(rows.values())
    best = min(table, key=numa_weights.objective)
    worst = max(table, key=lambda r: r["access_cost_ns"])
    return {"version": VERSION, "table": table, "weights": list(weights) if weights else None,
            "weight_evals": weight_evals if weights else 0,
            "recommendation": {"policy": best["policy"], "access_cost_ns": best["access_cost_ns"],
                               "saving_vs_worst_ns": worst["access_cost_ns"] - best["access_cost_ns"]}}


def _summary(r: dict) -> list[str]:
    lines = [f"{'policy':<44} {'cost (ns)':>14} {'locality':>9} {'imbalance':>10} {'alloc fail':>10}"]
    for row in r["table"]:
        lines.append(f"{row['policy']:<44} {row['access_cost_ns']:>14,} {row['locality']:>9.1%} "
                     f"{row['imbalance']:>10.2f} {row['alloc_failed']:>10,}")
    rec = r["recommendation"]
    lines.append(f"best measured: {rec['policy']} ({rec['access_cost_ns']:,} ns, "
                 f"{rec['saving_vs_worst_ns']:,} ns less than the worst)")
    return lines


def _metrics(r: dict) -> dict[str, float]:
    out = {f"{row['id']}.access_cost_ns": row["access_cost_ns"] for row in r["table"]}
    out["best.access_cost_ns"] = r["recommendation"]["access_cost_ns"]
    out["best.saving_vs_worst_ns"] = r["recommendation"]["saving_vs_worst_ns"]
    local = next((row["access_cost_ns"] for row in r["table"] if row["id"] == "local"), None)
    if local:
        out["best.saving_vs_local"] = round((local - r["recommendation"]["access_cost_ns"]) / local, 6)
    worst = max(r["table"], key=lambda row: row["access_cost_ns"])
    out["worst.access_cost_ns"] = worst["access_cost_ns"]
    best = next(row for row in r["table"] if row["policy"] == r["recommendation"]["policy"])
    out["best.locality"] = round(best["locality"], 6)
    out["best.imbalance"] = round(best["imbalance"], 6)
    return out


def _labels(r: dict) -> dict[str, str]:
    return {"best.policy": r["recommendation"]["policy"],
            "worst.policy": max(r["table"], key=lambda row: row["access_cost_ns"])["policy"]}


FIGURES = (Figure("*.access_cost_ns", "ns", "access cost under {}"),
           Figure("best.saving_vs_worst_ns", "ns", "the best policy's saving over the worst"),
           Figure("best.saving_vs_local", "ratio", "the best policy's saving over local, a share of local's cost"),
           Figure("best.locality", "ratio", "locality under the best policy"),
           Figure("best.imbalance", "number", "node imbalance under the best policy"),
           Figure("best.policy", "text", "the measured best policy"),
           Figure("worst.policy", "text", "the costliest policy"))
IMBALANCE = ("Every policy is replayed on a fresh machine, set on every CPU: preferred and bind to each node in "
             "turn, interleave over all nodes, weighted interleave with the HMAT-bandwidth weights (when the "
             "topology has them) and with weights searched on this workload. Configurations that allocate alike "
             "share a row (their names joined by =). Imbalance: (most - fewest pages in use on a node) / mean pages "
             "in use. The best: the fewest allocation failures, then the lowest access cost.")


def _section(r: dict) -> Section:
    rec = r["recommendation"]
    return Section([Fact("measured best policy", rec["policy"], "text"),
                    Fact("its access cost", rec["access_cost_ns"], "ns"),
                    Fact("saving over the worst policy", rec["saving_vs_worst_ns"], "ns")],
                   [Table("Every policy on this workload", r["table"], (
                       Column("policy", "policy", "text"), Column("access_cost_ns", "access cost", "ns"),
                       Column("locality", "locality", "ratio"), Column("imbalance", "imbalance", "number"),
                       Column("alloc_failed", "allocation failures", "count"),
                       Column("errors", "rejected records", "count")))],
                   [IMBALANCE])


def _charts(r: dict) -> list[BarChart]:
    policies = [row["policy"] for row in r["table"]]
    return [BarChart("numa_what_if.svg", "Access cost per memory policy", "policy", "access cost", policies,
                     {"access cost": [row["access_cost_ns"] for row in r["table"]]},
                     highlight=(r["recommendation"]["policy"],), unit="ns", horizontal=True)]


def _run(ctx: ExperimentContext) -> dict:
    return what_if(ctx.trace, ctx.make_machine, dict(ctx.machine_kwargs))


EXPERIMENT = register(Experiment(
    "numa_what_if", "NUMA policies what-if", _run, summary=_summary,
    metrics=_metrics, labels=_labels, figures=FIGURES, section=_section, charts=_charts,
    doc="the workload replayed under every memory policy and its parameters: cost, locality, imbalance, failures"))
