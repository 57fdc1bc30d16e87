"""The page of a guest run (guest.json): does the allocator code, booted in a QEMU guest on the
configured NUMA topology, do exactly what the model does? The answer on the first screen, then
every check of the differential, the topology asked for and seen, what the guest reported."""

from __future__ import annotations

from sim.profilers.views import Column, Table
from sim.report import fmt
from sim.report.html import format_table, render_template

QUESTION = ("Does the allocator code, run in a QEMU guest on the configured NUMA topology, behave exactly as "
            "the model does on the same trace?")
# the differential's checks (sim/guest/differential.py), in its order
CHECKS = {"records": "every record's result (pfn, address or failure)",
          "nr_free": "free blocks per node, migratetype and order",
          "numastat": "numastat counters per node",
          "zone_stats": "zone counters per node",
          "slab": "every cache's object size, slabs and objects in use",
          "errors": "rejected records by error, and failed allocations",
          "watermarks": "min_free_kbytes and each node's min/low/high watermarks",
          "thermal": "the thermal model per node"}


def _in_order(checks: dict) -> dict:
    return {**{k: checks[k] for k in CHECKS if k in checks}, **checks}


def answer(report: dict) -> str:
    c = report["comparison"]
    checks = _in_order(c["checks"])
    differ = [CHECKS.get(k, k) for k, ok in checks.items() if not ok]
    topo = "on the topology asked for" if report["topology_matches"] else "on a topology other than the one asked for"
    if not differ:
        return (f"Yes: over {report['records']:,} records, run {topo}, all {len(checks)} checks agree between "
                f"the guest and the model: " + "; ".join(CHECKS.get(k, k) for k in checks) + ".")
    first = c.get("first_difference")
    return (f"No: {len(differ)} of {len(checks)} checks differ ({'; '.join(differ)})"
            + (f", the first differing record is {first:,}" if first is not None else "") + f", run {topo}.")


def _tables(report: dict) -> list[dict]:
    c = report["comparison"]
    checks = Table("Guest vs model", [{"check": CHECKS.get(k, k), "key": k, "agree": ok}
                                      for k, ok in _in_order(c["checks"]).items()],
                   (Column("check", "compared", "text"), Column("key", "check", "text"),
                    Column("agree", "equal", "flag")))
    req, seen = report["topology_requested"], report["topology_seen"]
    nodes = [{"node": i, "mem": req["node_mem"][i] if i < len(req["node_mem"]) else None,
              "asked": " ".join(map(str, req["distances"][i])) if i < len(req["distances"]) else "",
              "seen": " ".join(map(str, seen["distances"][i])) if i < len(seen["distances"]) else "",
              "cpus": " ".join(map(str, seen["nodes"][i]["cpus"])) if i < len(seen["nodes"]) else "",
              "free_host": c["free_pages"]["host"][i] if i < len(c["free_pages"]["host"]) else None,
              "free_guest": c["free_pages"]["guest"][i] if i < len(c["free_pages"]["guest"]) else None}
             for i in range(max(len(req["node_mem"]), len(seen["nodes"])))]
    topology = Table("Nodes: the topology asked for and as the guest's ACPI tables gave it", nodes, (
        Column("node", "node", "count"), Column("mem", "memory asked for", "bytes"),
        Column("asked", "distances asked for", "text"), Column("seen", "distances seen (SLIT)", "text"),
        Column("cpus", "CPUs seen (SRAT)", "text"), Column("free_host", "free pages, model", "pages"),
        Column("free_guest", "free pages, guest", "pages")))
    wm = c["watermarks"]
    marks = [{"node": int(n), **{f"{k}_{side}": wm[side]["nodes"][n][k] for side in ("host", "guest")
                                 for k in ("min", "low", "high")}} for n in wm["host"]["nodes"]]
    watermarks = Table(f"Watermarks (pages) from min_free_kbytes = {wm['host']['min_free_kbytes']:,} (model) and "
                       f"{wm['guest']['min_free_kbytes']:,} (guest)", marks,
                       (Column("node", "node", "count"),
                        *(Column(f"{k}_{side}", f"{k}, {'model' if side == 'host' else 'guest'}", "pages")
                          for side in ("host", "guest") for k in ("min", "low", "high"))))
    tables = [checks, topology, watermarks]
    if "leak_scan" in report:
        scan = report["leak_scan"]
        tables.append(Table(f"Leak scan of guest memory: {scan['objects']:,} objects, {scan['pointers']:,} pointers",
                            [{"kind": k.replace("_", " "), "objects": len(ids),
                              "ids": " ".join(map(str, ids[:20])) + (" ..." if len(ids) > 20 else "")}
                             for k, ids in scan["by_kind"].items()],
                            (Column("kind", "kind", "text"), Column("objects", "objects", "objects"),
                             Column("ids", "object ids", "text"))))
    return [format_table(t) for t in tables]


def _timing(key: str, value: float) -> tuple:
    """guest.json's timings: seconds from QEMU's start (key_s), or a rate (key_ops_per_s)."""
    if key.endswith("_per_s"):
        return f"{key.removesuffix('_ops_per_s')}: records per second", fmt.cell(round(value), "count")
    return f"time to {key.removesuffix('_s').replace('_', ' ')}", fmt.cell(value * 1e9, "ns")


def page(report: dict) -> dict:
    g, c = report["guest"], report["comparison"]
    facts = [("records replayed", fmt.cell(report["records"], "records")),
             ("failed allocations", fmt.cell(c["alloc_failed"], "count")),
             ("rejected records", fmt.cell(sum(c["errors"].values()), "count")),
             ("guest stack high-water mark", fmt.cell(g["stack_high_water"], "bytes")),
             ("guest stack size", fmt.cell(g["stack_size"], "bytes")),
             *(_timing(k, v) for k, v in report["timings"].items())]
    return {"report": report, "question": QUESTION, "answer": answer(report), "facts": facts,
            "tables": _tables(report), "cmdline": g["cmdline"]}


def render(report: dict) -> str:
    """The self-contained page of a guest run."""
    return render_template("guest.html.j2", **page(report))
