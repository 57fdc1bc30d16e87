"""CacheHierarchy: one CPU's caches and TLBs, built from a dict or TOML, replayed from numpy arrays.

Config (sizes as bytes or "32K"; every key but size and ways is optional):

    {"levels": [
        {"name": "L1i", "size": "32K", "ways": 8},
        {"name": "L1d", "size": "32K", "ways": 8, "policy": "plru"},
        {"name": "L2", "size": "1M", "ways": 16, "inclusion": "inclusive"},
        {"name": "L3", "size": "8M", "ways": 16, "policy": "srrip", "classify_3c": true}],
     "tlb": {"itlb": {"entries": 128, "ways": 8}, "dtlb": {"entries": 64, "ways": 4},
             "stlb": {"entries": 1536, "ways": 12},
             "itlb_huge": {"entries": 8, "ways": 8}, "dtlb_huge": {"entries": 32, "ways": 4}}}

Levels go from the CPU towards memory. Two first levels named L1i and L1d make a
split L1; otherwise the first level is unified. Per level: line_size (64),
policy (lru, fifo, random, plru, srrip), write ("back" or "through"), allocate
(true: write-allocate), inclusion towards the levels above (nine, inclusive,
exclusive), seed (random policy), classify_3c.

Two options for machines with several CPUs (CacheSystem, kernel_model.Machine), both off
unless given:

    coherence = true      # MESI between the CPUs' private levels (design.md section 10)
    latency = {L1d = 1.2, L2 = 4, memory = 90}    # ns; {} takes every default

coherence: a level reached from one CPU only is private to it; private levels keep their
lines in their ways (LRU/FIFO up to ORDER_MAX_WAYS = 16 ways, or PLRU, random, SRRIP), have
one line size and no classify_3c. Single-CPU machines are unchanged by it.

latency: a lookup served by the k-th level of an access's path costs the latencies of
levels 1..k (each level's own lookup time), one served by memory all of them plus the
memory latency; the average memory access time is then hit time + miss ratio x miss
penalty, level by level. Defaults (LATENCY_DEFAULT_NS, roughly a 3 GHz server core):
1.5 ns at the first level of a path, 3 ns at the second, 10 ns at the third, 20 ns below;
memory: the machine's latency of the page's node (the topology's HMAT latencies when it
has them, else 10 ns per SLIT distance unit: 100 ns local) or, given here, that latency
for local memory and remote nodes scaled by distance / 10. Paths of up to 4 levels.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from kernel_model._core import (
    ACCESS_KIND_NAMES,
    CACHE_GHOST_BYTES,
    CACHE_INCLUSION_NAMES,
    CACHE_POLICY_NAMES,
    HIERARCHY_MAX_LEVELS,
    ORDER_MAX_WAYS,
    PLRU_MAX_WAYS,
    SITE_LEVELS,
    CacheCore,
    CachegrindSim,
)
from kernel_model.mm import PAGE_SIZE
from kernel_model.units import parse_size

POLICIES: tuple[str, ...] = CACHE_POLICY_NAMES
INCLUSION: tuple[str, ...] = CACHE_INCLUSION_NAMES
# instruction fetch, load, store, modify (load then store), by lackey's letters
KINDS: dict[str, int] = {letter: kind for kind, letter in enumerate(ACCESS_KIND_NAMES)}
PAGE_4K, PAGE_2M = PAGE_SIZE, 2 << 20


class CacheConfigError(ValueError):
    """A cache configuration that cannot be built; the message names the level and key."""


LATENCY_DEFAULT_NS = (1.5, 3.0, 10.0)    # by position on an access's path; deeper levels LATENCY_DEEP_NS
LATENCY_DEEP_NS = 20.0
LATENCY_MEMORY_NS = 100                  # memory without a machine (CacheSystem, CacheHierarchy)
LATENCY_MAX_NS = 1_000_000
PS_PER_NS = 1000


@dataclass(frozen=True)
class CacheOptions:
    """The config's coherence and latency settings (latency None: accesses are not timed)."""
    coherence: bool = False
    latency_ns: Mapping[str, float] | None = None     # level name -> ns, every level
    memory_ns: float | None = None                    # given in the config, else the machine's


