"""Objects of one kmem_cache, read and written at random: fields of `access_size` bytes, and now
and then the whole object at once (a struct copy). With a slot size that neither divides the
cache line nor is a multiple of it (kmem_cache_create(40, 8, 0)), some objects straddle two lines;
SLAB_HWCACHE_ALIGN (hwcache_align) pads the slot so that none does."""

from __future__ import annotations

import numpy as np

from kernel_model import _core
from kernel_model.trace import Op, Trace, empty
from sim.fields import Bool, Int
from sim.workloads.generator import MAX_OPS, Generator, count, cpus, fraction, param


def cache_objects(n_objects: int, object_size: int, accesses: int, align: int = 8, hwcache_align: bool = False,
                  access_size: int = 8, whole_fraction: float = 0.1, store_fraction: float = 0.3, cpus: int = 1,
                  seed: int = 0) -> Trace:
    """CACHE_CREATE one cache, CACHE_ALLOC n_objects from it (CPUs round robin), then `accesses`
    LOAD/STORE ops by the objects' CPUs."""
    if n_objects <= 0 or accesses < 0 or cpus <= 0 or not 8 <= object_size <= 8192:
        raise ValueError("need n_objects > 0, accesses >= 0, cpus > 0 and object_size 8..8192")
    if access_size <= 0 or object_size % access_size:
        raise ValueError(f"access_size {access_size} must divide object_size {object_size}")
    rng = np.random.default_rng(seed)
    cache = n_objects   # the cache's id follows the objects'
    rec = empty(1 + n_objects + accesses)
    rec[0]["op"] = Op.CACHE_CREATE
    rec[0]["id"] = cache
    rec[0]["arg0"] = object_size
    rec[0]["arg1"] = align | (_core.FLAG_HWCACHE_ALIGN if hwcache_align else 0) << 32
    rec[0]["site"] = 1
    owner = (np.arange(n_objects) % cpus).astype(np.uint16)
    alloc = rec[1:1 + n_objects]
    alloc["op"] = Op.CACHE_ALLOC
    alloc["id"] = np.arange(n_objects, dtype=np.uint32)
    alloc["arg1"] = cache
    alloc["cpu"] = owner
    alloc["site"] = 2
    obj = rng.integers(0, n_objects, accesses)
    whole = rng.random(accesses) < whole_fraction
    acc = rec[1 + n_objects:]
    acc["op"] = np.where(rng.random(accesses) < store_fraction, Op.STORE, Op.LOAD)
    acc["id"] = obj.astype(np.uint32)
    acc["cpu"] = owner[obj]
    acc["arg0"] = np.where(whole, object_size, access_size)
    acc["arg1"] = np.where(whole, 0, rng.integers(0, object_size // access_size, accesses) * access_size)
    acc["site"] = np.where(whole, 4, 3)
    return Trace(rec, ["", "cache_objects", "cache_objects:alloc", "cache_objects:field",
                                           "cache_objects:copy"], nr_ids=n_objects + 1)


GENERATOR = Generator("cache_objects", cache_objects, (
    count("objects", "n_objects", doc="objects allocated from the cache, then accessed"),
    count("object_size", min=8, max=8192, doc="the cache's object size in bytes"),
    count("accesses", min=0, max=MAX_OPS, doc="loads and stores"),
    param("align", Int(8, 4096), "kmem_cache_create's align (a power of two)"),
    param("hwcache_align", Bool(), "SLAB_HWCACHE_ALIGN: align the slots to the cache line"),
    param("access_size", Int(1, 4096), "bytes of a field access (it must divide object_size)"),
    fraction("whole_fraction", "share of accesses that read or write the whole object"),
    fraction("store_fraction", "share of accesses that are stores"), cpus(),
), "objects of one kmem_cache accessed field by field and whole (alignment)")
