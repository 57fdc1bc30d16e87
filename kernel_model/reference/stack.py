"""Reference stack model in pure Python, with core/replay.h's semantics: a stack per CPU (its own
task) and one per TASK id; TASK switches the task a CPU runs (a task running elsewhere moves,
leaving that CPU to its own task); CALL/RET push and pop frames of the running task's stack,
which keeps its high-water mark, the chain that reached it and its overflows."""

from __future__ import annotations

from dataclasses import dataclass, field

FRAMES = 256


@dataclass
class RefStack:
    depth: int = 0
    frames: list[tuple[int, int]] = field(default_factory=list)   # (site, size)
    high_water: int = 0
    chain: list[tuple[int, int]] = field(default_factory=list)
    hw_cpu: int = 0
    overflows: int = 0
    calls: int = 0


class RefStacks:
    def __init__(self, cpus: int, stack_size: int) -> None:
        self.stack_size = stack_size
        self.cpus = [RefStack() for _ in range(cpus)]
        self.tasks: dict[int, RefStack] = {}
        self.running: list[int | None] = [None] * cpus      # the task id each CPU runs (None: its own)
        self.errors = 0

    def _stack(self, cpu: int) -> RefStack:
        t = self.running[cpu]
        return self.cpus[cpu] if t is None else self.tasks.setdefault(t, RefStack())

    def task(self, cpu: int, task: int | None) -> None:
        self.running[cpu] = None
        if task is None:
            return
        for other, t in enumerate(self.running):
            if t == task:
                self.running[other] = None
        self.running[cpu] = task

    def call(self, cpu: int, site: int, size: int) -> None:
        s = self._stack(cpu)
        if len(s.frames) == FRAMES:
            self.errors += 1
            return
        s.frames.append((site, size))
        s.depth += size
        s.calls += 1
        if s.depth > self.stack_size:
            s.overflows += 1
        if s.depth > s.high_water:
            s.high_water, s.chain, s.hw_cpu = s.depth, list(s.frames), cpu

    def ret(self, cpu: int) -> None:
        s = self._stack(cpu)
        if not s.frames:
            self.errors += 1
            return
        s.depth -= s.frames.pop()[1]