@dataclass(frozen=True)
class LevelSpec:
    name: str
    size: int
    ways: int
    line_size: int = 64
    policy: str = "lru"
    write_back: bool = True
    write_allocate: bool = True
    inclusion: str = "nine"
    seed: int = 0
    classify_3c: bool = False

    @property
    def sets(self) -> int:
        return self.size // (self.ways * self.line_size)


MAX_LEVEL_SIZE = 1 << 32      # 4 GiB: larger than any real cache level, 512 MiB of tags at 64-byte lines
MAX_WAYS = 1 << 16
MAX_LINE_SIZE = 4096
MAX_TLB_ENTRIES = 1 << 20
TLB_KEYS = ("itlb", "dtlb", "stlb", "itlb_huge", "dtlb_huge", "stlb_huge")
# A CPU's levels and TLBs all go into struct cache_hierarchy's levels[] (core/cache.h)
MAX_LEVELS = HIERARCHY_MAX_LEVELS - len(TLB_KEYS)
LLC_SHARING = ("node", "shared", "cpu")


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _get(d: Mapping, key: str, where: str, types: tuple[type, ...], default=None, choices=()):
    """d[key] (or default) checked for its type, and for choices; bool is never taken as an int."""
    if key not in d:
        if default is None:
            raise CacheConfigError(f"{where}: missing key {key!r}")
        return default
    value = d[key]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types) \
            or (choices and value not in choices):
        expected = f"one of {', '.join(map(repr, choices))}" if choices else \
            " or ".join({int: "an integer", str: "a string", bool: "true or false"}[t] for t in types)
        raise CacheConfigError(f"{where}.{key}: expected {expected}, got {_show(value)}")
    return value


def _bounded(value: int, where: str, lo: int, hi: int) -> int:
    if not lo <= value <= hi:
        raise CacheConfigError(f"{where}: {value:,} is outside {lo:,}..{hi:,}")
    return value


def _level(d: Mapping, where: str, default_name: str, page_size: int | None = None) -> LevelSpec:
    """One level (page_size: a TLB, `entries` of one page each)."""
    if not isinstance(d, Mapping):
        raise CacheConfigError(f"{where}: expected a table, got {_show(d)}")
    known = {"name", "size", "ways", "line_size", "policy", "write", "allocate", "inclusion", "seed",
             "classify_3c", "entries"}
    unknown = set(d) - known
    if unknown:
        raise CacheConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    ways = _bounded(_get(d, "ways", where, (int,)), f"{where}.ways", 1, MAX_WAYS)
    if page_size is not None:
        line_size = page_size
        size = _bounded(_get(d, "entries", where, (int,)), f"{where}.entries", 1, MAX_TLB_ENTRIES) * page_size
    else:
        line_size = _bounded(_get(d, "line_size", where, (int,), 64), f"{where}.line_size", 1, MAX_LINE_SIZE)
        if line_size & (line_size - 1):
            raise CacheConfigError(f"{where}.line_size: {line_size} is not a power of two")
        raw = _get(d, "size", where, (int, str))
        try:
            size = parse_size(raw)
        except ValueError as e:
            raise CacheConfigError(f"{where}.size: {e}") from None
        if not 0 < size <= MAX_LEVEL_SIZE:
            raise CacheConfigError(f"{where}.size: {_show(raw)} is outside 1..{MAX_LEVEL_SIZE >> 30}G")
    policy = _get(d, "policy", where, (str,), "lru").lower()
    if policy not in POLICIES:
        raise CacheConfigError(f"{where}.policy: {policy!r} is not one of {', '.join(POLICIES)}")
    inclusion = _get(d, "inclusion", where, (str,), "nine").lower()
    if inclusion not in INCLUSION:
        raise CacheConfigError(f"{where}.inclusion: {inclusion!r} is not one of {', '.join(INCLUSION)}")
    write = _get(d, "write", where, (str,), "back").lower()
    if write not in ("back", "through"):
        raise CacheConfigError(f"{where}.write: {write!r} is not 'back' or 'through'")
    if size % (ways * line_size):
        raise CacheConfigError(f"{where}: size {size} is not a multiple of ways x line size ({ways} x {line_size})")
    if policy == "plru" and (ways & (ways - 1) or ways > PLRU_MAX_WAYS):
        raise CacheConfigError(f"{where}: the plru policy needs a power-of-two number of ways up to "
                               f"{PLRU_MAX_WAYS}, got {ways}")
    seed = _bounded(_get(d, "seed", where, (int,), 0), f"{where}.seed", 0, (1 << 64) - 1)
    return LevelSpec(_get(d, "name", where, (str,), default_name), size, ways, line_size, policy, write == "back",
                     _get(d, "allocate", where, (bool,), True), inclusion, seed,
                     _get(d, "classify_3c", where, (bool,), False))


