"""NUMA what-if: the scenario's workload replayed on a fresh machine per memory policy (set on
every CPU, over all nodes), tabulating access cost, locality, balance and allocation failures;
the recommendation cites the measured best."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kernel_model import Machine, Trace
from sim.experiments.registry import Experiment, register
from sim.profilers.views import BarChart, Column, Fact, Figure, Section, Table

VERSION = 1
POLICIES = ("local", "preferred", "bind", "interleave", "weighted_interleave", "preferred_many")


def what_if(trace: Trace, make_machine: Callable[[], Machine], policies: Sequence[str] = POLICIES) -> dict:
    """Replay trace on a fresh machine per policy (set on every CPU, over all nodes) and tabulate
    cost, locality, balance and allocation failures; the recommendation cites the measured best."""
    rows = []
    for policy in policies:
        m = make_machine()
        for cpu in range(len(m.cpu_to_node)):
            nodes = list(range(m.nodes)) if policy != "preferred" else [m.cpu_to_node[cpu]]
            if policy == "local":
                m.set_mempolicy(cpu, "local")
            else:
                m.set_mempolicy(cpu, policy, nodes)
        res = m.replay(trace)
        acc = m.numa_access()["cpus"].values()
        local, remote = sum(a["local"] for a in acc), sum(a["remote"] for a in acc)
        used = [m.node_pages[n] - m.nr_free_pages(n) for n in range(m.nodes)]
        mean = sum(used) / len(used)
        imbalance = (max(used) - min(used)) / mean if mean else 0.0
        rows.append({"policy": policy, "access_cost_ns": sum(a["cost_ns"] for a in acc),
                     "locality": local / (local + remote) if local + remote else 1.0,
                     "imbalance": imbalance, "alloc_failed": res.alloc_failed, "errors": res.nr_errors})
    best = min(rows, key=lambda r: (r["alloc_failed"], r["access_cost_ns"]))
    worst = max(rows, key=lambda r: r["access_cost_ns"])
    return {"version": VERSION, "table": rows,
            "recommendation": {"policy": best["policy"], "access_cost_ns": best["access_cost_ns"],
                               "saving_vs_worst_ns": worst["access_cost_ns"] - best["access_cost_ns"]}}


def _summary(r: dict) -> list[str]:
    lines = [f"{'policy':<24} {'cost (ns)':>14} {'locality':>9} {'imbalance':>10} {'alloc fail':>10}"]
    for row in r["table"]:
        lines.append(f"{row['policy']:<24} {row['access_cost_ns']:>14,} {row['locality']:>9.1%} "
                     f"{row['imbalance']:>10.2f} {row['alloc_failed']:>10,}")
    rec = r["recommendation"]
    lines.append(f"best measured: {rec['policy']} ({rec['access_cost_ns']:,} ns, "
                 f"{rec['saving_vs_worst_ns']:,} ns less than the worst)")
    return lines


def _metrics(r: dict) -> dict[str, float]:
    out = {f"{row['policy']}.access_cost_ns": row["access_cost_ns"] for row in r["table"]}
    out["best.access_cost_ns"] = r["recommendation"]["access_cost_ns"]
    out["best.saving_vs_worst_ns"] = r["recommendation"]["saving_vs_worst_ns"]
    local = next((row["access_cost_ns"] for row in r["table"] if row["policy"] == "local"), None)
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
IMBALANCE = ("Every policy is replayed on a fresh machine, set on every CPU over all nodes. Imbalance: (most - "
             "fewest pages in use on a node) / mean pages in use. The best: the fewest allocation failures, "
             "then the lowest access cost.")


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
                     highlight=(r["recommendation"]["policy"],), unit="ns")]


EXPERIMENT = register(Experiment(
    "numa_what_if", "NUMA policies what-if", lambda ctx: what_if(ctx.trace, ctx.make_machine), summary=_summary,
    metrics=_metrics, labels=_labels, figures=FIGURES, section=_section, charts=_charts,
    doc="the workload replayed under every memory policy: cost, locality, imbalance, failures"))
