"""MESI coherence between CPUs' private levels and timed accesses: the C model against the
pure-Python reference (kernel_model/reference/cache.py), and sequences worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cache_model import build_ref as build_hierarchy
from test_cache_model import ref_cache

from kernel_model.caches import CacheConfigError, CacheHierarchy, CacheSystem, options, parse_config
from kernel_model.reference.cache import RefCoherence, served_level

FOOTPRINT = 2048   # a few lines per set: sharing, conflicts, evictions and write-backs all happen


@st.composite
def systems(draw):
    """Private levels (a split or unified L1, maybe an L2) of one line size over a shared last level."""
    line = draw(st.sampled_from([16, 32, 64]))
    split = draw(st.booleans())
    names = (["L1i", "L1d"] if split else ["L1"]) + (["L2"] if draw(st.booleans()) else []) + ["LLC"]
    levels = []
    for name in names:
        policy = draw(st.sampled_from(["lru", "fifo", "random", "plru", "srrip"]))
        ways = draw(st.sampled_from([1, 2, 4] if policy == "plru" else [1, 2, 3, 4]))
        sets = draw(st.sampled_from([1, 2, 4]))
        first = name.startswith("L1")
        shared = name == "LLC"
        levels.append(dict(name=name, size=sets * ways * line, ways=ways, line_size=line, policy=policy,
                           write=draw(st.sampled_from(["back", "through"])), allocate=draw(st.booleans()),
                           inclusion="nine" if first else draw(st.sampled_from(["nine", "inclusive"])),
                           seed=draw(st.integers(0, 3)), classify_3c=shared and draw(st.booleans())))
    return levels, draw(st.integers(2, 3))


def build_ref(levels, cpus):
    """One RefHierarchy per CPU: private copies of every level but the last, which all share."""
    llc = ref_cache(levels[-1])
    return [build_hierarchy(levels, llc) for _ in range(cpus)]


# mostly a few hot lines (sharing), some of a wider range (evictions and write-backs)
accesses = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 191) | st.integers(0, FOOTPRINT - 1),
                              st.integers(1, 16), st.integers(0, 3), st.integers(0, 3)), min_size=20, max_size=250)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(system=systems(), trace=accesses)
def test_coherence_matches_mesi_reference(system, trace):
    levels, cpus = system
    sim = CacheSystem({"levels": levels, "coherence": True}, cpus)
    ref_cpus = build_ref(levels, cpus)
    ref = RefCoherence([h for _, h in ref_cpus])
    for cpu, addr, size, kind, tag in trace:
        cpu %= cpus
        sim.access(cpu, addr, size, kind, tag=tag, base=addr & ~63)
        ref.access(cpu, addr, size, kind, tag=tag, base=addr & ~63)
    for cpu, (caches, _) in enumerate(ref_cpus):
        stats = sim.stats(cpu)
        for name, rc in caches.items():
            assert {k: stats[name][k] for k in rc.st} == rc.st, (cpu, name)
            assert [sim.contains(cpu, name, a) for a in range(0, FOOTPRINT, 16)] == \
                   [rc.contains(a) for a in range(0, FOOTPRINT, 16)], (cpu, name)
        assert sim.coherence(cpu) == ref.st[cpu], cpu
    table, dropped = sim.c2c()
    ours = {(int(e["block"]), int(e["tag"][0]), int(e["base"][0]), int(e["cpu"][0]), int(e["tag"][1]),
             int(e["base"][1]), int(e["cpu"][1])): {"lo": e["lo"].tolist(), "hi": e["hi"].tolist(),
                                                    "true_sharing": int(e["true_sharing"]),
                                                    "false_sharing": int(e["false_sharing"])} for e in table}
    assert dropped == 0 and ours == ref.c2c


CONFIG = {"levels": [{"name": "L1d", "size": "32K", "ways": 8}, {"name": "L1i", "size": "32K", "ways": 8},
                     {"name": "L2", "size": "256K", "ways": 8}, {"name": "L3", "size": "1M", "ways": 16}]}


def test_false_sharing_by_hand():
    """Two CPUs incrementing adjacent 8-byte counters of one line, five times each, with the
    default latencies (L1 1.5 ns, L2 3 ns, L3 10 ns, memory 100 ns)."""
    sim = CacheSystem({**CONFIG, "coherence": True, "latency": {}}, 2)
    took = []
    for _ in range(5):
        took.append(sim.access(0, 0x1000, 8, "M", tag=1, base=0x1000))
        took.append(sim.access(1, 0x1008, 8, "M", tag=2, base=0x1000))
    # CPU 0's first load goes to memory (1.5 + 3 + 10 + 100) and finds no other copy: E; its store
    # hits (1.5) and makes it M silently. Every later load is a coherence miss in L1d and L2 on a line
    # the other CPU holds Modified: a transfer (the owner writes it back to L3 and keeps it Shared),
    # served by L3 (14.5); the store then upgrades S -> M (1.5), invalidating the other copy.
    assert took == [116_000] + [16_000] * 9
    c0, c1 = sim.coherence(0), sim.coherence(1)
    assert c0 == {"upgrades": 4, "invalidations_sent": 4, "invalidations_received": 5, "transfers": 4,
                  "coherence_misses": 4, "true_sharing": 0, "false_sharing": 4}
    assert c1 == {"upgrades": 5, "invalidations_sent": 5, "invalidations_received": 4, "transfers": 5,
                  "coherence_misses": 4, "true_sharing": 0, "false_sharing": 4}
    st0 = sim.stats(0)
    # both private levels lose their copy to each of CPU 1's five stores, and miss on it four times
    assert [(st0[n]["coh_invalidations"], st0[n]["coh_misses"]) for n in ("L1d", "L2")] == [(5, 4), (5, 4)]
    table, _ = sim.c2c()
    assert sorted((e["cpu"].tolist(), e["lo"].tolist(), e["hi"].tolist(), int(e["false_sharing"])) for e in table) == \
        [([0, 1], [0, 8], [8, 16], 4), ([1, 0], [8, 0], [16, 8], 4)]
    lat = sim.latency(0)
    assert (lat["accesses"], lat["total_ps"], lat["served"][:4]) == (5, 180_000, [5, 0, 4, 1])


def test_true_sharing_and_padding_by_hand():
    """The same counter on both CPUs is true sharing; counters a line apart share nothing."""
    same = CacheSystem({**CONFIG, "coherence": True}, 2)
    padded = CacheSystem({**CONFIG, "coherence": True}, 2)
    for _ in range(3):
        same.access(0, 0x1000, 8, "M")
        same.access(1, 0x1000, 8, "M")
        padded.access(0, 0x1000, 8, "M")
        padded.access(1, 0x1040, 8, "M")
    assert (same.coherence(1)["true_sharing"], same.coherence(1)["false_sharing"]) == (2, 0)
    assert padded.coherence(0) == padded.coherence(1) == dict.fromkeys(padded.coherence(0), 0)


def test_read_sharing_and_upgrade_by_hand():
    sim = CacheSystem({**CONFIG, "coherence": True}, 3)
    for cpu in range(3):
        sim.access(cpu, 0x2000, 8, "L")      # E, then S, S: no invalidation, no transfer
    assert all(sim.coherence(c)["invalidations_sent"] == 0 and sim.coherence(c)["transfers"] == 0 for c in range(3))
    sim.access(2, 0x2000, 8, "S")            # S -> M: one upgrade invalidating two copies
    assert (sim.coherence(2)["upgrades"], sim.coherence(2)["invalidations_sent"]) == (1, 2)
    assert not sim.contains(0, "L1d", 0x2000) and sim.contains(2, "L1d", 0x2000)
    sim.access(0, 0x2010, 8, "L")            # a load of the Modified line: a transfer and a coherence miss
    assert (sim.coherence(0)["transfers"], sim.coherence(0)["coherence_misses"], sim.coherence(0)["false_sharing"]) == \
        (1, 1, 1)


def test_one_cpu_and_a_lone_cpu_are_unchanged():
    """Coherence changes nothing while no other CPU holds a line: one CPU of a coherent pair walking
    a trace gets exactly the counters of a plain hierarchy."""
    rng = np.random.default_rng(3)
    addr = rng.integers(0, 1 << 20, 20000)
    kind = rng.choice([0, 1, 2, 3], 20000)
    plain = CacheHierarchy(CONFIG)
    plain.replay(addr, 8, kind)
    for cpus in (1, 2):
        sim = CacheSystem({**CONFIG, "coherence": True}, cpus)
        for a, k in zip(addr.tolist(), kind.tolist(), strict=True):
            sim.access(0, a, 8, k)
        ours, theirs = sim.stats(0), plain.stats()
        assert all({k: ours[n][k] for k in ours[n]} == {k: theirs[n][k] for k in ours[n]} for n in ours)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(system=systems(), trace=accesses, latency=st.lists(st.integers(1, 50), min_size=5, max_size=5))
def test_timed_accesses_match_reference(system, trace, latency):
    """Each access's latency is the sum over its line lookups of the latencies down to the level that
    served it (the first on the path holding the line, as the reference finds it before the lookup)."""
    levels, _ = system
    ns = {lv["name"]: latency[i] for i, lv in enumerate(levels)}
    sim = CacheSystem({"levels": levels, "latency": {**ns, "memory": latency[-1] * 10}}, 1)
    [(caches, ref)] = build_ref(levels, 1)
    split = levels[0]["name"] == "L1i"
    for _, addr, size, kind, _ in trace:
        first = ref.i1 if kind == 0 else ref.d1
        path = [first] + [c for c in caches.values() if c not in (ref.i1, ref.d1)]
        names = [n for n, c in caches.items() if c in path]
        cum = np.cumsum([ns[n] for n in names] + [latency[-1] * 10]) * 1000
        expect = sum(int(cum[lv]) for lv in served_level(ref, addr, size, kind))
        assert sim.access(0, addr, size, kind) == expect, (addr, size, kind, split)
    lat = sim.latency(0)
    assert lat["accesses"] == len(trace) and sum(lat["histogram"]) == len(trace)


@pytest.mark.parametrize("config, message", [
    ({**CONFIG, "coherence": "yes"}, "cache config.coherence: expected true or false, got 'yes'"),
    ({"levels": [{"name": "L1", "size": "32K", "ways": 32}, {"name": "L2", "size": "1M", "ways": 16}],
      "coherence": True}, "L1: coherence needs private levels whose lines stay in their ways"),
    ({"levels": [{"name": "L1", "size": "32K", "ways": 8, "classify_3c": True}, {"name": "L2", "size": "1M",
                                                                                  "ways": 16}],
      "coherence": True}, "L1: classify_3c"),
    ({"levels": [{"name": "L1", "size": "32K", "ways": 8}, {"name": "L2", "size": "1M", "ways": 16,
                                                            "line_size": 128}, {"name": "L3", "size": "8M",
                                                                                "ways": 16}],
      "coherence": True}, "L2: coherence needs one line size"),
    ({**CONFIG, "latency": {"L5": 3}}, "latency.L5: no level of that name"),
    ({**CONFIG, "latency": {"L2": -1}}, "latency.L2: -1 is not a latency"),
    ({**CONFIG, "latency": {"memory": True}}, "latency.memory: True"),
    ({**CONFIG, "latency": 3}, "latency must be a table"),
])
def test_option_errors_name_the_key(config, message):
    with pytest.raises(CacheConfigError, match=message):
        parse_config(config)


def test_latency_defaults_by_position():
    opts = options({**CONFIG, "latency": {"L2": 5}})
    assert opts.latency_ns == {"L1d": 1.5, "L1i": 1.5, "L2": 5.0, "L3": 10.0} and opts.memory_ns is None
    assert options(CONFIG).latency_ns is None and not options(CONFIG).coherence


def test_footprint_counts_the_ghosts_of_coherent_private_levels():
    from kernel_model._core import CACHE_GHOST_BYTES
    from kernel_model.caches import footprint
    config = {"levels": [{"name": "L1", "size": "32K", "ways": 8}, {"name": "L2", "size": "1M", "ways": 16}]}
    _, plain = footprint(config, [0, 0, 1, 1])
    _, coherent = footprint({**config, "coherence": True}, [0, 0, 1, 1])
    assert coherent - plain == 4 * 512 * CACHE_GHOST_BYTES                     # L1 of each CPU; L2 per node
    _, per_cpu = footprint({**config, "coherence": True, "llc": "cpu"}, [0, 0, 1, 1])
    assert per_cpu - footprint({**config, "llc": "cpu"}, [0, 0, 1, 1])[1] == 4 * (512 + 16384) * CACHE_GHOST_BYTES
    assert footprint({**config, "coherence": True}, [0])[1] == footprint(config, [0])[1]   # one CPU: none