def parse_config(config: Mapping) -> tuple[list[LevelSpec], dict[str, LevelSpec]]:
    """Validated level and TLB specs of a cache config (see the module docstring)."""
    if not isinstance(config, Mapping):
        raise CacheConfigError(f"cache config: expected a table, got {_show(config)}")
    levels = config.get("levels")
    if not levels:
        raise CacheConfigError("cache config: 'levels' must list at least one level")
    if not isinstance(levels, (list, tuple)) or len(levels) > MAX_LEVELS:
        raise CacheConfigError(f"cache config: 'levels' must be a list of 1..{MAX_LEVELS} levels, got {_show(levels)}")
    unknown = set(config) - {"levels", "tlb", "llc", "coherence", "latency"}
    if unknown:
        raise CacheConfigError(f"cache config: unknown key {sorted(unknown)[0]!r}")
    _get(config, "llc", "cache config", (str,), "node", LLC_SHARING)   # "cache config.llc: expected ..."
    specs = [_level(d, f"levels[{i}]", f"L{i + 1}") for i, d in enumerate(levels)]
    names = [lv.name for lv in specs]
    if len(set(names)) != len(names):
        raise CacheConfigError("cache config: level names must be unique")
    t = config.get("tlb") or {}
    if not isinstance(t, Mapping):
        raise CacheConfigError(f"tlb: expected a table, got {_show(t)}")
    unknown = set(t) - set(TLB_KEYS)
    if unknown:
        raise CacheConfigError(f"tlb: unknown key {sorted(unknown)[0]!r}")
    tlbs = {k: _level(t[k], f"tlb.{k}", k, PAGE_2M if k.endswith("huge") else PAGE_4K) for k in TLB_KEYS if k in t}
    split = names[:2] in (["L1i", "L1d"], ["L1d", "L1i"])
    first = 2 if split else 1
    for i, lower in enumerate(specs[first:], first):
        for up in (specs[:2] if split and i == 2 else [specs[i - 1]]):
            if lower.inclusion == "exclusive" and (up.line_size != lower.line_size or not up.write_back
                                                   or not up.write_allocate):
                raise CacheConfigError(f"{lower.name}: an exclusive level needs write-back, write-allocate "
                                       f"levels above it with the same line size ({up.name} is not)")
    _options(config, specs)
    return specs, tlbs


def footprint(config: Mapping, cpu_to_node: list[int]) -> tuple[int, int]:
    """(cache instances, bytes of host memory) the config takes on a machine with these CPUs:
    what CacheCore.add allocates per instance (tags and PLRU bits; the 3C shadow when classified),
    private levels and TLBs once per CPU, the last level per its llc sharing; with coherence a
    ghost per line of the private levels."""
    specs, tlbs = parse_config(config)
    coherent = _options(config, specs).coherence and len(cpu_to_node) > 1

    def nbytes(spec: LevelSpec, private: bool = False) -> int:
        lines = spec.sets * spec.ways
        shadow = lines * 16 + (1 << (2 * lines - 1).bit_length()) * 4 + (1 << (4 * lines - 1).bit_length()) * 8
        ghosts = lines * CACHE_GHOST_BYTES if private and coherent else 0
        return lines * 8 + spec.sets * 8 + (shadow if spec.classify_3c else 0) + ghosts

    cpus = len(cpu_to_node)
    llc = config.get("llc", "node")
    shared = len(specs) > 1
    last = {"node": len(set(cpu_to_node)), "shared": 1, "cpu": cpus}[llc] if shared else cpus
    private = specs[:-1] if shared else specs
    instances = cpus * (len(private) + len(tlbs)) + (last if shared else 0)
    total = cpus * (sum(nbytes(lv, True) for lv in private) + sum(map(nbytes, tlbs.values()))) + \
        (last * nbytes(specs[-1], last == cpus) if shared else 0)   # an LLC per CPU is private too
    return instances, total


