"""Access latency in the cache profiler (caches with [caches] latency): the average memory access
time per CPU, per call site and per object, split by the level that served the lookups, and the
histogram of access latencies. A lookup served by the k-th level of its path costs the latencies of
levels 1..k, one served by memory those of every level plus the memory latency of the page's node,
so AMAT = hit time + miss ratio x miss penalty, level by level (kernel_model/caches.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kernel_model import Machine, _core
from sim.profilers.views import BarChart, Column, Fact, Figure, Table

PS = 1000   # per ns
NOTE = ("AMAT (average memory access time) per access: each line lookup costs the hit latencies of the "
        "levels down to the one that served it, plus the memory latency of the page's node when no level "
        "did (hit time + miss ratio x miss penalty, level by level). Served: the share of line lookups "
        "each level answered.")


def result(machine: Machine, top: int) -> dict | None:
    """Plain data: latencies, AMAT and lookups served per level, per CPU, call site and object."""
    per_cpu = machine.cache_latency()
    if not per_cpu:
        return None
    path = [*machine.cache_path(), "memory"]
    cpus = {str(c): _cpu(v, path) for c, v in per_cpu.items()}
    hist = np.sum([v["histogram"] for v in per_cpu.values()], axis=0)
    used = np.nonzero(hist)[0]
    lo, hi = (int(used[0]), int(used[-1]) + 1) if len(used) else (0, 0)
    floors = _core.latency_bucket_floors()
    every = {"accesses": sum(v["accesses"] for v in per_cpu.values()),
             "total_ps": sum(v["total_ps"] for v in per_cpu.values()),
             **{k: {lv: sum(v[k][lv] for v in per_cpu.values()) for lv in path} for k in ("served", "time_ps")}}
    return {
        "unit": "ns", "path": path,
        "levels_ns": dict(machine.cache_options.latency_ns),
        "memory_ns": {str(c): row for c, row in enumerate(machine.cache_memory_latency_ns())},
        **_cpu(every, path),
        "cpus": cpus,
        "call_sites": _top_sites(machine, path, top),
        "objects": _top_objects(machine, path, top),
        "histogram": {"floor_ns": [floors[b] / PS for b in range(lo, hi)],
                      "accesses": [int(x) for x in hist[lo:hi]]},
    }


def _cpu(v: Mapping, path: list[str]) -> dict:
    """AMAT and its split: the share of lookups each level served and the ns of AMAT they account for."""
    n = v["accesses"]
    return {**_amat(n, v["total_ps"], [v["served"][k] for k in path], path),
            "amat_by_level_ns": {k: v["time_ps"][k] / n / PS if n else 0.0 for k in path}}


def _amat(accesses: int, total_ps: int, served: list[int], path: list[str]) -> dict:
    lookups = sum(served)
    return {"accesses": int(accesses), "amat_ns": total_ps / accesses / PS if accesses else 0.0,
            "time_ns": total_ps / PS,
            "served": {k: (n / lookups if lookups else 0.0) for k, n in zip(path, served, strict=True)}}


def _columns(row, path: list[str]) -> list[int]:
    """A row of SITE_LEVELS level counters and the memory one, as the path's levels then memory."""
    return [int(row[i]) for i in range(len(path) - 1)] + [int(row[_core.LATENCY_MEMORY])]


def _top_sites(machine: Machine, path: list[str], top: int) -> list[dict]:
    rows = machine.latency_by_site() or {}
    accesses = {site: s["accesses"] for site, s in machine.cache_strides().items()}
    out = []
    for site, row in rows.items():
        n = accesses.get(site, 0)
        out.append({"site": site, **_amat(n, row[_core.LATENCY_PS], _columns(row, path), path)})
    return sorted(out, key=lambda x: (-x["time_ns"], x["site"]))[:top]


def _top_objects(machine: Machine, path: list[str], top: int) -> list[dict]:
    got = machine.latency_by_object()
    if got is None:
        return []
    (served, ps), accesses, alloc_site = got
    out = []
    for i in np.argsort(-ps.astype(np.float64), kind="stable")[:top]:
        if not ps[i]:
            break
        out.append({"id": int(i), "alloc_site": alloc_site(int(i)),
                    **_amat(int(accesses[i]), int(ps[i]), _columns(served[i], path), path)})
    return out


