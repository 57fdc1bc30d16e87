"""Coherence in the cache profiler: MESI traffic per CPU and false sharing in the spirit of
`perf c2c`. The model counts, per line, the coherence misses (a miss on a line this CPU held until
another CPU's store invalidated it) by the pair of accesses behind each: the access that missed
and the store that took the line away. A miss is false sharing when the two accesses' bytes of the
line are disjoint, true sharing when they overlap. Here the pairs become lines with their sides
(CPU, call site, object and offsets) and the fix: pad or separate the fields for false sharing;
for true sharing padding cannot help.
"""

from __future__ import annotations

from collections.abc import Mapping

from kernel_model import Machine
from sim.profilers.views import BarChart, Column, Fact, Figure, Table

TOTALS = ("coherence_misses", "false_sharing", "true_sharing", "transfers", "upgrades", "invalidations_sent")
NOTE = ("Coherence (MESI): a store to a line other CPUs hold invalidates their copies (an upgrade when the "
        "storing CPU held it Shared); a load of a line Modified in another CPU's cache is a cache-to-cache "
        "transfer (perf c2c's HITM). A coherence miss is a miss on a line this CPU held until another CPU's "
        "store invalidated it: false sharing when the two accesses' bytes of the line are disjoint (padding "
        "the fields apart removes it), true sharing when they overlap.")


def result(machine: Machine, top: int) -> dict | None:
    """Plain data: per CPU counters, totals, and the top lines by coherence misses."""
    cpus = machine.coherence_stats()
    if not cpus:
        return None
    pairs, dropped = machine.coherence_misses()
    line_size = machine.cache_specs[0].line_size
    alloc_site = machine.alloc_sites()
    totals = {k: sum(c[k] for c in cpus.values()) for k in TOTALS}
    totals["false_sharing_share"] = totals["false_sharing"] / totals["coherence_misses"] \
        if totals["coherence_misses"] else 0.0
    return {"unit": "line accesses", "line_size": line_size, "cpus": {str(c): dict(v) for c, v in cpus.items()},
            **totals, "lines": _lines(pairs, alloc_site, line_size)[:top], "untracked_misses": dropped}


def _lines(pairs: list[dict], alloc_site, line_size: int) -> list[dict]:
    """Pairs grouped by line; the accesses on each line (its sides) merged by CPU, site and object."""
    lines: dict[int, dict] = {}
    for p in pairs:
        ln = lines.setdefault(p["line_addr"], {"line_addr": p["line_addr"], "coherence_misses": 0, "false_sharing": 0,
                                               "true_sharing": 0, "sides": {}})
        n = p["true_sharing"] + p["false_sharing"]
        ln["coherence_misses"] += n
        ln["false_sharing"] += p["false_sharing"]
        ln["true_sharing"] += p["true_sharing"]
        for k, s in enumerate(p["sides"]):
            side = ln["sides"].setdefault((s["cpu"], s["site"], s["id"], s["object_addr"]), {
                "cpu": s["cpu"], "site": s["site"], "id": s["id"], "object_addr": s["object_addr"],
                "alloc_site": alloc_site(s["id"]), "lo": s["lo"], "hi": s["hi"], "misses": 0, "invalidations": 0})
            side["lo"], side["hi"] = min(side["lo"], s["lo"]), max(side["hi"], s["hi"])
            side["misses" if k == 0 else "invalidations"] += n
    out = []
    for ln in sorted(lines.values(), key=lambda x: (-x["coherence_misses"], x["line_addr"])):
        sides = sorted(ln.pop("sides").values(), key=lambda s: (s["lo"], s["cpu"], s["site"]))
        for s in sides:
            # the side's bytes as offsets in its object (a raw address has none)
            start = ln["line_addr"] - s["object_addr"] if s["id"] is not None else None
            s["offsets"] = [start + s["lo"], start + s["hi"]] if start is not None else None
        ln["sides"] = sides
        ln["kind"] = "false sharing" if not ln["true_sharing"] else "true sharing" if not ln["false_sharing"] \
            else "false and true sharing"
        ln["pads"], ln["fix"] = _fix(sides, ln, line_size)
        ln["pad_bytes"] = sum(p["bytes"] for p in ln["pads"])
        out.append(ln)
    return out


