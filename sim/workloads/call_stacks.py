"""Per-CPU call/return streams: excursions of nested calls down to a random depth and back,
frames drawn from a table of functions with sizes; some excursions recurse (deep)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kernel_model.trace import NO_ID, Op, Trace, empty
from sim.workloads.generator import Generator, count, cpus, fraction

# (function, frame bytes): a plausible kernel call path's frames
DEFAULT_FRAMES = (("sys_read", 96), ("vfs_read", 128), ("ext4_file_read_iter", 160), ("filemap_read", 384),
                  ("page_cache_sync_ra", 112), ("read_pages", 256), ("ext4_mpage_readpages", 512),
                  ("submit_bio", 144), ("blk_mq_submit_bio", 208), ("nvme_queue_rq", 320))


def call_stacks(excursions: int, cpus: int = 1, max_depth: int = 12, recursion_fraction: float = 0.05,
                recursion_depth: int = 40, frames: Sequence[tuple[str, int]] = DEFAULT_FRAMES,
                seed: int = 0) -> Trace:
    """CALL/RET records: each excursion calls `d` functions deep then returns them all."""
    if excursions <= 0 or cpus <= 0 or max_depth <= 0 or not frames:
        raise ValueError("need excursions > 0, cpus > 0, max_depth > 0 and at least one frame")
    rng = np.random.default_rng(seed)
    deep = rng.random(excursions) < recursion_fraction
    depth = np.where(deep, recursion_depth, rng.integers(1, max_depth + 1, excursions))
    total = int(depth.sum())
    calls = rng.integers(0, len(frames), total)
    cpu_of = np.repeat(rng.integers(0, cpus, excursions).astype(np.uint16), depth)
    # each excursion: its calls, then the same number of returns
    starts = np.concatenate([[0], np.cumsum(depth)[:-1]])
    n = 2 * total
    rec = empty(n)
    excursion_of = np.repeat(np.arange(excursions), depth)
    position = np.arange(total) - starts[excursion_of]
    call_pos = 2 * starts[excursion_of] + position                 # calls first in each excursion
    ret_pos = 2 * starts[excursion_of] + depth[excursion_of] + position
    sizes = np.array([s for _, s in frames], np.uint32)
    rec["op"][call_pos] = Op.CALL
    rec["site"][call_pos] = calls + 1
    rec["arg0"][call_pos] = sizes[calls]
    rec["cpu"][call_pos] = cpu_of
    rec["op"][ret_pos] = Op.RET
    rec["cpu"][ret_pos] = cpu_of
    rec["id"] = NO_ID
    return Trace(rec, [""] + [name for name, _ in frames], nr_ids=0)


GENERATOR = Generator("call_stacks", call_stacks, (
    count("excursions", doc="call chains, each returning to the bottom"), cpus(),
    count("max_depth", max=256, doc="deepest ordinary chain"),
    fraction("recursion_fraction", "share of excursions that recurse"),
    count("recursion_depth", min=0, max=256, doc="depth of a recursive excursion"),
), "CALL/RET chains")