def _first_levels(specs: list[LevelSpec]) -> int:
    names = [lv.name for lv in specs]
    return 2 if names[:2] in (["L1i", "L1d"], ["L1d", "L1i"]) else 1


def path_position(specs: list[LevelSpec], name: str) -> int:
    """A level's place (0: first) on the paths of accesses that reach it."""
    i = [lv.name for lv in specs].index(name)
    first = _first_levels(specs)
    return 0 if i < first else i - first + 1


def _options(config: Mapping, specs: list[LevelSpec]) -> CacheOptions:
    coherence = _get(config, "coherence", "cache config", (bool,), False)
    if coherence:
        # every level but a shared last one may be private to a CPU (the machine decides which are)
        maybe = specs if str(config.get("llc", "node")) == "cpu" or len(specs) == 1 else specs[:-1]
        check_coherent_levels(maybe)
    latency = config.get("latency")
    if latency is None:
        return CacheOptions(coherence)
    if not isinstance(latency, Mapping):
        raise CacheConfigError(f"cache config: latency must be a table of ns by level name (and memory), "
                               f"not {latency!r}")
    names = [lv.name for lv in specs]
    for key, ns in latency.items():
        if key not in (*names, "memory"):
            raise CacheConfigError(f"latency.{key}: no level of that name (levels: {', '.join(names)}; or memory)")
        if isinstance(ns, bool) or not isinstance(ns, (int, float)) or not 0 < ns <= LATENCY_MAX_NS:
            raise CacheConfigError(f"latency.{key}: {ns!r} is not a latency in ns (0 < ns <= {LATENCY_MAX_NS:,})")
    if len(specs) - _first_levels(specs) + 1 > SITE_LEVELS:
        raise CacheConfigError(f"latency: paths of at most {SITE_LEVELS} levels are timed, this config has "
                               f"{len(specs) - _first_levels(specs) + 1}")
    pos = {lv.name: path_position(specs, lv.name) for lv in specs}
    per_level = {n: float(latency.get(n, LATENCY_DEFAULT_NS[pos[n]] if pos[n] < len(LATENCY_DEFAULT_NS)
                                      else LATENCY_DEEP_NS)) for n in names}
    memory = latency.get("memory")
    return CacheOptions(coherence, per_level, None if memory is None else float(memory))


def options(config: Mapping) -> CacheOptions:
    """The coherence and latency settings of a cache config (checked with the rest of it)."""
    specs, _ = parse_config(config)
    return _options(config, specs)


def check_coherent_levels(levels: list[LevelSpec]) -> None:
    """Private levels under coherence: lines that stay in their ways, one line size, no 3C (a
    ghost records the bytes of its line in 16 bits: lines are at most MAX_LINE_SIZE)."""
    for lv in levels:
        if lv.policy in ("lru", "fifo") and lv.ways > ORDER_MAX_WAYS:
            raise CacheConfigError(f"{lv.name}: coherence needs private levels whose lines stay in their ways "
                                   f"(LRU/FIFO up to {ORDER_MAX_WAYS} ways, or plru, random, srrip); it has "
                                   f"{lv.ways} ways")
        if lv.classify_3c:
            raise CacheConfigError(f"{lv.name}: classify_3c on a level private to a CPU is not modelled with "
                                   f"coherence (3C knows nothing of other CPUs' stores)")
        if lv.line_size != levels[0].line_size:
            raise CacheConfigError(f"{lv.name}: coherence needs one line size across the private levels "
                                   f"({levels[0].name} has {levels[0].line_size}, {lv.name} {lv.line_size})")


