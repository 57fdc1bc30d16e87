"""NUMA profiler: per-node utilisation and pressure over time, locality, remote hot spots and
migration recommendations with what each migration costs (pages x the per-page copy time) and
the accesses that pay it back, load-balancing advice from the nodes' imbalance, and with the
thermal model on (core/thermal.h) each node's temperature over time. It only reads the machine
and the snapshots it is handed (what-ifs that replay the workload are experiments:
sim/experiments/numa_what_if.py, sim/experiments/migration_what_if.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from kernel_model import Machine
from kernel_model.mm import PAGE_SIZE
from kernel_model.snapshot import Snapshots
from sim.profilers.registry import Column, Fact, Figure, LineChart, Profiler, Section, Table, register
from sim.profilers.sampling import Sampling
from sim.profilers.series import Series, windows

VERSION = 1
LINE = 64                  # bytes a memory access moves
LINES_IN_FLIGHT = 10       # lines a copying core keeps in flight (its line-fill buffers) without HMAT bandwidth
BALANCE_THRESHOLD = 0.5    # (most - least) / mean above which nodes are unbalanced


def copy_ns_per_page(m: Machine, src: int, dst: int) -> int:
    """Copying a page from node src to node dst, by a CPU of dst: PAGE_SIZE at the HMAT bandwidth
    dst's initiators see to src's memory (MB/s, 10^6 bytes), else PAGE_SIZE / LINE lines read at the
    dst -> src latency, LINES_IN_FLIGHT at a time; rounded up to whole ns."""
    if m.topology is not None and m.topology.has_bandwidth and m.topology.bandwidths()[dst][src] > 0:
        return -(-PAGE_SIZE * 1000 // int(m.topology.bandwidths()[dst][src]))
    return -(-(PAGE_SIZE // LINE) * m.latency[dst][src] // LINES_IN_FLIGHT)


def migration_cost(m: Machine, id_: int, target: int | None) -> dict:
    """What moving object id_ to the node its accesses come from costs and what each access then
    saves: the pages it takes (a slab object counts as the page holding it, as NUMA balancing moves
    pages), the copy cost, and the accesses from the target that pay the copy back."""
    place = m.object_place(id_)
    none = {"node": place["node"] if place else None, "target_node": None, "pages": None, "copy_cost_ns": None,
            "saving_per_access_ns": None, "break_even_accesses": None}
    if place is None or target is None or target == place["node"]:
        return none
    src = place["node"]
    pages = max(1, -(-place["bytes"] // PAGE_SIZE))
    copy = pages * copy_ns_per_page(m, src, target)
    gain = m.latency[target][src] - m.latency[target][target]
    return {"node": src, "target_node": target, "pages": pages, "copy_cost_ns": copy, "saving_per_access_ns": gain,
            "break_even_accesses": -(-copy // gain) if gain > 0 else None}


def recommend(m: Machine, hot: dict) -> list[dict]:
    """Migration recommendations from remote hot spots (Machine.remote_hot_spots): objects with at
    least twice as many remote accesses as local ones, with an estimated saving (their remote
    accesses at the mean remote-over-local latency of the node pairs) and their migration cost."""
    pairs = [(i, j) for i in range(m.nodes) for j in range(m.nodes) if i != j]
    gain = sum(m.latency[i][j] - m.latency[i][i] for i, j in pairs) / len(pairs) if pairs else 0
    hot_objects = [o for o in hot["objects"] if o["remote"] >= 2 * max(o["local"], 1)]
    targets = m.accessor_nodes([o["id"] for o in hot_objects])
    return [{"object": o["id"], "alloc_site": o["alloc_site"], "remote_accesses": o["remote"],
             "estimated_saving_ns": int(o["remote"] * gain),
             "evidence": f"{o['remote']} remote vs {o['local']} local accesses",
             **migration_cost(m, o["id"], t)} for o, t in zip(hot_objects, targets, strict=True)]


def load_balance(m: Machine, used: list[int], accesses: list[int]) -> dict:
    """Imbalance of pages in use and of accesses landing across the nodes ((most - least) / mean),
    and advice where either passes BALANCE_THRESHOLD: what to spread from the busiest node to the
    idlest, and what moving half the difference in pages would cost to copy."""
    def spread(values: list[int]) -> tuple[float, int, int]:
        mean = sum(values) / len(values)
        hi = max(range(len(values)), key=lambda n: (values[n], -n))
        lo = min(range(len(values)), key=lambda n: (values[n], n))
        return ((values[hi] - values[lo]) / mean if mean else 0.0), hi, lo

    pages, hi, lo = spread(used)
    acc, ahi, alo = spread(accesses)
    advice = []
    if m.nodes > 1 and pages > BALANCE_THRESHOLD:
        move = (used[hi] - used[lo]) // 2
        advice.append({"kind": "memory", "from_node": hi, "to_node": lo, "imbalance": pages, "pages": move,
                       "copy_cost_ns": move * copy_ns_per_page(m, hi, lo),
                       "advice": f"node {hi} has {used[hi]:,} pages in use and node {lo} {used[lo]:,}: interleave "
                                 f"the allocations of node {hi}'s CPUs over both (weighted by free memory), or "
                                 f"migrate {move:,} of node {hi}'s coldest pages to node {lo}"})
    if m.nodes > 1 and acc > BALANCE_THRESHOLD:
        share = accesses[ahi] / sum(accesses)
        advice.append({"kind": "accesses", "from_node": ahi, "to_node": alo, "imbalance": acc, "pages": None,
                       "copy_cost_ns": None,
                       "advice": f"node {ahi} serves {share:.0%} of the accesses and node {alo} "
                                 f"{accesses[alo] / sum(accesses):.0%}: spread its hottest objects (interleave, or "
                                 f"migrate the remote hot spots to the nodes using them)"})
    return {"threshold": BALANCE_THRESHOLD, "page_imbalance": pages, "access_imbalance": acc, "advice": advice}


@dataclass
class NumaProfiler(Sampling):
    machine: Machine
    max_points: int = 200
    top: int = 10
    _series: Series = field(init=False)
    _last: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        self.machine.enable_locality_tracking()
        self._thermal = self.machine.thermal_settings is not None
        # free pages per node (a state) and (local, remote) accesses in each window (a sum); each
        # node's temperature (a state) with the thermal model on
        self._series = Series(states=("free", "temperature") if self._thermal else ("free",), sums=("locality",),
                              max_points=self.max_points)

    def take(self, snaps: Snapshots) -> None:
        local = np.concatenate([[self._last[0]], snaps.numa_local.astype(np.int64)])
        remote = np.concatenate([[self._last[1]], snaps.numa_remote.astype(np.int64)])
        self._last = (int(local[-1]), int(remote[-1]))
        extra = {"temperature": snaps.temperature.tolist()} if self._thermal else {}
        self._series.extend(snaps.records.tolist(), free=snaps.free_pages.tolist(),
                            locality=list(zip(np.diff(local).tolist(), np.diff(remote).tolist(), strict=True)),
                            **extra)

    def result(self) -> dict:
        m = self.machine
        marks = m.watermarks()
        managed = [m.node_pages[n] for n in range(m.nodes)]
        acc = m.numa_access()
        local = sum(a["local"] for a in acc["cpus"].values())
        remote = sum(a["remote"] for a in acc["cpus"].values())
        hot = m.remote_hot_spots(self.top)
        recommendations = recommend(m, hot)
        used = [m.node_pages[n] - m.nr_free_pages(n) for n in range(m.nodes)]
        out = {
            "version": VERSION, "unit": "pages, accesses, ns",
            "records": self._series.records,
            "nodes": {n: {"utilisation": [1 - f[n] / managed[n] if managed[n] else 0.0 for f in self._series["free"]],
                          "below_low_watermark": [f[n] <= marks[n]["low"] for f in self._series["free"]],
                          "accesses": acc["nodes"][n]} for n in range(m.nodes)},
            "locality": local / (local + remote) if local + remote else 1.0,
            "locality_over_time": [lo / (lo + re) if lo + re else 1.0 for lo, re in self._series["locality"]],
            "access_cost_ns": sum(a["cost_ns"] for a in acc["cpus"].values()),
            "remote_hot_spots": hot,
            "migration_recommendations": recommendations,
            "load_balance": load_balance(m, used, [acc["nodes"][n] for n in range(m.nodes)]),
            "accesses": {"local": local, "remote": remote},
        }
        if self._thermal:
            out["thermal"] = self._thermal_result()
        return out

    def _thermal_result(self) -> dict:
        t = self.machine.thermal()
        peak = max(t["nodes"], key=lambda n: (t["nodes"][n]["peak"], -n))
        return {**{k: v for k, v in t.items() if k != "nodes"}, "nodes": t["nodes"],
                "temperature_over_time": self._series["temperature"], "peak": t["nodes"][peak]["peak"],
                "hottest_node": peak, "throttled_ns": sum(x["throttled_ns"] for x in t["nodes"].values())}


def _summary(r: dict) -> str:
    return f"locality {r['locality']:.1%}, cost {r['access_cost_ns']:,} ns"


LOCALITY = ("Locality: the share of memory accesses that landed on the accessing CPU's own node. Access cost: "
            "the modelled cost of every access at the node distance's latency ([topology] latency, or SLIT-derived).")
MIGRATION = ("Migration cost: a recommended object moves to the node whose CPUs make most of its accesses (a "
             "majority vote over them). Copying takes its pages (a slab object counts as its page) times the "
             "per-page copy time: PAGE_SIZE at the HMAT bandwidth the target's CPUs see to the source, or without "
             f"it {PAGE_SIZE // LINE} lines at the target-to-source latency, {LINES_IN_FLIGHT} in flight. Each access "
             "from the target then saves the remote latency less the local one; break-even is the accesses that pay "
             "the copy back. The migration what-if experiment measures it by applying the migrations.")
BALANCE = (f"Load balancing: imbalance is (most - least) / mean over the nodes, of pages in use and of accesses "
           f"landing; above {BALANCE_THRESHOLD} the advice says what to spread from the busiest node to the idlest.")
THERMAL = ("Thermal model (kernel_model/core/thermal.h): each node's temperature, in millidegrees above ambient, "
           "rises by heat_per_access per access landing on it and heat_per_page per page its allocator hands out, "
           "and halves every half_life of simulated time (TIME records). Above the throttle temperature a node is "
           "throttled: the thermal memory policy allocates elsewhere, and the simulated time it spends there counts.")


def _section(r: dict) -> Section:
    nodes = [{"node": int(n), "accesses": x["accesses"],
              "utilisation_end": x["utilisation"][-1] if x["utilisation"] else 0.0,
              "utilisation_peak": max(x["utilisation"], default=0.0),
              "below_low": sum(x["below_low_watermark"])}
             for n, x in sorted(r["nodes"].items(), key=lambda kv: int(kv[0]))]
    sites = [{**s, "remote_share": s["remote"] / (s["local"] + s["remote"]) if s["local"] + s["remote"] else 0.0}
             for s in r["remote_hot_spots"]["call_sites"]]
    balance = r.get("load_balance") or {"page_imbalance": 0.0, "access_imbalance": 0.0, "advice": []}
    thermal = r.get("thermal")
    facts = [Fact("locality", r["locality"], "ratio"), Fact("access cost", r["access_cost_ns"], "ns"),
             Fact("migration recommendations", len(r["migration_recommendations"]), "count"),
             Fact("page imbalance across nodes", balance["page_imbalance"], "number"),
             Fact("load-balancing advice", len(balance["advice"]), "count")]
    tables, notes = [], [LOCALITY, MIGRATION, BALANCE]
    if thermal is not None:
        facts += [Fact("peak temperature (millidegrees above ambient)", thermal["peak"], "number"),
                  Fact("hottest node", thermal["hottest_node"], "count"),
                  Fact("time throttled (all nodes)", thermal["throttled_ns"], "ns")]
        tables.append(Table("Thermal model per node", [
            {"node": int(n), "temperature": x["temperature"], "peak": x["peak"], "throttled_ns": x["throttled_ns"]}
            for n, x in sorted(thermal["nodes"].items(), key=lambda kv: int(kv[0]))], (
                Column("node", "node", "count"), Column("peak", "peak (m°C above ambient)", "number"),
                Column("temperature", "at the end (m°C)", "number"), Column("throttled_ns", "time throttled", "ns"))))
        notes.append(THERMAL)
    return Section(facts,
                   [Table("Per node", nodes, (
                       Column("node", "node", "count"), Column("accesses", "accesses landing here", "count"),
                       Column("utilisation_end", "utilisation at the end", "ratio"),
                       Column("utilisation_peak", "peak utilisation", "ratio"),
                       Column("below_low", "samples below the low watermark", "count"))),
                    Table("Remote hot spots: call sites", sites, (
                        Column("site", "call site", "text"), Column("local", "local accesses", "count"),
                        Column("remote", "remote accesses", "count"), Column("remote_share", "remote share", "ratio"))),
                    Table("Remote hot spots: objects", r["remote_hot_spots"]["objects"], (
                        Column("id", "object", "count"), Column("alloc_site", "allocated at", "text"),
                        Column("local", "local accesses", "count"), Column("remote", "remote accesses", "count"))),
                    Table("Migration recommendations", r["migration_recommendations"], (
                        Column("object", "object", "count"), Column("alloc_site", "allocated at", "text"),
                        Column("remote_accesses", "remote accesses", "count"),
                        Column("estimated_saving_ns", "estimated saving", "ns"),
                        Column("node", "on node", "count"), Column("target_node", "to node", "count"),
                        Column("pages", "pages", "pages"), Column("copy_cost_ns", "copy cost", "ns"),
                        Column("saving_per_access_ns", "saving per access", "ns"),
                        Column("break_even_accesses", "break-even accesses", "count"),
                        Column("evidence", "evidence", "text"))),
                    Table("Load-balancing advice", balance["advice"], (
                        Column("kind", "imbalance of", "text"), Column("from_node", "busiest node", "count"),
                        Column("to_node", "idlest node", "count"), Column("imbalance", "imbalance", "number"),
                        Column("pages", "pages to move", "pages"), Column("copy_cost_ns", "copy cost", "ns"),
                        Column("advice", "advice", "text"))),
                    *tables],
                   notes)


def _charts(results: Mapping[str, dict]) -> list:
    use, of = {}, {}
    for name, r in results.items():
        for n, x in sorted(r["nodes"].items(), key=lambda kv: int(kv[0])):
            key = f"{name} node {n}" if len(results) > 1 else f"node {n}"
            use[key], of[key] = (r["records"], x["utilisation"]), name
    charts = [LineChart("numa_utilisation.svg", "Node utilisation (allocated share of managed pages)",
                        "records replayed", "utilisation", use, variants=of, yunit="ratio"),
              LineChart("numa_locality.svg", "Locality of accesses per interval", "records replayed", "local share",
                        {name: windows(r["records"], r["locality_over_time"]) for name, r in results.items()},
                        yunit="ratio")]
    temp, of, throttle = {}, {}, []
    for name, r in results.items():
        t = r.get("thermal")
        if t is None:
            continue
        nodes = len(t["nodes"])
        for n in range(nodes):
            key = f"{name} node {n}" if len(results) > 1 else f"node {n}"
            temp[key], of[key] = (r["records"], [x[n] for x in t["temperature_over_time"]]), name
        throttle.append(t["throttle"])
    if temp:
        charts.append(LineChart("numa_temperature.svg", "Node temperature (millidegrees above ambient)",
                                "records replayed", "millidegrees", temp, variants=of, yunit="number",
                                hlines=((max(throttle), "throttle"),)))
    return charts


def _metrics(r: dict) -> dict[str, float]:
    out = {"locality": round(r["locality"], 6), "access_cost_ns": r["access_cost_ns"],
           "migration_recommendations": len(r["migration_recommendations"])}
    costed = [x for x in r["migration_recommendations"] if x.get("copy_cost_ns") is not None]
    if costed:
        out["migration_copy_cost_ns"] = sum(x["copy_cost_ns"] for x in costed)
        out["min_break_even_accesses"] = min(x["break_even_accesses"] for x in costed
                                             if x["break_even_accesses"] is not None)
    balance = r.get("load_balance")
    if balance is not None:
        out |= {"page_imbalance": round(balance["page_imbalance"], 6),
                "access_imbalance": round(balance["access_imbalance"], 6),
                "balance_advice": len(balance["advice"])}
    if r.get("thermal") is not None:
        out |= {"peak_temperature": r["thermal"]["peak"], "throttled_ns": r["thermal"]["throttled_ns"]}
    if "accesses" in r:
        out |= {"remote_accesses": r["accesses"]["remote"], "local_accesses": r["accesses"]["local"]}
    return out


def _labels(r: dict) -> dict[str, str]:
    sites = r["remote_hot_spots"]["call_sites"]
    out = {"top_remote_site": max(sites, key=lambda s: s["remote"])["site"]} if sites else {}
    if r.get("thermal") is not None:
        out["hottest_node"] = str(r["thermal"]["hottest_node"])
    return out


FIGURES = (Figure("locality", "ratio", "share of accesses that were local"),
           Figure("access_cost_ns", "ns", "modelled access cost"),
           Figure("migration_recommendations", "count", "migration recommendations"),
           Figure("top_remote_site", "text", "the call site with the most remote accesses"),
           Figure("migration_copy_cost_ns", "ns", "what copying every recommended migration costs"),
           Figure("min_break_even_accesses", "count", "the fewest accesses a recommended migration needs to pay back"),
           Figure("page_imbalance", "number", "imbalance of pages in use across nodes ((most - least) / mean)"),
           Figure("access_imbalance", "number", "imbalance of accesses landing across nodes"),
           Figure("balance_advice", "count", "load-balancing advice"),
           Figure("peak_temperature", "number", "the hottest node's peak temperature (millidegrees above ambient)"),
           Figure("throttled_ns", "ns", "simulated time nodes spent above the throttle temperature"),
           Figure("remote_accesses", "count", "accesses to another node's memory"),
           Figure("local_accesses", "count", "accesses to the CPU's own node's memory"),
           Figure("hottest_node", "text", "the node that got hottest"))


PROFILER = register(Profiler(
    "numa", "NUMA", lambda ctx: NumaProfiler(ctx.machine),
    doc="per-node utilisation and pressure over time, locality, remote hot spots, migration recommendations with "
        "their copy cost and break-even, load-balancing advice, per-node temperature with the thermal model",
    metrics=_metrics, labels=_labels, figures=FIGURES, summary=_summary, section=_section, charts=_charts))
