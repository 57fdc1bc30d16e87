"""Compaction what-if and mixed pageblocks, from the layout of every page (Machine.page_map).

What-if: Linux's compaction (mm/compaction.c) as one full pass over a zone, without touching
the model. The migrate scanner walks up from the zone start taking allocated movable blocks;
the free scanner walks down from the zone end taking free pages in pageblocks that are
suitable targets (movable pageblocks, or any pageblock that is entirely free); each block
moves to the highest free pages, and the pass ends when the scanners meet in one pageblock.
The answer: how many pageblock-sized (order-9) free blocks exist before and after, and how
many pages would move. 6.1 migrates page by page, so a block's pages need not land together.

Mixed pageblocks: pageblocks holding an allocation of another migratetype than their own
(what fallback steals leave behind; page_owner's "mixed" count). Slab pages count as
unmovable or reclaimable: mixed only in a movable pageblock.
"""

from __future__ import annotations

import numpy as np

from kernel_model.machine import PAGE_MAP_FREE as FREE
from kernel_model.machine import PAGE_MAP_HOLE as HOLE
from kernel_model.machine import PAGE_MAP_SLAB as SLAB
from kernel_model.mm import MIGRATE_MOVABLE as MOVABLE
from kernel_model.mm import MIGRATE_TYPES, PAGEBLOCK_ORDER

PB = 1 << PAGEBLOCK_ORDER


def _blocks(codes: np.ndarray, start_pfn: int) -> np.ndarray:
    """The page map cut into whole aligned pageblocks (pad with holes): shape [blocks, 512]."""
    lead = start_pfn % PB
    total = -(-(lead + len(codes)) // PB) * PB
    padded = np.full(total, HOLE, np.uint8)
    padded[lead:lead + len(codes)] = codes
    return padded.reshape(-1, PB)


def free_pageblocks(codes: np.ndarray, start_pfn: int) -> int:
    """Aligned pageblocks whose pages are all free: the order-9 blocks the buddy can hand out."""
    return int((_blocks(codes, start_pfn) == FREE).all(axis=1).sum())


def compaction_what_if(codes: np.ndarray, start_pfn: int, pageblock_mt: np.ndarray) -> dict:
    """One full compaction pass over a zone's page map (see the module docstring)."""
    blocks = _blocks(codes, start_pfn)
    flat = blocks.reshape(-1)
    whole_free = (blocks == FREE).all(axis=1)
    target_block = (pageblock_mt[: len(blocks)] == MOVABLE) | whole_free
    # free scanner: free pages of target pageblocks, highest pfn first
    free_pages = np.flatnonzero((flat == FREE) & np.repeat(target_block, PB))[::-1]
    # migrate scanner: movable allocated pages, lowest pfn first (a block's pages move together)
    movable = np.flatnonzero(flat == 1 + MOVABLE)
    n = min(len(movable), len(free_pages))
    # a page may move while its pageblock lies below the pageblock of the free page it takes
    ok = (movable[:n] // PB) < (free_pages[:n] // PB)
    moved = int(np.argmin(ok)) if not ok.all() else n
    after = flat.copy()
    after[free_pages[:moved]] = 1 + MOVABLE
    after[movable[:moved]] = FREE
    lead = start_pfn % PB
    return {"pages_moved": moved, "movable_pages": int(len(movable)),
            "free_pageblocks_before": int(whole_free.sum()),
            "free_pageblocks_after": free_pageblocks(after[lead:lead + len(codes)], start_pfn)}


def mixed_pageblocks(codes: np.ndarray, start_pfn: int, pageblock_mt: np.ndarray) -> list[int]:
    """Per pageblock migratetype: how many of its pageblocks hold a foreign allocation."""
    blocks = _blocks(codes, start_pfn)
    mt = pageblock_mt[: len(blocks)].astype(np.int64)
    allocated = (blocks != FREE) & (blocks != HOLE)
    own = blocks == (1 + mt)[:, None]
    slab_ok = (blocks == SLAB) & (mt != MOVABLE)[:, None]
    mixed = (allocated & ~own & ~slab_ok).any(axis=1)
    return np.bincount(mt[mixed], minlength=MIGRATE_TYPES).tolist()
