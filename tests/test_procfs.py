"""The /proc formats, checked byte for byte against a real Linux 6.1 capture."""

from __future__ import annotations

import re

import pytest

from kernel_model import Machine, extfrag_index, unusable_free_index
from kernel_model.procfs import (
    ZoneFreeState,
    _thousandths,
    format_buddyinfo,
    format_extfrag_index,
    format_pagetypeinfo,
    format_unusable_index,
    parse_buddyinfo,
    parse_pagetypeinfo,
)


@pytest.mark.parametrize("when", ["before", "after"])
def test_pagetypeinfo_and_buddyinfo_round_trip_real_files(linux_capture, when):
    pti = (linux_capture / when / "pagetypeinfo.txt").read_text()
    zones = parse_pagetypeinfo(pti)
    assert format_pagetypeinfo(zones) == pti
    buddy = (linux_capture / when / "buddyinfo.txt").read_text()
    rows = parse_buddyinfo(buddy)
    states = [ZoneFreeState(n, z, [counts], [0]) for n, z, counts in rows]
    assert format_buddyinfo(states) == buddy


def _index_rows(text):
    rows = []
    for line in text.splitlines():
        head, values = line.split(", zone")
        tokens = values.split()
        rows.append((int(head.split()[1]), tokens[0], tokens[1:]))
    return rows


def _thousandths_value(token):
    whole, frac = token.split(".")
    value = abs(int(whole)) * 1000 + int(frac)
    return -value if token.startswith("-") else value


@pytest.mark.parametrize("when", ["before", "after"])
def test_fragmentation_indices_match_the_kernel(linux_capture, when):
    """extfrag_index and unusable_index as debugfs printed them, from that moment's buddyinfo.

    The kernel files were read a moment apart from buddyinfo, so free counts may have moved
    by a few pages in between: unusable values are compared within 3 thousandths.
    """
    rows = parse_buddyinfo((linux_capture / when / "buddyinfo.txt").read_text())
    states = [ZoneFreeState(n, z, [counts], [0]) for n, z, counts in rows]
    assert format_extfrag_index(states) == (linux_capture / when / "extfrag_index.txt").read_text()
    real = _index_rows((linux_capture / when / "unusable_index.txt").read_text())
    ours = _index_rows(format_unusable_index(states))
    assert [r[:2] for r in ours] == [r[:2] for r in real]
    for (_, _, mine), (_, _, theirs) in zip(ours, real, strict=False):
        assert all(abs(_thousandths_value(a) - _thousandths_value(b)) <= 3 for a, b in zip(mine, theirs, strict=False))
        assert all(_thousandths(_thousandths_value(t), 0) == t for t in theirs)   # same printing


def test_extfrag_index_hand_computed():
    # one free order-0 and one order-1 block: 3 free pages, 2 blocks, nothing of order 2
    nr_free = [1, 1] + [0] * 9
    assert extfrag_index(nr_free, 0) == -1000            # would succeed
    assert extfrag_index(nr_free, 2) == 1000 - (1000 + 3 * 1000 // 4) // 2   # = 125
    assert extfrag_index([0] * 11, 3) == 0               # no free memory at all
    # not clamped: a single order-1 block asked for order 2 -> 1000 - (1000 + 500) / 1 = -500
    assert extfrag_index([0, 1] + [0] * 9, 2) == -500


def test_unusable_free_index_hand_computed():
    nr_free = [4, 0, 1] + [0] * 8                        # 8 free pages, one order-2 block
    assert unusable_free_index(nr_free, 0) == 0
    assert unusable_free_index(nr_free, 1) == (8 - 2 * 2) * 1000 // 8    # 500
    assert unusable_free_index(nr_free, 3) == 1000
    assert unusable_free_index([0] * 11, 0) == 1000      # no free memory counts as unusable


@pytest.mark.parametrize("bad", [[1] * 10, [1] * 12, [-1] + [0] * 10])
def test_index_input_validation(bad):
    with pytest.raises(ValueError):
        extfrag_index(bad, 0)
    with pytest.raises(ValueError):
        extfrag_index([0] * 11, 11)


def _zoneinfo_zones(text):
    zones = []
    for block in re.split(r"(?m)^(?=Node \d+, zone)", text):
        m = re.match(r"Node (\d+), zone\s+(\S+)", block)
        if not m:
            continue
        fields = {k: int(v) for k, v in re.findall(r"^\s+(min|low|high|managed)\s+(\d+)$", block, re.M)}
        batches = [int(b) for b in re.findall(r"batch: (\d+)", block)]
        highs = [int(b) for b in re.findall(r"high:  (\d+)", block)]
        if fields.get("managed"):
            zones.append(dict(fields, node=int(m.group(1)), zone=m.group(2), batch=batches[0], pcp_high=highs[0]))
    return zones


def test_watermarks_and_pcp_follow_the_kernel(linux_capture):
    """Zones of the real capture rebuilt as model nodes (one CPU each, as in the capture)."""
    real = _zoneinfo_zones((linux_capture / "after" / "zoneinfo.txt").read_text())
    min_free_kbytes = int(re.search(r"min_free_kbytes = (\d+)",
                                    (linux_capture / "meta" / "sysctl_vm.txt").read_text()).group(1))
    m = Machine(nodes=len(real), node_mem=[z["managed"] * 4096 for z in real], min_free_kbytes=min_free_kbytes)
    wm = m.watermarks()
    # MIN is pages_min split over zones by managed size: the split sums to pages_min (less rounding)
    assert min_free_kbytes // 4 - len(real) <= sum(w["min"] for w in wm.values()) <= min_free_kbytes // 4
    assert sum(z["min"] for z in real) == pytest.approx(min_free_kbytes // 4, abs=len(real))
    pcp = {n: m.zone(n, "Normal")["pcp"][0] for n in range(len(real))}
    for n, z in enumerate(real):
        delta = max(wm[n]["min"] // 4, z["managed"] * 10 // 10000)
        assert (wm[n]["low"], wm[n]["high"]) == (wm[n]["min"] + delta, wm[n]["min"] + 2 * delta)
        # the kernel's own numbers obey the same LOW/HIGH rule
        real_delta = max(z["min"] // 4, z["managed"] * 10 // 10000)
        assert (z["low"], z["high"]) == (z["min"] + real_delta, z["min"] + 2 * real_delta)
        # pcp batch from the zone size; high = low watermark / CPUs of the node (one here)
        assert pcp[n][2] == z["batch"]
        assert pcp[n][1] == wm[n]["low"] and z["pcp_high"] == z["low"]


def test_min_free_kbytes_default():
    # int_sqrt(lowmem_kbytes * 16), clamped to 128..262144 (the top needs a 4 TiB model)
    assert Machine(nodes=2, node_mem="256M").min_free_kbytes == 2896      # isqrt(524288 * 16)
    assert Machine(nodes=1, node_mem="1M").min_free_kbytes == 128
