"""A driver's life with every class of leak and the false positives kmemleak is known for. Its
allocation sites name what they stand for:

- req:alloc, req:buf   requests (a kmem_cache object with a kmalloc'd buffer attached) kept on
                       a root list while in flight; every `error_every`th completion takes an
                       error path that unlinks the request and forgets to free it: the request
                       is definitely lost (Direct), its buffer indirectly lost (Indirect)
- fw:load_blob         page allocations for firmware blobs, never freed (Resource); dma:ring
                       pages are freed when the ring is torn down (not a leak)
- conn:open            connections from conn_cache: opened in bursts, closed but for every
                       `keep_every`th, which live on for two more bursts: those few survivors
                       pin the slabs (Fragmentation). The module never destroys conn_cache
                       (Resource); it destroys req_cache at the end while leaked requests are
                       still in it (refused as cache_busy: it stays, a Resource leak too);
                       tmp_cache is created, emptied and destroyed again and again (no leak)
- defer:free           objects whose only pointer sits where kmemleak does not look (a page, an
                       encoded pointer) and that are freed much later: reported, then
                       contradicted as freed; one in four is never freed (a real leak)
- queue:pending        objects queued unreferenced, linked into the root list later: reported,
                       then contradicted as referenced; one in five is dropped instead
- dma:desc             descriptors handed to the device, kmemleak_not_leak'd once handed over
                       (after they were reported): contradicted as not a leak
- percpu:stash         marked kmemleak_not_leak when allocated: never reported
"""

from __future__ import annotations

import numpy as np

from kernel_model.trace import Trace
from sim.workloads.generator import Generator, count, cpus
from sim.workloads.script import Workload

QUEUE_DEPTH = 32          # requests in flight
BURST = 128               # connections a burst opens
LATER = 1500              # rounds before a hidden object is freed or linked, or a descriptor handed over


def leak_classes(rounds: int = 6000, cpus: int = 2, error_every: int = 400, keep_every: int = 16,
                 seed: int = 0) -> Trace:
    """`rounds` requests through a driver, with its other allocations interleaved (see the module)."""
    if rounds <= 0 or cpus <= 0 or error_every <= 0 or keep_every <= 0:
        raise ValueError("need rounds, cpus, error_every and keep_every > 0")
    rng = np.random.default_rng(seed)
    w = Workload(cpus=cpus)
    head = w.kmalloc(64, site="subsys:init")
    w.root(head)
    queue = w.kmalloc(8 * (rounds // 50 + 1), site="queue:init")   # a slot per queued object
    w.root(queue)
    req_cache = w.kmem_cache_create("req_cache", 192)
    conn_cache = w.kmem_cache_create("conn_cache", 256)
    for _ in range(4):
        w.alloc_pages(2, site="fw:load_blob")
    ring = [w.alloc_pages(1, site="dma:ring") for _ in range(4)]
    inflight: list[tuple[int, int]] = []
    later: list[tuple[int, str, int]] = []          # (round due, what, id)
    kept: list[list[int]] = []                     # the surviving connections of each burst
    tmp_cache, tmp_objs = None, []
    done = hidden = linked = 0
    for r in range(rounds):
        cpu = int(rng.integers(cpus))
        req = w.kmem_cache_alloc(req_cache, cpu=cpu, site="req:alloc")
        buf = w.kmalloc(512, cpu=cpu, site="req:buf")
        w.ref(req, buf, offset=8, cpu=cpu, site="req:attach")
        w.root(req, cpu=cpu)
        w.store(req, 0, 8, cpu=cpu, site="req:submit")
        inflight.append((req, buf))
        if len(inflight) > QUEUE_DEPTH:
            req, buf = inflight.pop(0)
            w.load(req, 0, 8, cpu=cpu, site="req:complete")
            w.unroot(req, cpu=cpu)
            done += 1
            if done % error_every:                    # the error path forgets both
                w.free(buf, cpu=cpu, site="req:complete")
                w.free(req, cpu=cpu, site="req:complete")
        if r % 500 == 0:                              # a burst of connections; most close again
            conns = [w.kmem_cache_alloc(conn_cache, cpu=cpu, site="conn:open") for _ in range(BURST)]
            for k, c in enumerate(conns):
                if k % keep_every:
                    w.free(c, cpu=cpu, site="conn:close")
                else:
                    w.root(c, cpu=cpu)               # a long-lived connection: reachable, pinning its slab
            kept.append(conns[::keep_every])
            if len(kept) > 2:
                for c in kept.pop(0):
                    w.unroot(c, cpu=cpu)
                    w.free(c, cpu=cpu, site="conn:close")
        if r % 40 == 0:
            later.append((r + LATER, "free", w.kmalloc(96, cpu=cpu, site="defer:free")))
        if r % 50 == 25:
            later.append((r + LATER, "link", w.kmalloc(128, cpu=cpu, site="queue:pending")))
        if r % 60 == 30:
            later.append((r + LATER, "hand", w.kmalloc(64, cpu=cpu, site="dma:desc")))
        if r % 100 == 10:
            w.not_leak(w.kmalloc(48, cpu=cpu, site="percpu:stash"), cpu=cpu)
        if r % 300 == 150:                            # a module loads and unloads its cache
            if tmp_cache is not None:
                for o in tmp_objs:
                    w.free(o, cpu=cpu, site="tmp:free")
                w.kmem_cache_destroy(tmp_cache, cpu=cpu, site="tmp:exit")
            tmp_cache = w.kmem_cache_create("tmp_cache", 320)
            tmp_objs = [w.kmem_cache_alloc(tmp_cache, cpu=cpu, site="tmp:alloc") for _ in range(24)]
        while later and (later[0][0] <= r or r == rounds - 1):   # the rest when the driver stops
            _, what, obj = later.pop(0)
            if what == "free":
                hidden += 1
                if hidden % 4:                        # one in four is a real leak: never freed
                    w.free(obj, cpu=cpu, site="defer:free")
            elif what == "link":
                linked += 1
                if linked % 5:                        # one in five is dropped
                    w.ref(queue, obj, offset=8 * linked, cpu=cpu, site="queue:link")
            else:
                w.not_leak(obj, cpu=cpu)
        w.time(1000)
    for req, buf in inflight:
        w.unroot(req)
        w.free(buf)
        w.free(req)
    for p in ring:
        w.free_pages(p, site="dma:teardown")
    for o in tmp_objs:
        w.free(o, site="tmp:free")
    if tmp_cache is not None:
        w.kmem_cache_destroy(tmp_cache, site="tmp:exit")
    w.kmem_cache_destroy(req_cache, site="module:exit")   # leaked requests remain: refused
    return w.trace()


GENERATOR = Generator("leak_classes", leak_classes, (
    count("rounds", doc="requests through the driver (other allocations interleaved)"), cpus(),
    count("error_every", doc="every n-th request completion takes the leaking error path"),
    count("keep_every", doc="every n-th connection of a burst stays open, pinning its slab"),
), "a driver's requests, connections, caches and hidden pointers: every leak class and kmemleak's false positives")
