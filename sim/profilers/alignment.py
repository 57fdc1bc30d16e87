"""Alignment advice in the cache profiler ([profile] cache_alignment = true): slab objects whose
accessed bytes span more cache lines than they would if the object started a line, found from
each object's model address and the byte range its accesses touched; the size classes whose
slot size puts objects across lines, with the accesses affected and the padding that fixes it.
A slot size that divides the line or is a multiple of it never straddles: the fix rounds a
smaller slot up to the next power of two (what SLAB_HWCACHE_ALIGN gives objects up to a line)
and a larger one up to a multiple of the line.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kernel_model import Machine, _core
from sim.profilers.views import BarChart, Column, Fact, Figure, Table

NOTE = ("Alignment: an object straddles when the bytes its accesses touched span more cache lines than they "
        "would if the object started a line; each access to it then may need both lines. Split accesses cross "
        "a line boundary themselves. The fix pads the class's slot to a size that never straddles.")


def fixed_slot(slot: int, line: int) -> int:
    """The slot size that keeps every object of a cache within as few lines as it needs."""
    if slot % line == 0 or line % slot == 0:
        return slot
    if slot < line:
        return 1 << (slot - 1).bit_length()
    return -(-slot // line) * line


def result(machine: Machine, top: int) -> dict | None:
    got = machine.alignment()
    if got is None:
        return None
    records, totals = got
    line = machine.cache_specs[0].line_size
    caches = {c.index: c for c in machine.caches()}
    alloc_site = machine.alloc_sites()
    classes = []
    for idx in np.nonzero(totals[:, _core.ALIGN_COUNTERS.index("placements")])[0]:
        t = dict(zip(_core.ALIGN_COUNTERS, (int(x) for x in totals[idx]), strict=True))
        info = machine.slab_stats(caches[int(idx)])
        slot = fixed_slot(info["slab_size"], line)
        classes.append({"cache": caches[int(idx)].name, "object_size": info["object_size"],
                        "slot": info["slab_size"], "align": info["align"], **t,
                        "straddling_share": t["straddling"] / t["placements"], "fixed_slot": slot,
                        "pad_bytes": slot - info["slab_size"], "fix": _fix(info["slab_size"], slot, t, line)})
    classes.sort(key=lambda c: (-c["affected"], -c["split"], c["cache"]))
    ids = np.nonzero((records["accesses"] > 0) & (records["lines"] > records["need"]))[0]
    ids = ids[np.lexsort((ids, -records["accesses"][ids].astype(np.int64)))][:top]
    objects = [{"id": int(i), "alloc_site": alloc_site(int(i)), "cache": caches[int(r["cache"])].name,
                "addr": int(r["addr"]), "line_offset": int(r["addr"]) % line, "bytes": [int(r["lo"]), int(r["hi"])],
                "lines": int(r["lines"]), "need": int(r["need"]), "accesses": int(r["accesses"]),
                "split": int(r["split"]), "field_split": int(r["field_split"])}
               for i, r in ((i, records[i]) for i in ids)]
    return {"unit": "accesses", "line_size": line,
            "straddling": sum(c["straddling"] for c in classes), "placements": sum(c["placements"] for c in classes),
            "affected": sum(c["affected"] for c in classes), "split": sum(c["split"] for c in classes),
            "field_split": sum(c["field_split"] for c in classes),
            "accesses": sum(c["accesses"] for c in classes),
            "classes": classes[:top], "objects": objects}


def _fix(size: int, slot: int, t: Mapping, line: int) -> str:
    if not t["straddling"] and not t["field_split"]:
        return "none needed"
    parts = []
    if t["straddling"]:   # (a slot that divides the line or is a multiple of it never straddles)
        how = "SLAB_HWCACHE_ALIGN" if slot <= line else f"align = {line}"
        parts.append(f"pad the slot from {size} to {slot} bytes (+{slot - size} per object: a kmem_cache "
                     f"with {how}, or a request of {slot} bytes)")
    if t["field_split"]:
        parts.append(f"{t['field_split']} accesses cross a line boundary even where the object starts a line: "
                     f"align those fields to their size or reorder the structure")
    return "; ".join(parts)


def views(r: Mapping) -> tuple[list[Fact], list[Table], list[str]]:
    facts = [Fact("objects straddling cache lines", r["straddling"], "objects"),
             Fact("accesses to them", r["affected"], "count"),
             Fact("accesses split across two lines", r["split"], "count"),
             Fact("... that would split with the object at a line start", r["field_split"], "count")]
    classes = Table("Size classes whose slot puts objects across lines", r["classes"], (
        Column("cache", "cache", "text"), Column("object_size", "object", "bytes"), Column("slot", "slot", "bytes"),
        Column("placements", "objects", "count"), Column("straddling", "straddling", "count"),
        Column("straddling_share", "share", "ratio"), Column("affected", "accesses affected", "count"),
        Column("split", "split accesses", "count"), Column("pad_bytes", "padding", "bytes"),
        Column("fix", "fix", "text")))
    objects = Table("Objects straddling lines (by accesses)",
                    [{**o, "bytes": f"{o['bytes'][0]}-{o['bytes'][1] - 1}", "addr": f"{o['addr']:#x}"}
                     for o in r["objects"]], (
        Column("id", "object", "number"), Column("alloc_site", "allocated at", "text"),
        Column("cache", "cache", "text"),
        Column("addr", "address", "text"), Column("line_offset", "offset in line", "bytes"),
        Column("bytes", "bytes accessed", "text"), Column("lines", "lines", "count"),
        Column("need", "lines if aligned", "count"), Column("accesses", "accesses", "count")))
    return facts, [classes, objects], [NOTE]


def charts(results: Mapping[str, dict]) -> list:
    al = {name: r["alignment"] for name, r in results.items() if r.get("alignment")}
    if not al:
        return []
    return [BarChart("alignment.svg", "Accesses to objects straddling cache lines", "variant", "accesses",
                     list(al), {"to straddling objects": [a["affected"] for a in al.values()],
                                "to the others": [a["accesses"] - a["affected"] for a in al.values()]},
                     stacked=True, variants={name: name for name in al})]


def metrics(r: Mapping) -> dict[str, float]:
    out = {"straddling_objects": r["straddling"], "straddle_accesses": r["affected"], "split_accesses": r["split"],
           "straddle_access_share": round(r["affected"] / r["accesses"], 6) if r["accesses"] else 0.0}
    if r["classes"]:
        out["straddling_pad_bytes"] = r["classes"][0]["pad_bytes"]
    return out


def labels(r: Mapping) -> dict[str, str]:
    top = r["classes"][0] if r["classes"] and r["classes"][0]["straddling"] else None
    return {"straddling_class": top["cache"], "alignment_fix": top["fix"]} if top else {}


FIGURES = (
    Figure("straddling_objects", "objects", "objects whose accessed bytes straddle cache lines"),
    Figure("straddle_accesses", "count", "accesses to objects straddling cache lines"),
    Figure("straddle_access_share", "ratio", "share of object accesses that went to straddling objects"),
    Figure("split_accesses", "count", "accesses that crossed a line boundary"),
    Figure("straddling_pad_bytes", "bytes", "padding per object that stops the top class straddling"),
    Figure("straddling_class", "text", "the size class with the most accesses to straddling objects"),
    Figure("alignment_fix", "text", "the fix for that class"),
)
