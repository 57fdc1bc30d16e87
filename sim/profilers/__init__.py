"""Profilers: each reads a machine's counters and snapshots between replay chunks, never drives it.

Each module declares itself in the registry (sim/profilers/registry.py); importing this package
registers them all, in the order their sections appear in reports.
"""

# isort: off
# Import order is registration order: the order of report sections and summary fragments.
from sim.profilers import fragmentation, slab, patterns, cache, numa, stack, leaks, realtime
# isort: on
from sim.profilers.registry import REGISTRY, Context, LineChart, Profiler, Section, register, unregister

__all__ = ["REGISTRY", "Context", "LineChart", "Profiler", "Section", "cache", "fragmentation", "leaks", "numa",
           "patterns", "realtime", "register", "slab", "stack", "unregister"]