def _served_text(served: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:.1%}" for k, v in served.items() if v)


def views(r: Mapping) -> tuple[list[Fact], list[Table], list[str]]:
    facts = [Fact("AMAT per access (ns)", r["amat_ns"], "number"),
             *(Fact(f"lookups served by {k}", v, "ratio") for k, v in r["served"].items()),
             *(Fact(f"AMAT from lookups served by {k} (ns)", v, "number") for k, v in r["amat_by_level_ns"].items())]
    cols = (Column("accesses", "accesses", "count"), Column("amat_ns", "AMAT (ns)", "number"),
            Column("time_ns", "total latency (ns)", "number"), Column("served", "lookups served by", "text"))
    latencies = [{"level": k, "ns": v} for k, v in r["levels_ns"].items()]
    cpus = [{"cpu": int(c), **v, "served": _served_text(v["served"])} for c, v in r["cpus"].items()]
    memory = [{"cpu": int(c), "ns": ", ".join(f"node {n}: {x:g}" for n, x in enumerate(row))}
              for c, row in r["memory_ns"].items()]
    sites = [{**s, "served": _served_text(s["served"])} for s in r["call_sites"]]
    objects = [{**o, "served": _served_text(o["served"])} for o in r["objects"]]
    return facts, [
        Table("Hit latency per level (ns)", latencies,
              (Column("level", "level", "text"), Column("ns", "ns", "number"))),
        Table("Memory latency per CPU and node (ns)", memory,
              (Column("cpu", "CPU", "number"), Column("ns", "ns", "text"))),
        Table("AMAT per CPU", cpus, (Column("cpu", "CPU", "number"), *cols)),
        Table("AMAT per call site (by total latency)", sites, (Column("site", "call site", "text"), *cols)),
        Table("AMAT per object (by total latency)", objects,
              (Column("id", "object", "number"), Column("alloc_site", "allocated at", "text"), *cols)),
    ], [NOTE]


def charts(results: Mapping[str, dict]) -> list:
    lat = {name: r["latency"] for name, r in results.items() if r.get("latency")}
    if not lat:
        return []
    levels = list(dict.fromkeys(k for v in lat.values() for k in v["path"]))
    out = [BarChart("amat.svg", "AMAT per access by the level that served the lookups", "variant", "ns",
                    list(lat), {k: [v["amat_by_level_ns"].get(k, 0.0) for v in lat.values()] for k in levels},
                    stacked=True, variants={name: name for name in lat}, unit="number")]
    for name, v in lat.items():
        h = v["histogram"]
        out.append(BarChart("latency_histogram.svg", "Accesses by latency", "latency from (ns)", "accesses",
                            [f"{x:g}" for x in h["floor_ns"]], {"accesses": h["accesses"]}, variant=name))
    return out


def metrics(r: Mapping) -> dict[str, float]:
    out = {"amat_ns": round(r["amat_ns"], 6)}
    out |= {f"cpu{c}.amat_ns": round(v["amat_ns"], 6) for c, v in r["cpus"].items()}
    out |= {f"{k}.served_share": round(v, 6) for k, v in r["served"].items()}
    out |= {f"{k}.amat_share_ns": round(v, 6) for k, v in r["amat_by_level_ns"].items()}
    return out


def labels(r: Mapping) -> dict[str, str]:
    return {"slowest_site": r["call_sites"][0]["site"]} if r["call_sites"] else {}


FIGURES = (
    Figure("amat_ns", "number", "average memory access time (ns)"),
    Figure("*.amat_ns", "number", "{} average memory access time (ns)"),
    Figure("*.served_share", "ratio", "share of line lookups served by {}"),
    Figure("*.amat_share_ns", "number", "ns of the AMAT spent on lookups served by {}"),
    Figure("slowest_site", "text", "the call site with the most access latency"),
)