def _fields(sides: list[dict]) -> list[dict]:
    """The line's fields: the sides' byte ranges merged where they overlap, each with the CPUs (and
    the sides) that touch it, by offset."""
    fields: list[dict] = []
    for s in sorted(sides, key=lambda s: (s["lo"], s["hi"])):
        if fields and s["lo"] < fields[-1]["hi"]:
            f = fields[-1]
            f["hi"] = max(f["hi"], s["hi"])
        else:
            f = {"lo": s["lo"], "hi": s["hi"], "cpus": set(), "sides": []}
            fields.append(f)
        f["cpus"].add(s["cpu"])
        f["sides"].append(s)
    return fields


def _offset(f: Mapping) -> int | None:
    """A field's offset in its object (None for raw addresses)."""
    s = f["sides"][0]
    return s["offsets"][0] + f["lo"] - s["lo"] if s["offsets"] is not None else None


def _at(offset: int | None, line_byte: int) -> str:
    return f"offset {offset}" if offset is not None else f"line byte {line_byte}"


def _where(f: Mapping) -> str:
    at = _at(_offset(f), f["lo"])
    cpus = ", ".join(map(str, sorted(f["cpus"])))
    sites = ", ".join(sorted({x["site"] for x in f["sides"]}))
    return f"{at} (CPU{'s' if len(f['cpus']) > 1 else ''} {cpus}, {sites})"


def _fix(sides: list[dict], line: Mapping, line_size: int) -> tuple[list[dict], str]:
    """What separates the fields different CPUs write: the padding to insert (none when padding
    cannot help) and the advice. Each field whose CPUs differ from the previous field's moves to
    the next line."""
    if not line["false_sharing"]:
        return [], ("true sharing: the CPUs write the same bytes, padding cannot help; keep a copy per CPU "
                   "(percpu counters) and combine them when read, or update less often")
    objects = {s["object_addr"] for s in sides if s["id"] is not None}
    if len(objects) > 1:
        return [], (f"separate the objects: {len(objects)} objects written by different CPUs share this line; "
                   f"give each its own line (a kmem_cache with SLAB_HWCACHE_ALIGN, or objects padded to "
                   f"{line_size} bytes)")
    fields, pads, shift = _fields(sides), [], 0
    for prev, f in zip(fields, fields[1:], strict=False):
        if f["cpus"] != prev["cpus"]:
            at = f["lo"] + shift
            pad = -at % line_size
            shift += pad
            pads.append((pad, f))
    text = " and ".join(f"{pad} bytes before {_where(f)}" for pad, f in pads)
    shared = [f for f in fields if len(f["cpus"]) > 1]
    tail = f"; the true sharing of {', '.join(_where(f) for f in shared)} stays" if shared else ""
    return [{"bytes": pad, "offset": _offset(f), "line_byte": f["lo"], "cpus": sorted(f["cpus"]),
             "sites": sorted({s["site"] for s in f["sides"]})} for pad, f in pads], \
        (f"pad: insert {text}, so that fields different CPUs write sit on their own {line_size}-byte lines "
         f"(or mark them ____cacheline_aligned_in_smp){tail}")


def _side_text(s: Mapping) -> str:
    where = f"object {s['id']} ({s['alloc_site']}) bytes {s['offsets'][0]}-{s['offsets'][1] - 1}" \
        if s["offsets"] is not None else f"line bytes {s['lo']}-{s['hi'] - 1}"
    return f"CPU {s['cpu']} {s['site']}: {where}, {s['misses']} misses, {s['invalidations']} invalidations"


