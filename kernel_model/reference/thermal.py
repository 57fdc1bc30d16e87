"""Reference per-node thermal model and thermal memory policy in pure Python, written from
core/thermal.h's description: heat per access and per page allocated, halving every half-life in
64 steps of 2^(-1/64) (Q16, rounded down), time short of a step carried over, and a TIME interval
counted as throttled when the node is above the throttle as it starts."""

from __future__ import annotations

from collections.abc import Sequence

STEPS = 64
DECAY_Q16 = [round(65536 * 2 ** (-i / STEPS)) for i in range(STEPS)]
MAX = 1 << 47


class RefThermal:
    def __init__(self, nodes: int, heat_access: int, heat_page: int, half_life_ns: int, throttle: int) -> None:
        self.heat_access, self.heat_page = heat_access, heat_page
        self.half_life_ns, self.throttle = half_life_ns, throttle
        self.temp = [0] * nodes
        self.peak = [0] * nodes
        self.throttled_ns = [0] * nodes
        self.carry = 0

    @property
    def on(self) -> bool:
        return bool(self.heat_access or self.heat_page)

    def _heat(self, node: int, amount: int) -> None:
        self.temp[node] = min(self.temp[node] + amount, MAX)
        self.peak[node] = max(self.peak[node], self.temp[node])

    def access(self, node: int) -> None:
        if self.heat_access:
            self._heat(node, self.heat_access)

    def alloc(self, node: int, pages: int) -> None:
        if self.heat_page and pages:
            self._heat(node, pages * self.heat_page)

    def time(self, ns: int) -> None:
        if not self.on or not ns:
            return
        for n, t in enumerate(self.temp):
            if t > self.throttle:
                self.throttled_ns[n] += ns
        steps, self.carry = divmod(self.carry + ns, self.half_life_ns // STEPS)
        if not steps:
            return
        halvings, frac = min(steps // STEPS, 64), steps % STEPS
        self.temp = [0 if halvings >= 64 else ((t >> halvings) * DECAY_Q16[frac]) >> 16 for t in self.temp]

    def place(self, local: int, zonelist: Sequence[int], allowed: Sequence[int] | None = None) -> int:
        """The node the thermal policy's allocation tries first (ignoring memory pressure): the
        first node at or below the throttle in the local node's zonelist, else the coolest."""
        allowed = list(range(len(self.temp))) if allowed is None else list(allowed)
        cool = [n for n in zonelist if n in allowed and self.temp[n] <= self.throttle]
        if cool:
            return cool[0]
        return min(allowed, key=lambda n: (self.temp[n], n))
