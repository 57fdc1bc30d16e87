"""The run history (SQLite, default out/memsim.db): every run a sweep made, by key, with its
parameters, status, timings, host and metrics; the report directories stay on disk beside it.

For notebooks:

    import pandas as pd, sim.history
    runs = pd.DataFrame(sim.history.load("out/memsim.db"))                  # one row per run
    figures = pd.DataFrame(sim.history.metric_rows("out/memsim.db", sweep="fragmentation-1a2b3c4d"))
    figures.pivot_table(index=["variant", "machine.mobility_grouping"], columns="metric", values="value")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.history.key import code_version, input_hashes, run_key
from sim.history.store import History, HistoryError, NewRun

DEFAULT_DB = Path("out") / "memsim.db"


def load(db: str | Path = DEFAULT_DB, scenario: str | None = None, sweep: str | None = None) -> list[dict[str, Any]]:
    """The runs as plain dicts, oldest first (with `sweep`: its points in order): key, scenario,
    seed, params {"section.key": value}, status, error, code, host, pid, started, finished (Unix
    times), out (the report directory), resolved (the scenario as it ran), sweeps, metrics
    {variant: {name: value}} and timings {name: seconds}."""
    with History(db) as h:
        if sweep is not None:
            h.sweep(sweep)   # an unknown sweep is an error, not an empty list
        return h.runs(scenario=scenario, sweep=sweep)


def metric_rows(db: str | Path = DEFAULT_DB, scenario: str | None = None,
                sweep: str | None = None) -> list[dict[str, Any]]:
    """One dict per (run, variant, metric): key, status, seed, each parameter as its own column,
    variant, metric, value (the long format pandas pivots)."""
    return [{"key": r["key"], "status": r["status"], "seed": r["seed"], **r["params"], "variant": variant,
             "metric": name, "value": value}
            for r in load(db, scenario, sweep) for variant, m in r["metrics"].items() for name, value in m.items()]


__all__ = ["DEFAULT_DB", "History", "HistoryError", "NewRun", "code_version", "input_hashes", "load",
           "metric_rows", "run_key"]
