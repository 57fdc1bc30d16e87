"""A scenario running under the UI: each variant replays in its own thread through
sim.run_scenario, with a watcher that the replay calls between chunks.

The watcher is where the UI's data comes from. At every stop it feeds the profilers the views
reuse (the registry builds them, as `memsim monitor` does) and a few bounded series; no more
than FRAME_HZ times a second it builds a Frame of what the views need and hands it to the UI
thread by replacing `latest` (the UI polls it). It is also where the UI steers the run, through
its Control (sim.tui.control): it blocks while paused, sleeps to keep the pace asked for, and
raises Stopped to end the run (the replay unwinds; the thread catches it). The C replay
releases the GIL, so the UI stays responsive while a chunk runs.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

import numpy as np

from kernel_model import Machine, Trace, unusable_free_index
from kernel_model.mm import NR_PAGE_ORDERS, PAGEBLOCK_ORDER
from sim.profilers import REGISTRY, Context
from sim.profilers.series import Series
from sim.scenario import ScenarioSpec, run_scenario
from sim.tui.control import Control, Stopped
from sim.tui.frame import (
    SECTIONS,
    Buddy,
    CacheLevel,
    Caches,
    Frame,
    Node,
    Numa,
    Slab,
    SlabRow,
    Stacks,
    cache_extras,
    numa_parts,
)

FRAME_HZ = 20                   # frames the watcher builds per second at most
STOPS_PER_S = 50                # at a paced start the replay stops this often: every speed / 50 records
MAX_SPEED_CHUNK = 1 << 18       # at --speed max it stops every this many records at least (profile interval if more)
MAX_SPEED = 1 << 26             # records/s past which `+` means "as fast as it goes"
LEAK_SCAN_HZ = 4                # leak scans (a walk of every live object) per second at most
POINTS = 120                    # samples kept in each series the views draw


class Watcher:
    """sim.driver's observe() watcher for one variant: feeds the profilers the views reuse and
    publishes frames. Built by the observer factory when the variant starts."""

    def __init__(self, run: VariantRun, machine: Machine, trace: Trace) -> None:
        spec = run.spec
        self.run, self.machine = run, machine
        self.total = len(trace)
        built = {}
        for name in ("realtime", "numa", "cache", "stack", "leaks"):
            if name == "realtime" or name in run.profilers:
                built[name] = REGISTRY[name].build(Context(machine, trace, spec.profile.options[name], spec.caches))
        self.tracker, self.numa = built["realtime"], built.get("numa")
        self.cache, self.stack, self.leaks = built.get("cache"), built.get("stack"), built.get("leaks")
        self.sampling = [p for p in (self.tracker, self.numa, self.stack) if p is not None]
        self.series = Series(states=("free", "order9", "slab"), max_points=POINTS)
        marks = machine.watermarks()
        self.marks = [(marks[n]["min"], marks[n]["low"], marks[n]["high"]) for n in range(machine.nodes)]
        self.records = 0
        self.last_frame = 0.0
        self.last_scan = 0.0
        self.scanned_at = -1
        self.rate_from = (time.monotonic(), 0)
        self.rate: float | None = None

    def observe(self, records_done: int) -> None:
        control = self.run.control
        control.wait(records_done, lambda: self.publish(control.section))
        snap = self.machine.snapshot()
        snap.rows[:, 0] = records_done
        for p in self.sampling:
            p.take(snap)
        if self.cache is not None:
            self.cache.observe(records_done)
        blocks = snap.free_blocks[0]
        self.series.append(records_done, free=snap.free_pages[0].tolist(),
                           order9=int(blocks[:, PAGEBLOCK_ORDER:].sum()), slab=int(snap.slab_pages[0]))
        self.records = records_done
        now = time.monotonic()
        if now - self.last_frame >= 1 / FRAME_HZ:
            self.publish(control.section, now)

    def publish(self, section: str, now: float | None = None, state: str | None = None,
                sections: tuple[str, ...] | None = None) -> None:
        now = time.monotonic() if now is None else now
        t0, r0 = self.rate_from
        if self.run.control.paused:
            self.rate_from = (now, self.records)
        elif now - t0 >= 0.25:
            self.rate, self.rate_from = (self.records - r0) / (now - t0), (now, self.records)
        self.last_frame = now
        self.run.publish(self.frame(sections or (section,), state))

    def frame(self, sections: tuple[str, ...], state: str | None) -> Frame:
        m, run = self.machine, self.run
        free_history = list(zip(*self.series["free"], strict=True)) or [()] * m.nodes
        nodes = tuple(Node(n, int(m.nr_free_pages(n)), m.node_pages[n], self.marks[n], tuple(free_history[n]))
                      for n in range(m.nodes))
        rates = self.tracker.latest() if len(self.series) else None
        control = run.control
        return Frame(
            "live", run.spec.name, run.variant, self.records, self.total,
            state or ("stopping" if control.stopped else "paused" if control.paused else "running"),
            now_ns=m.now_ns(), replay_rate=self.rate, speed=control.speed, nodes=nodes, rates=rates,
            alerts=tuple(self.tracker.alerts), order9_history=tuple(self.series["order9"]),
            buddy=self._buddy() if "buddy" in sections else None,
            slab=self._slab() if "slab" in sections else None,
            numa=self._numa() if "numa" in sections else None,
            caches=self._caches() if "caches" in sections and self.cache is not None else None,
            leaks=self._leaks() if "leaks" in sections and self.leaks is not None else None,
            stacks=self._stacks() if "stacks" in sections and self.stack is not None else None)

    def _buddy(self) -> Buddy:
        nr_free = self.machine.nr_free()
        per_order = nr_free.sum(axis=1)
        return Buddy(_tuples(nr_free.tolist()),
                     tuple(tuple(unusable_free_index(per_order[n], o) for o in range(NR_PAGE_ORDERS))
                           for n in range(self.machine.nodes)))

    def _slab(self) -> Slab:
        return Slab(slab_rows(self.machine), tuple(self.series["slab"]))

    def _numa(self) -> Numa:
        m = self.machine
        numastat, free = m.numastat(), [m.nr_free_pages(n) for n in range(m.nodes)]
        acc = m.numa_access() if self.numa is not None else None
        nodes = tuple({"node": n, "utilisation": 1 - free[n] / m.node_pages[n] if m.node_pages[n] else 0.0,
                       "free_pages": free[n], **numastat[n],
                       "accesses": acc["nodes"][n] if acc else None} for n in range(m.nodes))
        if self.numa is None:
            return Numa(nodes, note="locality and hot spots: add \"numa\" to [profile] profilers")
        r = self.numa.result()
        cpus = tuple({"cpu": c, "node": m.cpu_to_node[c], **a} for c, a in acc["cpus"].items())
        return Numa(nodes, r["locality"], tuple(r["locality_over_time"]), cpus,
                    tuple(r["remote_hot_spots"]["call_sites"]), **numa_parts(r, len(r["records"])))

    def _caches(self) -> Caches:
        r = self.cache.result()
        name, heat = next(iter(r["heatmaps"].items()), ("", {"misses": []}))
        return Caches(tuple(CacheLevel(k, c["hits"], c["misses"], tuple(c["miss_ratio_over_time"]))
                            for k, c in r["caches"].items()), name, _tuples(heat["misses"]), **cache_extras(r))

    def _leaks(self) -> dict:
        """The detector's result at its latest scan; a scan walks every live object, so while the
        run goes on there are at most LEAK_SCAN_HZ of them a second."""
        now = time.monotonic()
        if self.scanned_at != self.records and (now - self.last_scan >= 1 / LEAK_SCAN_HZ or self.run.control.paused
                                                or self.records == self.total):
            self.leaks.observe(self.records)
            self.last_scan, self.scanned_at = now, self.records
        return {**self.leaks.result(), "scanned_at": self.scanned_at}

    def _stacks(self) -> Stacks:
        r = self.stack.result()
        depth = self.machine.snapshot().stack_depth[0].tolist()
        history = list(zip(*r["depth_over_time"], strict=True)) if r["depth_over_time"] else []
        cpus = tuple({**c, "depth": depth[c["cpu"]]} for c in r["cpus"])
        return Stacks(cpus, r["stack_size"], _tuples(history), r["deepest_chain"], tuple(r["largest_frames"]),
                      tuple(r["tasks"]), r["suggestions"])



def slab_rows(machine: Machine) -> tuple[SlabRow, ...]:
    """slabtop's rows: every kmem_cache that holds a slab or has ever been asked for an object."""
    waste = machine.slab_waste()["caches"]
    rows = []
    for c in machine.caches():
        st = machine.slab_stats(c)
        if not st["slabs"] and not waste[c.name]["kmalloc_calls"] and not st["alloc_fastpath"] + st["alloc_slowpath"]:
            continue
        rows.append(SlabRow(c.name, st["total_objects"], st["objects"], st["object_size"], st["slabs"],
                            st["objs_per_slab"], st["slabs"] << st["order"], waste[c.name]["loss"]))
    return tuple(rows)


