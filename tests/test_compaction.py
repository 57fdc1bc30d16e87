"""Page maps, mixed pageblocks and the compaction what-if, by hand and against the model."""

from __future__ import annotations

import numpy as np

from kernel_model import Machine
from sim.profilers.compaction import compaction_what_if, free_pageblocks, mixed_pageblocks

PB, UNMOVABLE, MOVABLE = 512, 1, 2        # page map codes: 1 + migratetype
START = 1 << 20                            # pageblock-aligned


def layout() -> np.ndarray:
    codes = np.zeros(4 * PB, np.uint8)
    codes[:100] = MOVABLE                  # pageblock 0: 100 movable pages, the rest free
    codes[PB + 7] = UNMOVABLE              # pageblock 1: one unmovable page
    codes[2 * PB:2 * PB + 50] = MOVABLE    # pageblock 2: 50 movable pages; pageblock 3 free
    return codes


def test_compaction_moves_movable_pages_to_the_top_by_hand():
    mts = np.array([1, 1, 1, 0], np.uint8)    # the last pageblock unmovable, but entirely free
    r = compaction_what_if(layout(), START, mts)
    assert r == {"pages_moved": 150, "movable_pages": 150, "free_pageblocks_before": 1, "free_pageblocks_after": 2}


def test_compaction_stops_where_the_scanners_meet():
    codes = layout()
    codes[3 * PB:3 * PB + 500] = UNMOVABLE     # only 12 free pages at the top, then pageblock 2's
    r = compaction_what_if(codes, START, np.ones(4, np.uint8))
    # pageblock 0's first 12 pages go to pageblock 3; then the free scanner is in pageblock 2,
    # which still lies above pageblock 0: 88 more; pageblock 2's own pages cannot move down
    assert r["pages_moved"] == 100 and r["free_pageblocks_after"] == 1


def test_mixed_pageblocks_by_hand():
    codes = layout()
    codes[3 * PB] = 0xFE                       # a slab page in the unmovable pageblock: not mixed
    assert mixed_pageblocks(codes, START, np.array([1, 1, 1, 0], np.uint8)) == [0, 1, 0, 0, 0]
    codes[5] = 0xFE                            # a slab page in a movable pageblock: mixed
    assert mixed_pageblocks(codes, START, np.array([1, 1, 1, 0], np.uint8)) == [0, 2, 0, 0, 0]


def test_page_map_agrees_with_the_free_lists():
    m = Machine(nodes=1, node_mem="8M", pcp=True)
    pages = [m.alloc_pages(o, mt) for o, mt in [(0, "movable"), (3, "unmovable"), (9, "movable"), (1, "reclaimable")]]
    m.free_pages(pages.pop(0), 0)           # onto a pcp list: free in the map too
    codes = m.page_map(0)
    m.drain_pcp()
    assert (codes == 0).sum() == m.nr_free_pages(0) and (m.page_map(0) == codes).all()
    base = m.node_start_pfn(0)
    assert codes[pages[0] - base:pages[0] - base + 8].tolist() == [UNMOVABLE] * 8
    assert (codes[pages[1] - base:pages[1] - base + 512] == MOVABLE).all()
    assert codes[pages[2] - base:pages[2] - base + 2].tolist() == [3, 3]     # reclaimable
    free = m.nr_free().sum(axis=1)[0]
    assert free_pageblocks(codes, base) == free[9] + 2 * free[10]