def views(r: Mapping) -> tuple[list[Fact], list[Table], list[str]]:
    facts = [Fact("coherence misses", r["coherence_misses"], "count"),
             Fact("of which false sharing", r["false_sharing_share"], "ratio"),
             Fact("cache-to-cache transfers", r["transfers"], "count"),
             Fact("upgrades (S to M)", r["upgrades"], "count"),
             Fact("invalidations sent", r["invalidations_sent"], "count")]
    if r["untracked_misses"]:
        facts.append(Fact("coherence misses the line table had no room for", r["untracked_misses"], "count"))
    cpus = [{"cpu": int(c), **v} for c, v in r["cpus"].items()]
    lines = [{"line": f"{ln['line_addr']:#x}", "coherence_misses": ln["coherence_misses"],
              "false_sharing": ln["false_sharing"], "true_sharing": ln["true_sharing"],
              "sides": "; ".join(_side_text(s) for s in ln["sides"]), "fix": ln["fix"]} for ln in r["lines"]]
    return facts, [
        Table("Coherence per CPU", cpus, (
            Column("cpu", "CPU", "number"), Column("coherence_misses", "coherence misses", "count"),
            Column("false_sharing", "false sharing", "count"), Column("true_sharing", "true sharing", "count"),
            Column("transfers", "transfers in", "count"), Column("upgrades", "upgrades", "count"),
            Column("invalidations_sent", "invalidations sent", "count"),
            Column("invalidations_received", "invalidations received", "count"))),
        Table("Lines with coherence misses (perf c2c's view): who touches which bytes, and the fix", lines, (
            Column("line", "line", "text"), Column("coherence_misses", "coherence misses", "count"),
            Column("false_sharing", "false", "count"), Column("true_sharing", "true", "count"),
            Column("sides", "accesses (CPU, call site, object bytes)", "text"), Column("fix", "fix", "text")),
            note="Sides: the accesses that missed on the line and the stores that took it away, merged by "
                 "CPU, call site and object.")], [NOTE]


def charts(results: Mapping[str, dict]) -> list:
    split = {name: r["coherence"] for name, r in results.items() if r.get("coherence")}
    if not split:
        return []
    return [BarChart("coherence_misses.svg", "Coherence misses: false and true sharing", "variant",
                     "coherence misses", list(split),
                     {"false sharing": [c["false_sharing"] for c in split.values()],
                      "true sharing": [c["true_sharing"] for c in split.values()]},
                     stacked=True, variants={name: name for name in split})]


def metrics(r: Mapping) -> dict[str, float]:
    out = {k: r[k] for k in TOTALS}
    out["false_sharing_share"] = round(r["false_sharing_share"], 6)
    if r["lines"]:
        out["false_sharing_pad_bytes"] = r["lines"][0]["pad_bytes"]
    return out


def labels(r: Mapping) -> dict[str, str]:
    if not r["lines"]:
        return {}
    top = r["lines"][0]
    fields = _fields(top["sides"])
    private = [f for f in fields if len(f["cpus"]) == 1] or fields
    return {"false_sharing_line": f"{top['line_addr']:#x}", "false_sharing_kind": top["kind"],
            "false_sharing_fix": top["fix"], "false_sharing_sides": " and ".join(_where(f) for f in private),
            **({"false_sharing_padding": " and ".join(f"{p['bytes']} bytes before {_at(p['offset'], p['line_byte'])}"
                                                      for p in top["pads"])} if top["pads"] else {})}


FIGURES = (
    Figure("coherence_misses", "count", "coherence misses (misses on lines another CPU's store invalidated)"),
    Figure("false_sharing", "count", "coherence misses from false sharing (disjoint bytes)"),
    Figure("true_sharing", "count", "coherence misses from true sharing (the same bytes)"),
    Figure("false_sharing_share", "ratio", "share of coherence misses that are false sharing"),
    Figure("transfers", "count", "cache-to-cache transfers (a Modified line moved to another CPU)"),
    Figure("upgrades", "count", "upgrades (stores to Shared lines, S to M)"),
    Figure("invalidations_sent", "count", "copies invalidated by other CPUs' stores"),
    Figure("false_sharing_pad_bytes", "bytes", "padding that separates the top line's fields"),
    Figure("false_sharing_line", "text", "the line with the most coherence misses"),
    Figure("false_sharing_kind", "text", "what that line's coherence misses are"),
    Figure("false_sharing_fix", "text", "the fix for that line"),
    Figure("false_sharing_padding", "text", "the padding to insert that separates that line's fields"),
    Figure("false_sharing_sides", "text", "the fields of that line only one CPU writes (else every field)"),
)