def apply_options(core: CacheCore, cpus: list[dict[str, int]], specs: list[LevelSpec], opts: CacheOptions,
                  memory_ns: list[list[float]]) -> None:
    """Set the latencies of every CPU's levels (memory_ns[cpu]: per node) and turn coherence on."""
    if opts.latency_ns is not None:
        for cpu, index in enumerate(cpus):
            for lv in specs:
                core.set_hit_latency(index[lv.name], round(opts.latency_ns[lv.name] * PS_PER_NS))
            core.set_memory_latency(cpu, [round(ns * PS_PER_NS) for ns in memory_ns[cpu]])
    if opts.coherence and len(cpus) > 1:
        private = set(core.private_levels())
        check_coherent_levels([lv for lv in specs if any(index[lv.name] in private for index in cpus)])
        core.enable_coherence()


def build_cpu(core: CacheCore, cpu: int, specs: list[LevelSpec], tlbs: dict[str, LevelSpec],
              shared: dict | None = None, share_key=None) -> dict[str, int]:
    """Create one CPU's caches in core and wire hierarchy `cpu` through them. The last level is
    shared between CPUs with the same share_key (its index kept in `shared`). Returns name -> index."""
    def add(spec: LevelSpec) -> int:
        return core.add(spec.sets, spec.ways, spec.line_size, POLICIES.index(spec.policy), spec.write_back,
                        spec.write_allocate, INCLUSION.index(spec.inclusion), spec.seed, spec.classify_3c)

    index: dict[str, int] = {}
    for i, spec in enumerate(specs):
        last = i == len(specs) - 1 and i > 0
        if last and shared is not None and share_key in shared:
            index[spec.name] = shared[share_key]
            continue
        index[spec.name] = add(spec)
        if last and shared is not None:
            shared[share_key] = index[spec.name]
    names = [lv.name for lv in specs]
    split = names[:2] in (["L1i", "L1d"], ["L1d", "L1i"])
    chain = [names[:2] if split else names[:1]] + [[n] for n in names[(2 if split else 1):]]
    for uppers, (lower,) in zip(chain, chain[1:], strict=False):
        for upper in uppers:
            core.link(index[upper], index[lower])
    for key, spec in tlbs.items():
        index[key] = add(spec)
    for first, second in (("itlb", "stlb"), ("dtlb", "stlb"), ("itlb_huge", "stlb_huge"), ("dtlb_huge", "stlb_huge")):
        if first in index and second in index:
            core.link(index[first], index[second])
    i1 = index["L1i" if split else names[0]]
    d1 = index["L1d" if split else names[0]]
    core.wire(cpu, i1, d1, *(index.get(k, -1) for k in ("itlb", "dtlb", "itlb_huge", "dtlb_huge")))
    return index


class CacheHierarchy:
    """One CPU's cache hierarchy (and optional TLBs), simulated in C."""

    def __init__(self, config: Mapping) -> None:
        self.levels, tlbs = parse_config(config)
        self._core = CacheCore(1)
        self._index = build_cpu(self._core, 0, self.levels, tlbs)
        self.huge_ranges: list[tuple[int, int]] = []

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> CacheHierarchy:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except OSError as e:
            raise CacheConfigError(f"{path}: {e.strerror or e}") from None
        except tomllib.TOMLDecodeError as e:
            raise CacheConfigError(f"{path}: {e}") from None
        return cls(data.get("cache", data))

    @staticmethod
    def cachegrind(I1: tuple[int, int, int], D1: tuple[int, int, int], LL: tuple[int, int, int]) -> CachegrindHierarchy:
        """cachegrind's I1/D1/LL model (its exact rules; see kernel_model.cachegrind)."""
        return CachegrindHierarchy(I1, D1, LL)

    def set_huge_pages(self, ranges: list[tuple[int, int]]) -> None:
        """Address ranges mapped with 2 MiB pages (translated by the *_huge TLBs)."""
        self.huge_ranges = list(ranges)
        self._core.set_huge_ranges(0, self.huge_ranges)

    def replay(self, addresses, sizes, kinds) -> None:
        """Replay accesses: numpy arrays of addresses, sizes in bytes and kinds (I/L/S/M or 0..3)."""
        addr, size, kind = _arrays(addresses, sizes, kinds)
        self._core.replay(0, addr, size, kind)

    def access(self, addr: int, size: int, kind: str = "L") -> None:
        self._core.access(0, addr, size, KINDS[kind])

    def contains(self, level: str, addr: int) -> bool:
        return self._core.contains(self._index[level], addr)

    def flush(self) -> None:
        """Write every dirty line back, first levels first."""
        for lv in self.levels:
            self._core.flush(self._index[lv.name])

    def stats(self) -> dict:
        """Per level: accesses, hits and misses (read/write), evictions, write-backs, 3C; plus TLBs."""
        out = {}
        for name, i in self._index.items():
            st = self._core.stats(i)
            st["hits"] = st["load_hits"] + st["store_hits"]
            st["misses"] = st["load_misses"] + st["store_misses"]
            st["accesses"] = st["hits"] + st["misses"]
            out[name] = st
        out["page_walks"] = self._core.page_walks(0)
        return out


