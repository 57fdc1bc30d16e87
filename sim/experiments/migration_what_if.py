"""Migration what-if: does moving the recommended objects pay? The workload is replayed up to a
split point on two fresh machines; at the split the NUMA profiler's recommendations are taken
from the model's state (objects accessed mostly remotely, each to the node whose CPUs access it
most), applied on one machine (Machine.migrate: the object's bytes move and its id names the new
place), and the rest of the workload is replayed on both. The saving is measured: the access cost
of the rest without the migrations less with them, less what the copies cost."""

from __future__ import annotations

from collections.abc import Callable

from kernel_model import Machine, Trace
from sim.experiments.registry import Experiment, register
from sim.profilers.numa import recommend
from sim.profilers.views import BarChart, Column, Fact, Figure, Section, Table

VERSION = 1
SPLIT = 0.5      # the share of the workload replayed before the migrations
TOP = 10         # remote hot objects considered


def _cost(m: Machine) -> tuple[int, int, int]:
    """(access cost ns, local, remote) accesses so far."""
    cpus = m.numa_access()["cpus"].values()
    return sum(a["cost_ns"] for a in cpus), sum(a["local"] for a in cpus), sum(a["remote"] for a in cpus)


def _prefix(trace: Trace, make_machine: Callable[[], Machine], split: int) -> Machine:
    m = make_machine()
    m.enable_locality_tracking()
    m.replay(Trace(trace.records[:split], trace.sites, trace.nr_ids))
    return m


def migration_what_if(trace: Trace, make_machine: Callable[[], Machine], split: float = SPLIT,
                      top: int = TOP) -> dict:
    """Replay trace[:split] twice, apply the recommended migrations to one machine, replay the rest
    on both and compare the access cost of the rest."""
    at = int(len(trace) * split)
    rest = Trace(trace.records[at:], trace.sites, trace.nr_ids)
    without, with_ = _prefix(trace, make_machine, at), _prefix(trace, make_machine, at)
    recs = recommend(without, without.remote_hot_spots(top))   # the state at the split: the same in both
    ids = [r["object"] for r in recs]
    for r in recs:
        cpu = next((c for c, n in enumerate(with_.cpu_to_node) if n == r["target_node"]), 0)
        r["applied"] = r["target_node"] is not None and with_.migrate(r["object"], r["target_node"], cpu)
    runs = {}
    for name, m in (("without", without), ("with", with_)):
        before, seen = _cost(m), m.object_accesses(ids)
        m.replay(rest)
        after = _cost(m)
        runs[name] = {"access_cost_ns": after[0] - before[0], "local": after[1] - before[1],
                      "remote": after[2] - before[2],
                      "objects": [(lo1 - lo0, re1 - re0) for (lo0, re0), (lo1, re1) in
                                  zip(seen, m.object_accesses(ids), strict=True)]}
    applied = [r for r in recs if r["applied"]]
    copy = sum(r["copy_cost_ns"] for r in applied)
    saving = runs["without"]["access_cost_ns"] - runs["with"]["access_cost_ns"]
    rows = []
    for k, r in enumerate(recs):
        (lo0, re0), (_, re1) = runs["without"]["objects"][k], runs["with"]["objects"][k]
        rows.append({**{key: r[key] for key in ("object", "alloc_site", "node", "target_node", "pages", "copy_cost_ns",
                                                "saving_per_access_ns", "break_even_accesses", "applied")},
                     "accesses_after": lo0 + re0, "remote_without": re0, "remote_with": re1,
                     "paid_back": bool(r["applied"] and r["break_even_accesses"] is not None
                                       and re0 - re1 >= r["break_even_accesses"])})
    return {"version": VERSION, "unit": "ns, accesses, pages", "split_record": at, "records_after": len(rest),
            "migrations": rows, "migrated": len(applied), "pages": sum(r["pages"] for r in applied),
            "copy_cost_ns": copy, "without": {k: runs["without"][k] for k in ("access_cost_ns", "local", "remote")},
            "with": {k: runs["with"][k] for k in ("access_cost_ns", "local", "remote")},
            "measured_saving_ns": saving, "net_saving_ns": saving - copy,
            "saving_share": saving / runs["without"]["access_cost_ns"] if runs["without"]["access_cost_ns"] else 0.0}


