"""A run's headline figures as named numbers: "<profiler>.<name>" per variant, from each profiler's
and experiment's metrics hook, plus the replay's counts. Run histories store them and
`memsim compare` compares them (simulated counters are deterministic: equal means equal)."""

from __future__ import annotations

from sim.experiments import EXPERIMENTS
from sim.profilers import REGISTRY


def metrics(report: dict) -> dict[str, dict[str, float]]:
    """{variant: {"replay.alloc_failed": 0, "fragmentation.health_score": 98.3, ...}} and, under
    the key "*", the experiments' figures."""
    out: dict[str, dict[str, float]] = {}
    for v in report["variants"]:
        m = {f"replay.{k}": x for k, x in v["replay"].items()}
        for name, prof in REGISTRY.items():
            if name in v and prof.metrics is not None:
                m |= {f"{name}.{k}": x for k, x in prof.metrics(v[name]).items()}
        out[v["name"]] = m
    experiments = {f"{name}.{k}": x for name, e in EXPERIMENTS.items() if name in report and e.metrics is not None
                   for k, x in e.metrics(report[name]).items()}
    if experiments:
        out["*"] = experiments
    return out
