"""The differential check: the host model, laid out as the guest found its machine, replays the
same trace; every per-record result and the final state must be the guest's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from kernel_model import Machine, Trace
from kernel_model.machine import NUMASTAT, REPLAY_ERRORS, ZONE_STATS
from sim.guest.qemu import GuestRun


def host_machine(run: GuestRun, pcp: bool = True, mobility_grouping: bool = True,
                 min_free_kbytes: int | None = None, kmalloc_classes: Sequence[int] | None = None,
                 thermal: Mapping | None = None) -> Machine:
    """A Machine with the zones, CPUs and distances the guest discovered, and the scenario's own
    settings (not the guest's: the watermark, slab and thermal checks then show whether they reached it)."""
    g = run.results
    return Machine(zones=g.nodes(), cpu_to_node=g.cpus(), distances=g.distances(), pcp=pcp,
                   mobility_grouping=mobility_grouping, min_free_kbytes=min_free_kbytes,
                   kmalloc_classes=kmalloc_classes, thermal=thermal)


def compare(trace: Trace, run: GuestRun, pcp: bool = True, mobility_grouping: bool = True,
            min_free_kbytes: int | None = None, kmalloc_classes: Sequence[int] | None = None,
            thermal: Mapping | None = None) -> dict:
    """Replay trace on the host twin of the guest's machine; what matched and where it first did not."""
    g = run.results
    m = host_machine(run, pcp, mobility_grouping, min_free_kbytes, kmalloc_classes, thermal)
    res = m.replay(trace, results=True)
    theirs = np.frombuffer(run.record_results, np.uint64)
    differ = np.flatnonzero(res.results != theirs) if len(theirs) == len(res.results) else np.array([0])
    n = g.nr_nodes
    host_numa = m.numastat()
    host_stats = m.zone_stats()
    # per cache index (destroyed caches included, as the guest reports them): object size, slabs, objects
    slab_host = m.slab_counts()
    slab_guest = list(zip(g["cache_size"][: int(g["nr_caches"])].tolist(),
                          g["cache_slabs"][: int(g["nr_caches"])].tolist(),
                          g["cache_objects"][: int(g["nr_caches"])].tolist(), strict=True))
    host_errors = {k: v for k, v in res.error_counts.items()}
    guest_errors = {REPLAY_ERRORS[i]: int(c) for i, c in enumerate(g["error_count"][: len(REPLAY_ERRORS)]) if c}
    checks = {
        "records": not len(differ),
        "nr_free": bool((m.nr_free() == g.nr_free()).all()),
        "numastat": all([host_numa[i][k] for k in NUMASTAT] == g["numa"][i].tolist() for i in range(n)),
        "zone_stats": all([host_stats[i][k] for k in ZONE_STATS] == g["zone_stat"][i][: len(ZONE_STATS)].tolist()
                          for i in range(n)),
        "slab": slab_host == slab_guest,
        "errors": host_errors == guest_errors and res.alloc_failed == int(g["alloc_failed"]),
        "watermarks": m.min_free_kbytes == int(g["min_free_kbytes"]) and m.watermarks() == g.watermarks(),
        "thermal": _thermal(m) == g.thermal(),
    }
    return {
        "matches_model": all(checks.values()),
        "checks": checks,
        "records": len(res.results),
        "first_difference": int(differ[0]) if len(differ) else None,
        "alloc_failed": res.alloc_failed,
        "errors": host_errors,
        "free_pages": {"host": [int(m.nr_free_pages(i)) for i in range(n)],
                       "guest": g.free_pages()},
        "watermarks": {"host": {"min_free_kbytes": m.min_free_kbytes, "nodes": m.watermarks()},
                       "guest": {"min_free_kbytes": int(g["min_free_kbytes"]), "nodes": g.watermarks()}},
    }


def _thermal(m: Machine) -> dict[int, dict[str, int]]:
    """The host's thermal model per node as the guest reports it (zeros while it is off)."""
    t = m.thermal()
    return t["nodes"] if t is not None else {n: {"temperature": 0, "peak": 0, "throttled_ns": 0}
                                             for n in range(m.nodes)}
