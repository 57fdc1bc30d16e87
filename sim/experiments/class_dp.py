"""The size-class optimiser's cost model and its exact minimiser.

The model (a prediction of what the slab allocator will hold): a class of S bytes serving the
size buckets i..j needs, at the moment those buckets have the most objects live at once
(SizeProfile.range_peaks), ceil(peak / objects(S)) slabs of 2^order(S) pages, laid out by the
core's calculate_sizes / calculate_order for the machine's CPU count. A class set costs the sum
over its classes: pages first, then the internal waste (bytes given minus bytes requested at
each class's peak), then the smaller class sizes. It ignores what SLUB adds on top (per-CPU and
partial slabs held half empty, empty slabs kept up to min_partial) and that different classes
peak at different times, which is why the optimiser measures every set it proposes.

minimal_classes() finds the exact minimum of that cost over every set of at most K classes that
serves every bucket: each class a multiple of 8 from the largest bucket it serves to just below
the next bucket (up to `limit` for the last), optionally with a bound on any request's rounding
(--max-waste). Dynamic programming over the sorted buckets: best[k][j] = the cheapest way to
serve buckets 0..j with k classes = min over i of best[k-1][i-1] + cost(i, j).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from kernel_model import _core
from kernel_model._core import KMALLOC_MAX_SIZE
from kernel_model.mm import PAGE_SIZE
from sim.experiments.kmalloc_profile import SizeProfile
from sim.experiments.rerun import OptimiseError


class InfeasibleError(OptimiseError):
    """No class set within the bounds serves every request; the message says what would."""


@cache
def layout(size: int, nr_cpus: int) -> tuple[int, int, int]:
    """(order, objects per slab, tail bytes) of a kmalloc cache of `size` bytes (a multiple of 8:
    its slot is its size) on a machine with nr_cpus CPUs: the core's calculate_order."""
    order = _core.slab_calculate_order(size, nr_cpus)
    objects = (PAGE_SIZE << order) // size
    return order, objects, (PAGE_SIZE << order) - objects * size


@dataclass(frozen=True)
class Costs:
    """cost(i, j) of serving buckets i..j with one class: its size, pages, internal waste and slab
    tail bytes at the peak; pages -1 where no class may serve that run."""
    size: np.ndarray
    pages: np.ndarray
    waste: np.ndarray
    tail: np.ndarray