def _summary(r: dict) -> list[str]:
    return [f"migrations applied at record {r['split_record']:,}: {r['migrated']} ({r['pages']} pages, copy "
            f"{r['copy_cost_ns']:,} ns); the rest costs {r['without']['access_cost_ns']:,} ns without and "
            f"{r['with']['access_cost_ns']:,} ns with them: saving {r['measured_saving_ns']:,} ns, net "
            f"{r['net_saving_ns']:,} ns"]


def _metrics(r: dict) -> dict[str, float]:
    return {"migrated": r["migrated"], "pages": r["pages"], "copy_cost_ns": r["copy_cost_ns"],
            "measured_saving_ns": r["measured_saving_ns"], "net_saving_ns": r["net_saving_ns"],
            "saving_share": round(r["saving_share"], 6), "remote_without": r["without"]["remote"],
            "remote_with": r["with"]["remote"], "cost_without_ns": r["without"]["access_cost_ns"],
            "cost_with_ns": r["with"]["access_cost_ns"],
            "paid_back": sum(x["paid_back"] for x in r["migrations"])}


def _labels(r: dict) -> dict[str, str]:
    return {"verdict": "pays" if r["net_saving_ns"] > 0 else "does not pay"}


FIGURES = (Figure("migrated", "count", "migrations applied"),
           Figure("pages", "pages", "pages migrated"),
           Figure("copy_cost_ns", "ns", "what the migrations' copies cost"),
           Figure("measured_saving_ns", "ns", "access cost the migrations saved in the rest of the workload"),
           Figure("net_saving_ns", "ns", "the saving less the copies"),
           Figure("saving_share", "ratio", "the saving as a share of the rest's access cost without migrations"),
           Figure("remote_without", "count", "remote accesses in the rest without the migrations"),
           Figure("remote_with", "count", "remote accesses in the rest with them"),
           Figure("cost_without_ns", "ns", "access cost of the rest without the migrations"),
           Figure("cost_with_ns", "ns", "access cost of the rest with them"),
           Figure("paid_back", "count", "migrations whose saved remote accesses reached their break-even"),
           Figure("verdict", "text", "whether the migrations pay"))
NOTE = ("Both machines replay the same first part of the workload; the NUMA profiler's recommendations are taken "
        "there and applied to one (each object copied to the node whose CPUs access it most, by a CPU of that node). "
        "Both replay the rest; the saving is the difference in their modelled access cost, the net saving that less "
        "the copies' cost. A migration is paid back when the remote accesses it removed reach its break-even. "
        "Pointers to a moved object held elsewhere are not rewritten (only access cost is measured).")


def _section(r: dict) -> Section:
    return Section([Fact("migrations applied", r["migrated"], "count"), Fact("pages moved", r["pages"], "pages"),
                    Fact("copy cost", r["copy_cost_ns"], "ns"),
                    Fact("access cost of the rest, without", r["without"]["access_cost_ns"], "ns"),
                    Fact("access cost of the rest, with", r["with"]["access_cost_ns"], "ns"),
                    Fact("measured saving", r["measured_saving_ns"], "ns"),
                    Fact("net of the copies", r["net_saving_ns"], "ns")],
                   [Table("The recommended migrations, measured", r["migrations"], (
                       Column("object", "object", "count"), Column("alloc_site", "allocated at", "text"),
                       Column("node", "from node", "count"), Column("target_node", "to node", "count"),
                       Column("pages", "pages", "pages"), Column("copy_cost_ns", "copy cost", "ns"),
                       Column("break_even_accesses", "break-even accesses", "count"),
                       Column("applied", "applied", "flag"), Column("accesses_after", "accesses after", "count"),
                       Column("remote_without", "remote without", "count"),
                       Column("remote_with", "remote with", "count"), Column("paid_back", "paid back", "flag")))],
                   [NOTE])


def _charts(r: dict) -> list[BarChart]:
    return [BarChart("migration_what_if.svg", "Access cost of the rest of the workload", "run", "ns",
                     ["without migrations", "with migrations"],
                     {"access cost": [r["without"]["access_cost_ns"], r["with"]["access_cost_ns"]],
                      "copy cost": [0, r["copy_cost_ns"]]}, stacked=True, unit="ns")]


EXPERIMENT = register(Experiment(
    "migration_what_if", "Migration what-if", lambda ctx: migration_what_if(ctx.trace, ctx.make_machine),
    summary=_summary, metrics=_metrics, labels=_labels, figures=FIGURES, section=_section, charts=_charts,
    doc="the recommended migrations applied halfway through the workload: the rest's access cost measured"))
