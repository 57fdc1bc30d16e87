"""A scenario replayed by the firmware in a QEMU guest, watched through the guest's RAM.

The run goes through sim.run_scenario (sim.scenario.guest) in a thread; its on_running hook
reads the results area every READ_INTERVAL with QMP stop/cont around the read (one consistent
picture), as `memsim monitor --guest` does, and publishes a frame. Pausing keeps the guest
stopped. Stopping kills QEMU from the hook and raises Stopped, which sim.guest.qemu turns into
its usual cleanup (QEMU killed, its directory removed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time

from kernel_model import unusable_free_index
from kernel_model.machine import NUMASTAT
from kernel_model.mm import NR_PAGE_ORDERS, PAGE_SHIFT, PAGEBLOCK_ORDER
from sim.guest.results import STAGES, GuestResults
from sim.profilers.series import Series
from sim.scenario import ScenarioSpec, run_scenario
from sim.tui.control import Stopped
from sim.tui.frame import Buddy, Frame, Node, Numa, Slab, SlabRow
from sim.tui.live import POINTS

READ_INTERVAL = 0.05            # seconds between reads of guest memory


class GuestSource:
    """One guest run (the scenario's workload on its [guest] topology) and its latest frame."""

    kind = "guest"
    views = {"overview", "buddy", "slab", "numa"}

    def __init__(self, spec: ScenarioSpec) -> None:
        self.spec, self.scenario, self.variants, self.current = spec, spec.name, ["guest"], 0
        self.latest: Frame | None = None
        self.error: Exception | None = None
        self.outcome = "starting"
        self.report: dict | None = None
        self.paused = False
        self.stopped = threading.Event()
        self.qemu_pid: int | None = None
        self.series = Series(states=("free", "order9"), max_points=POINTS)
        self._seq = 0
        self.thread = threading.Thread(target=self._main, name="memsim-guest", daemon=True)

    def start(self) -> GuestSource:
        self.thread.start()
        return self

    # -- the source protocol ------------------------------------------------------
    def frame(self) -> Frame | None:
        return self.latest

    def begin(self) -> None:
        """Nothing waits for the screen."""

    def show(self, section: str) -> None:
        """Every guest frame carries every section (they are small)."""

    def switch(self, step: int) -> None:
        """One guest, no variants."""

    def toggle_pause(self) -> bool:
        self.paused = not self.paused
        return self.paused

    def faster(self) -> None:
        """The guest runs at its own speed."""

    slower = faster

    def stop(self, timeout: float = 15.0) -> None:
        """Kill QEMU and wait for the run's cleanup (its directory removed): at once once the
        guest is up, QEMU's own start-up timeouts (10 s) before that."""
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    @property
    def threads(self) -> list[threading.Thread]:
        return [self.thread]

    # -- the run ------------------------------------------------------------------
    def _main(self) -> None:
        try:
            result = run_scenario(self.spec, guest={"on_running": self._watch})
            self.report, self.outcome = result.report, "done"
        except Stopped:
            self.outcome = "stopped"
        except Exception as e:   # shown by the UI, and as one line when it exits
            self.error, self.outcome = e, "failed"

    async def _watch(self, qmp, mem, pid: int) -> None:
        from qemu.qmp import QMPError

        self.qemu_pid = pid
        held = False
        while True:
            if self.stopped.is_set():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)     # QEMU leads its own session (sim.guest.qemu)
                raise Stopped
            try:
                if self.paused != held:
                    await qmp.execute("stop" if self.paused else "cont")
                    held = self.paused
                if not held:
                    await qmp.execute("stop")
                try:
                    r = mem.results()
                except ValueError:                      # not booted yet
                    r = None
                if not held:
                    await qmp.execute("cont")
            except (QMPError, EOFError, ConnectionError):
                return                                  # the guest has exited: the run's end tells how
            if r is not None:
                self._publish(r, "paused" if held else STAGES.get(int(r["stage"]), "?"))
                if int(r["stage"]) == 4:
                    return
            await asyncio.sleep(READ_INTERVAL)

    def _publish(self, r: GuestResults, state: str) -> None:
        nodes = r.nodes()
        free = r.free_pages()
        nr_free = r.nr_free()
        if int(r["stage"]) >= 3:
            self.series.append(r.done, free=free, order9=int(nr_free[:, :, PAGEBLOCK_ORDER:].sum()))
        history = list(zip(*self.series["free"], strict=True)) or [()] * len(free)
        managed = [sum(end - start for start, end in n["usable_pfns"]) for n in nodes]
        per_order = nr_free.sum(axis=1)
        numa = r["numa"][: r.nr_nodes].astype(int).tolist()
        self._seq += 1
        self.latest = Frame(
            "guest", self.scenario, "guest", r.done, r.records, state, seq=self._seq,
            nodes=tuple(Node(n, free[n], managed[n], None, tuple(history[n])) for n in range(len(free))),
            order9_history=tuple(self.series["order9"]),
            buddy=Buddy(tuple(tuple(tuple(row) for row in node) for node in nr_free.astype(int).tolist()),
                        tuple(tuple(unusable_free_index(per_order[n], o) for o in range(NR_PAGE_ORDERS))
                              for n in range(len(free)))),
            slab=Slab(tuple(SlabRow(f"cache-{i} ({int(r['cache_size'][i])} B)", None, int(r["cache_objects"][i]),
                                    int(r["cache_size"][i]), int(r["cache_slabs"][i]), None, None, None)
                            for i in range(int(r["nr_caches"])) if r["cache_slabs"][i] or r["cache_objects"][i]),
                      note="from the guest's results area: objects in use and slabs per cache"),
            numa=Numa(tuple({"node": n, "utilisation": 1 - free[n] / managed[n] if managed[n] else 0.0,
                             "free_pages": free[n], **dict(zip(NUMASTAT, numa[n], strict=True))}
                            for n in range(len(free)))),
            note=f"QEMU pid {self.qemu_pid}, guest memory {sum(managed) << PAGE_SHIFT >> 20} MiB usable, "
                 f"allocation failures {int(r['alloc_failed']):,}, read {time.strftime('%H:%M:%S')}")