def range_costs(profile: SizeProfile, nr_cpus: int, limit: int = KMALLOC_MAX_SIZE,
                max_waste: float | None = None, overhead: int = 0) -> Costs:
    """The cheapest class for every run of buckets (see the module's docstring)."""
    b = profile.buckets.astype(np.int64)
    n = len(b)
    peak, nbytes = profile.range_peaks
    size = np.zeros((n, n), np.int64)
    pages = np.full((n, n), -1, np.int64)
    waste = np.zeros((n, n), np.int64)
    tail = np.zeros((n, n), np.int64)
    for j in range(n):
        top = int(b[j + 1]) - 8 if j + 1 < n else limit
        cand = np.arange(int(b[j]), top + 1, 8, dtype=np.int64)
        if not len(cand):
            continue
        lay = np.array([layout(int(s), nr_cpus) for s in cand], np.int64)
        order, objects, slab_tail = lay[:, 0], lay[:, 1], lay[:, 2]
        rows = np.arange(j + 1)
        n_obj = peak[rows, j][:, None]
        slabs = -(-n_obj // objects[None, :])
        p = (slabs + overhead) << order[None, :]
        w = np.rint(n_obj * cand[None, :] - nbytes[rows, j][:, None]).astype(np.int64)
        allowed = np.ones_like(p, bool)
        if max_waste is not None:   # no request rounds up by more than max_waste of its class
            allowed = (cand[None, :] - b[rows][:, None]) <= max_waste * cand[None, :] + 1e-9
        p_masked = np.where(allowed, p, np.iinfo(np.int64).max)
        w_masked = np.where(allowed, w, np.iinfo(np.int64).max)
        best = np.lexsort((np.broadcast_to(cand, p.shape), w_masked, p_masked), axis=1)[:, 0]
        ok = allowed[rows, best]
        size[rows, j] = np.where(ok, cand[best], 0)
        pages[rows, j] = np.where(ok, p[rows, best], -1)
        waste[rows, j] = np.where(ok, w[rows, best], 0)
        tail[rows, j] = np.where(ok, slabs[rows, best] * slab_tail[best], 0)
    return Costs(size, pages, waste, tail)


def minimal_classes(costs: Costs, k_max: int) -> tuple[int, ...]:
    """The class set of at most k_max classes with the least (pages, waste, sizes) serving every
    bucket. Ties between set sizes go to fewer classes."""
    n = costs.pages.shape[0]
    if n == 0:
        return ()
    big = np.iinfo(np.int64).max // 4
    feasible = costs.pages >= 0
    pages = np.where(feasible, costs.pages, big)
    waste = np.where(feasible, costs.waste, big)
    # best[k][j]: serving buckets 0..j-1 with k classes (j = 0: nothing served yet)
    best_p = np.full((k_max + 1, n + 1), big, np.int64)
    best_w = np.full((k_max + 1, n + 1), big, np.int64)
    start = np.zeros((k_max + 1, n + 1), np.int64)     # where the last class's run begins
    best_p[0, 0] = best_w[0, 0] = 0
    for k in range(1, k_max + 1):
        for j in range(1, n + 1):
            cand_p = best_p[k - 1, :j] + pages[:j, j - 1]     # last class serves buckets i..j-1
            cand_w = best_w[k - 1, :j] + waste[:j, j - 1]
            i = int(np.lexsort((cand_w, cand_p))[0])
            if cand_p[i] < big:
                best_p[k, j], best_w[k, j], start[k, j] = cand_p[i], cand_w[i], i
    ks = [k for k in range(1, k_max + 1) if best_p[k, n] < big]
    if not ks:
        raise InfeasibleError(f"no set of at most {k_max} classes serves every request within the bound")
    k = min(ks, key=lambda k: (best_p[k, n], best_w[k, n], k))
    out, j = [], n
    while k:
        i = int(start[k, j])
        out.append(int(costs.size[i, j - 1]))
        j, k = i, k - 1
    return tuple(reversed(out))


def fewest_classes(costs: Costs) -> int:
    """The least number of classes that can serve every bucket within the bounds (0: none can)."""
    n = costs.pages.shape[0]
    reach = np.full(n + 1, n + 1)
    reach[0] = 0
    for j in range(1, n + 1):
        prev = reach[:j][costs.pages[:j, j - 1] >= 0]
        if len(prev):
            reach[j] = prev.min() + 1
    return int(reach[n]) if reach[n] <= n else 0


def runs(profile: SizeProfile, classes: Sequence[int]) -> list[tuple[int, int, int]]:
    """(first bucket, last bucket, class) of every class of a set that serves some bucket."""
    cls = np.asarray(classes, np.int64)
    which = np.searchsorted(cls, profile.buckets)
    if len(which) and which.max() >= len(cls):
        raise ValueError(f"classes {list(classes)} do not serve requests of {int(profile.buckets[-1])} bytes")
    out = []
    for c in np.unique(which):
        idx = np.flatnonzero(which == c)
        out.append((int(idx[0]), int(idx[-1]), int(cls[c])))
    return out


def predict(profile: SizeProfile, classes: Sequence[int], nr_cpus: int) -> dict:
    """What the cost model predicts for a class set: peak slab pages (each class at its own peak,
    summed), the average over the events of the pages the live objects need, internal waste and
    slab tail bytes at the classes' peaks."""
    peak, nbytes = profile.range_peaks
    pages = waste = tail = 0
    avg = np.zeros(len(profile.live), np.int64)
    for i, j, size in runs(profile, classes):
        order, objects, slab_tail = layout(size, nr_cpus)
        slabs = -(-int(peak[i, j]) // objects)
        pages += slabs << order
        waste += int(round(peak[i, j] * size - nbytes[i, j]))
        tail += slabs * slab_tail
        avg += -(-profile.live[:, i:j + 1].sum(axis=1, dtype=np.int64) // objects) << order
    return {"peak_slab_pages": pages, "avg_slab_pages": round(float(avg.mean()), 3) if len(avg) else 0.0,
            "internal_waste_bytes": waste, "tail_waste_bytes": tail}
