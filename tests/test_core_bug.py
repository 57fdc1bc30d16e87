"""MM_BUG_ON in the debug build (`make sanitize`): a broken invariant of the C core surfaces as
kernel_model._core.CoreBug naming the file, line and condition, and the replay stops there.

The release extension compiles the checks out, so these tests run in the sanitizer build.
"""

from __future__ import annotations

import re

import pytest

from kernel_model import Machine, Op, Trace, trace
from kernel_model._core import DEBUG, CoreBug
from kernel_model.mm import MAX_PAGE_ORDER, MIGRATE_MOVABLE

pytestmark = pytest.mark.skipif(not DEBUG, reason="MM_BUG_ON is compiled in by -DMM_DEBUG (make sanitize)")


def corrupt_a_free_block(m: Machine) -> int:
    """Give the head of the first free order-10 block another order: its free list no longer
    says what the page descriptor does. Returns its pfn."""
    pfn = m.free_lists(0)[(MAX_PAGE_ORDER, MIGRATE_MOVABLE)][0]
    pages = m._core.page_descriptors(0)
    pages["order"][pfn - m.node_start_pfn(0)] = 3
    return pfn


def test_a_corrupted_free_list_is_a_core_bug():
    m = Machine(nodes=1, node_mem="8M", pcp=False)
    corrupt_a_free_block(m)
    with pytest.raises(CoreBug, match=r"core/page_alloc\.c:\d+: MM_BUG_ON\(.*order") as e:
        for _ in range(4096):
            m.alloc_pages(MAX_PAGE_ORDER - 1, "movable")
    assert re.fullmatch(r"\S+\.c:\d+: MM_BUG_ON\(.+\)", str(e.value))


def test_the_replay_stops_at_the_record_that_broke_it():
    m = Machine(nodes=1, node_mem="8M", pcp=False)
    corrupt_a_free_block(m)
    rec = trace.empty(8)
    for i in range(8):
        rec[i] = (Op.PAGE_ALLOC, MIGRATE_MOVABLE, 0, 0, i, MAX_PAGE_ORDER, trace.NO_NODE)
    with pytest.raises(CoreBug):
        m.replay(Trace(rec, [""], 8))
    assert 1 <= m.records_replayed() < 8   # the allocation that found the block was the last


def test_a_sound_machine_raises_nothing():
    m = Machine(nodes=2, node_mem="8M")
    pfns = [m.alloc_pages(o % 4, "movable", node=o % 2) for o in range(64)]
    for i, pfn in enumerate(pfns):
        m.free_pages(pfn, i % 4)
    m.drain_pcp()
