"""The C cache hierarchy against the pure-Python reference: every policy and write/inclusion combination."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_model.caches import CacheConfigError, CacheHierarchy
from kernel_model.reference.cache import POLICIES, RefCache, RefHierarchy

FOOTPRINT = 8192   # small address range: plenty of hits, conflicts and evictions


@st.composite
def hierarchies(draw):
    split = draw(st.booleans())
    depth = draw(st.integers(1, 3))
    levels, line = [], draw(st.sampled_from([16, 32, 64]))
    for i in range(depth + (1 if split else 0)):
        policy = draw(st.sampled_from(POLICIES))
        ways = draw(st.sampled_from([1, 2, 4] if policy == "plru" else [1, 2, 3, 4]))
        sets = draw(st.sampled_from([1, 2, 3, 4, 8]))
        first = i < (2 if split else 1)
        if not first and draw(st.booleans()):
            line = draw(st.sampled_from([line, min(line * 2, 128)]))
        inclusion = "nine" if first else draw(st.sampled_from(["nine", "inclusive", "exclusive"]))
        levels.append(dict(name=(["L1i", "L1d"][i] if split and first else f"L{i + (0 if split else 1)}"),
                           size=sets * ways * line, ways=ways, line_size=line, policy=policy,
                           write=draw(st.sampled_from(["back", "through"])), allocate=draw(st.booleans()),
                           inclusion=inclusion, seed=draw(st.integers(0, 5)), classify_3c=draw(st.booleans())))
    # an exclusive level needs write-back, write-allocate levels of the same line size above it
    # (fixed bottom-up, so a change to a middle level reaches the levels above it too)
    for i, lv in reversed(list(enumerate(levels))):
        if lv["inclusion"] == "exclusive":
            uppers = levels[:2] if split and i == 2 else [levels[i - 1]]
            for up in uppers:
                up.update(write="back", allocate=True, line_size=lv["line_size"],
                          size=up["size"] // up["line_size"] * lv["line_size"])
    return levels


def ref_cache(lv) -> RefCache:
    return RefCache(lv["size"] // (lv["ways"] * lv["line_size"]), lv["ways"], lv["line_size"], lv["policy"],
                    lv["write"] == "back", lv["allocate"], lv["inclusion"], lv["seed"], lv["classify_3c"])


def build_ref(levels, shared_last: RefCache | None = None):
    """The reference hierarchy, linked as the C one is; shared_last: the last level, when CPUs share it."""
    caches = {lv["name"]: ref_cache(lv) for lv in levels}
    if shared_last is not None:
        caches[levels[-1]["name"]] = shared_last
    names = [lv["name"] for lv in levels]
    split = names[:2] == ["L1i", "L1d"]
    chain = ([names[:2]] if split else [names[:1]]) + [[n] for n in names[(2 if split else 1):]]
    for uppers, (lower,) in zip(chain, chain[1:], strict=False):
        for up in uppers:
            caches[up].link(caches[lower])
    first = (caches["L1i"], caches["L1d"]) if split else (caches[names[0]],) * 2
    return caches, RefHierarchy(*first)


traces = st.lists(st.tuples(st.integers(0, FOOTPRINT - 1), st.integers(1, 16), st.integers(0, 3)),
                  min_size=1, max_size=300)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(levels=hierarchies(), trace=traces)
def test_hierarchy_matches_reference(levels, trace):
    h = CacheHierarchy({"levels": levels})
    caches, ref = build_ref(levels)
    addr, size, kind = (np.array(col) for col in zip(*trace, strict=True))
    h.replay(addr, size, kind)
    for a, s, k in trace:
        ref.access(a, s, k)
    stats = h.stats()
    for name, rc in caches.items():
        ours = {k: stats[name][k] for k in rc.st}
        assert ours == rc.st, name
        assert [h.contains(name, a) for a in range(0, FOOTPRINT, 16)] == \
               [rc.contains(a) for a in range(0, FOOTPRINT, 16)], name
    _check_inclusion(h, levels)


def _check_inclusion(h, levels):
    names = [lv["name"] for lv in levels]
    split = names[:2] == ["L1i", "L1d"]
    for i, lv in enumerate(levels):
        if i < (2 if split else 1):
            continue
        uppers = names[:2] if split and i == 2 else [names[i - 1]]
        for up in uppers:
            for a in range(0, FOOTPRINT, 16):
                if lv["inclusion"] == "inclusive" and h.contains(up, a):
                    assert h.contains(lv["name"], a), f"{lv['name']} inclusive but misses {a:#x} held by {up}"
                # exclusive: no line in both (with a split L1 above, L1i and L1d may share a line,
                # and a victim of one can enter the exclusive level while the other still holds it)
                if lv["inclusion"] == "exclusive" and len(uppers) == 1:
                    assert not (h.contains(up, a) and h.contains(lv["name"], a)), f"{a:#x} in {up} and {lv['name']}"


def test_three_c_by_hand():
    # a 2-set, 1-way cache of 64-byte lines: blocks 0 and 2 collide in set 0
    h = CacheHierarchy({"levels": [{"name": "L1", "size": 128, "ways": 1, "classify_3c": True}]})
    h.replay([0, 128, 0, 64, 128 + 64 * 4], 8, "L")
    st = h.stats()["L1"]
    # 0 and 128 compulsory, 0 again conflicts (a fully associative 2-line cache would hit),
    # 64 compulsory, 384 compulsory
    assert (st["compulsory"], st["conflict"], st["capacity"]) == (4, 1, 0)
    h.replay([128, 0, 64], 8, "L")
    # after 0, 64, 384 the 2-line LRU shadow holds 64 and 384: 128 and 0 are capacity misses
    st = h.stats()["L1"]
    assert (st["capacity"], st["misses"]) == (2, st["compulsory"] + st["conflict"] + st["capacity"])


def test_write_back_write_allocate_by_hand():
    h = CacheHierarchy({"levels": [{"name": "L1", "size": 64, "ways": 1},
                                   {"name": "L2", "size": 256, "ways": 1}]})
    h.replay([0, 64, 0], 8, ["S", "L", "L"])
    st = h.stats()
    # store miss allocates (dirty); load of 64 evicts it -> one write-back into L2 (a store hit there)
    assert (st["L1"]["store_misses"], st["L1"]["writebacks"], st["L2"]["store_hits"]) == (1, 1, 1)
    assert st["L1"]["load_misses"] == 2 and st["L2"]["load_hits"] == 1


def test_tlbs_and_page_walks():
    h = CacheHierarchy({"levels": [{"name": "L1", "size": "32K", "ways": 8}],
                        "tlb": {"dtlb": {"entries": 4, "ways": 4}, "stlb": {"entries": 8, "ways": 8},
                                "dtlb_huge": {"entries": 2, "ways": 2}}})
    pages = np.arange(10, dtype=np.uint64) * 4096
    h.replay(np.concatenate([pages, pages]), 8, "L")
    st = h.stats()
    assert st["dtlb"]["misses"] == 20           # 10 pages cycle through a 4-entry TLB
    assert st["stlb"]["misses"] == 20 and st["page_walks"] == 20   # and through an 8-entry L2 TLB
    h.set_huge_pages([(1 << 30, (1 << 30) + (4 << 20))])
    h.replay(np.array([1 << 30, (1 << 30) + 4096, (1 << 30) + (2 << 20)], np.uint64), 8, "L")
    st = h.stats()
    # two 2 MiB pages: two misses, one hit; with no huge L2 TLB each miss is a walk
    assert (st["dtlb_huge"]["misses"], st["dtlb_huge"]["hits"], st["page_walks"]) == (2, 1, 22)


def test_cachegrind_mode_through_the_same_interface():
    h = CacheHierarchy.cachegrind(I1=(1024, 2, 64), D1=(1024, 2, 64), LL=(4096, 4, 64))
    h.replay([0x1000, 0x2000, 0x1000, 0x2000], [4, 8, 8, 8], ["I", "L", "S", "M"])
    ev = h.stats()
    assert (ev["Ir"], ev["Dr"], ev["Dw"], ev["D1mr"]) == (1, 2, 1, 1)


@pytest.mark.parametrize("config,message", [
    ({"levels": []}, "at least one level"),
    ({"levels": [{"name": "L1", "size": "32K"}]}, "missing key 'ways'"),
    ({"levels": [{"name": "L1", "size": "32K", "ways": 8, "policy": "lfu"}]}, "levels\\[0\\].policy"),
    ({"levels": [{"name": "L1", "size": 1000, "ways": 8}]}, "multiple of ways"),
    ({"levels": [{"name": "L1", "size": "32K", "ways": 8, "colour": 1}]}, "unknown key 'colour'"),
    ({"levels": [{"name": "L1", "size": "32K", "ways": 8, "write": "through"},
                 {"name": "L2", "size": "1M", "ways": 16, "inclusion": "exclusive"}]}, "exclusive level"),
])
def test_config_errors_name_the_level_and_key(config, message):
    with pytest.raises(CacheConfigError, match=message):
        CacheHierarchy(config)


def test_from_toml(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[cache]\nlevels = [{name = "L1", size = "32K", ways = 8}, {name = "L2", size = "1M", ways = 16}]\n')
    h = CacheHierarchy.from_toml(p)
    h.replay([0, 64, 0], 8, "L")
    assert h.stats()["L1"]["hits"] == 1
    (tmp_path / "bad.toml").write_text("[cache\n")
    with pytest.raises(CacheConfigError, match="bad.toml"):
        CacheHierarchy.from_toml(tmp_path / "bad.toml")


@pytest.mark.parametrize("line_sizes, ways", [((64, 64, 64), (2, 4, 8)), ((32, 64, 128), (2, 4, 8)),
                                              ((64, 64, 64), (8, 16, 16)), ((64, 64, 64), (3, 12, 16)),
                                              ((32, 64, 64), (16, 20, 8))])
def test_fast_lru_chain_matches_reference(line_sizes, ways):
    """The benchmark's shape (non-inclusive LRU, write-back, write-allocate) takes the iterative walk,
    and with at most 16 ways per level the lean walk (vector compares for 8 and 16 ways, odd counts)."""
    levels = [dict(name=f"L{i + 1}", size=sets * w * line, ways=w, line_size=line)
              for i, (sets, w, line) in enumerate(zip((4, 8, 16), ways, line_sizes, strict=True))]
    h = CacheHierarchy({"levels": levels})
    caches, ref = build_ref([dict(lv, policy="lru", write="back", allocate=True, inclusion="nine", seed=0,
                                  classify_3c=False) for lv in levels])
    rng = np.random.default_rng(1)
    addr = np.where(rng.random(20000) < 0.5, np.arange(20000) * 4, rng.integers(0, 1 << 16, 20000))
    kind = rng.choice([1, 2, 3], 20000)
    size = rng.choice([1, 4, 8, 16], 20000)
    h.replay(addr, size, kind)
    for a, s, k in zip(addr.tolist(), size.tolist(), kind.tolist(), strict=True):
        ref.access(a, s, k)
    stats = h.stats()
    for name, rc in caches.items():
        assert {k: stats[name][k] for k in rc.st} == rc.st, name
    assert stats["L3"]["writebacks"] > 0 and stats["L1"]["store_misses"] > 0
