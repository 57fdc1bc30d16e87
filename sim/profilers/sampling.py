"""The base of profilers that read only sampled counters (kernel_model.snapshot)."""

from __future__ import annotations


class Sampling:
    """take(snapshots) is the profiler's own; observe(records_done) samples the machine now,
    for use outside sim.driver.replay_in_chunks (which feeds take() itself)."""

    def observe(self, records_done: int) -> None:
        snap = self.machine.snapshot()
        snap.rows[:, 0] = records_done
        self.take(snap)