def _tuples(rows) -> tuple:
    return tuple(_tuples(r) if isinstance(r, list) else r for r in rows)


class VariantRun:
    """One variant replaying in its own thread (a daemon: a workload still being built when
    the app quits does not hold the process)."""

    def __init__(self, spec: ScenarioSpec, profilers: tuple[str, ...], variant: str, speed: float | None,
                 counter: Callable[[], int]) -> None:
        self.spec, self.profilers, self.variant = spec, profilers, variant
        self.control = Control(speed)
        self.latest: Frame | None = None
        self.started = threading.Event()       # the variant's replay began (its input was good)
        self.error: Exception | None = None
        self.outcome = "starting"
        self.finished: float | None = None     # perf_counter() when the replay ended (the benchmark's clock)
        self._seq = counter
        self._watcher: Watcher | None = None
        self.thread = threading.Thread(target=self._main, name=f"memsim-replay-{variant}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def publish(self, frame: Frame) -> None:
        self.latest = dataclasses.replace(frame, seq=self._seq())   # one reference swap: the UI polls it

    def _factory(self, variant: str, machine: Machine, trace: Trace) -> Watcher:
        self._watcher = Watcher(self, machine, trace)
        self.outcome = "running"
        self.started.set()
        return self._watcher

    def _main(self) -> None:
        try:
            run_scenario(self.spec, variants=[self.variant], observers=[self._factory], write=False)
            self.finished = time.perf_counter()
            self.outcome = "done"
            w = self._watcher
            w.records = w.total
            w.publish(self.control.section, state="done", sections=SECTIONS)
        except Stopped:
            self.outcome = "stopped"
        except Exception as e:   # shown by the UI, and as one line when it exits
            self.error, self.outcome = e, "failed"
        finally:
            self.started.set()


def under_ui(spec: ScenarioSpec, speed: float | None) -> list[str]:
    """Overrides for the run under the UI: at a pace, the replay stops every speed / STOPS_PER_S
    records (or the profile interval, if smaller) so the screen has news many times a second; as
    fast as it goes, every MAX_SPEED_CHUNK records at least: 10 stops a second from 2.6 M records/s
    up, and a few hundred at 70 M records/s (each stop takes the GIL back from the UI thread).
    The run's own profilers are left to the one always on (the watcher builds those the views
    reuse: their twins in the run would only double the work of a report nobody writes), and
    so are the experiments, which replay the workload again after the variants."""
    out = ["profile.experiments=[]",
           f"profile.profilers={[p.name for p in REGISTRY.values() if p.always]!r}".replace("'", '"')]
    every = spec.profile.interval_records
    if every and speed is not None:
        out.append(f"profile.interval={max(1, min(every, int(speed) // STOPS_PER_S))}")
    elif every:
        out.append(f"profile.interval={max(every, MAX_SPEED_CHUNK)}")
    return out


class LiveSource:
    """The variants of a scenario, one replaying at a time: the one on screen. Switching
    variants holds the one left (its thread waits where it was) and starts or resumes the next."""

    kind = "live"

    def __init__(self, spec: ScenarioSpec, variant: str | None = None, speed: float | None = 20_000) -> None:
        names = [v.name for v in spec.variants]
        self.spec = spec.with_overrides(under_ui(spec, speed))
        self.scenario, self.variants, self.profilers = spec.name, names, spec.profile.profilers
        on = set(self.profilers)
        self.views = {"overview", "buddy", "slab", "numa", *(v for v, p in (("caches", "cache"), ("leaks", "leaks"),
                                                                              ("stacks", "stack")) if p in on)}
        self.current = names.index(variant) if variant is not None else 0
        self.speed = speed
        self.paused = False
        self.begun: float | None = None        # perf_counter() when the UI was up and let the replay go
        self.section = "overview"
        self._count = iter(range(1, 1 << 62))
        self._lock = threading.Lock()
        self.runs: dict[str, VariantRun] = {}

    def _seq(self) -> int:
        with self._lock:
            return next(self._count)

    @property
    def run(self) -> VariantRun:
        name = self.variants[self.current]
        if name not in self.runs:
            r = VariantRun(self.spec, self.profilers, name, self.speed, self._seq)
            r.control.section = self.section
            r.control.paused = self.paused or self.begun is None
            self.runs[name] = r
            r.start()
        return self.runs[name]

    def start(self) -> VariantRun:
        """Build the variant's workload and machine; the replay waits for begin()."""
        return self.run

    def begin(self) -> None:
        """The screen is up: the replay may go (a UI starting up would slow its first seconds)."""
        self.begun = time.perf_counter()
        self.run.control.set_paused(self.paused)

    def frame(self) -> Frame | None:
        return self.run.latest

    @property
    def error(self) -> Exception | None:
        return next((r.error for r in self.runs.values() if r.error is not None), None)

    def show(self, section: str) -> None:
        self.section = section
        self.run.control.show(section)

    def toggle_pause(self) -> bool:
        self.paused = not self.paused
        self.run.control.set_paused(self.paused)
        return self.paused

    def set_speed(self, speed: float | None) -> None:
        self.speed = speed
        self.run.control.set_speed(speed)

    def faster(self) -> None:
        if self.speed is not None:
            self.set_speed(None if self.speed * 2 > MAX_SPEED else self.speed * 2)

    def slower(self) -> None:
        if self.speed is None:   # from "max": the power of two below the rate the replay reached
            rate = (self.run.latest and self.run.latest.replay_rate) or MAX_SPEED
            self.set_speed(float(1 << max(int(np.log2(max(rate, 2))), 1)))
        else:
            self.set_speed(max(self.speed / 2, 1.0))

    def switch(self, step: int) -> None:
        if len(self.variants) < 2:
            return
        self.run.control.set_paused(True)                      # held where it is
        self.current = (self.current + step) % len(self.variants)
        run = self.run
        run.control.set_speed(self.speed)
        run.control.show(self.section)
        run.control.set_paused(self.paused)

    def stop(self, timeout: float = 1.0) -> None:
        """End every variant's run and wait (up to timeout in all) for the threads."""
        for r in self.runs.values():
            r.control.stop()
        deadline = time.monotonic() + timeout
        for r in self.runs.values():
            r.thread.join(max(deadline - time.monotonic(), 0))

    @property
    def threads(self) -> list[threading.Thread]:
        return [r.thread for r in self.runs.values()]