class CacheSystem:
    """Several CPUs' hierarchies in one core: private levels per CPU, the last level shared by all
    (unless llc = "cpu"), with the config's coherence and latency (memory: one node). For tests
    and tools; kernel_model.Machine builds the same from its topology."""

    def __init__(self, config: Mapping, cpus: int) -> None:
        self.levels, tlbs = parse_config(config)
        self.options = _options(config, self.levels)
        self.llc = str(config.get("llc", "shared"))
        self._core = CacheCore(cpus)
        shared: dict = {}
        self._index = [build_cpu(self._core, cpu, self.levels, tlbs, shared, cpu if self.llc == "cpu" else 0)
                       for cpu in range(cpus)]
        memory = self.options.memory_ns or LATENCY_MEMORY_NS
        apply_options(self._core, self._index, self.levels, self.options, [[memory]] * cpus)

    def access(self, cpu: int, addr: int, size: int, kind: str | int = "L", tag: int = 0, base: int = 0) -> int | None:
        """One access; tag and base name it in the coherence-miss table (e.g. a call site and an
        object's address). Returns its latency in ps when accesses are timed."""
        k = KINDS[kind] if isinstance(kind, str) else kind
        if self.options.latency_ns is None:
            self._core.access(cpu, addr, size, k, tag, base)
            return None
        return self._core.access_timed(cpu, addr, size, k, 0, tag, base)[0]

    def stats(self, cpu: int) -> dict[str, dict]:
        """A CPU's levels' counters (the shared level's are every CPU's)."""
        return {name: self._core.stats(i) for name, i in self._index[cpu].items()}

    def contains(self, cpu: int, level: str, addr: int) -> bool:
        return self._core.contains(self._index[cpu][level], addr)

    def coherence(self, cpu: int) -> dict[str, int] | None:
        return self._core.coherence(cpu)

    def c2c(self):
        """(the coherence-miss table's entries, misses it had no room for)."""
        return self._core.c2c()

    def latency(self, cpu: int) -> dict:
        return self._core.latency(cpu)


def _arrays(addresses, sizes, kinds):
    addr = np.ascontiguousarray(addresses, dtype=np.uint64)
    size = np.ascontiguousarray(np.broadcast_to(sizes, addr.shape), dtype=np.uint32)
    kinds = np.asarray(kinds)
    if kinds.dtype.kind in "US":
        kinds = np.vectorize(KINDS.__getitem__, otypes=[np.uint8])(kinds)
    kind = np.ascontiguousarray(np.broadcast_to(kinds, addr.shape), dtype=np.uint8)
    if kind.size and kind.max() > 3:
        raise ValueError("kinds must be I, L, S, M (or 0..3)")
    return addr, size, kind


class CachegrindHierarchy:
    """The cachegrind-compatible model behind the CacheHierarchy interface."""

    def __init__(self, I1, D1, LL) -> None:
        self._sim = CachegrindSim(tuple(I1), tuple(D1), tuple(LL))

    def replay(self, addresses, sizes, kinds) -> None:
        addr, size, kind = _arrays(addresses, sizes, kinds)
        # cachegrind counts a modify as one read
        kind = np.where(kind == 0, 0, np.where(kind == 2, 2, 1)).astype(np.uint8)
        self._sim.access(kind, addr, np.minimum(size, 255).astype(np.uint8))

    def stats(self) -> dict:
        return self._sim.events()
