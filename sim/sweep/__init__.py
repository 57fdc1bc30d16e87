"""Sweeps: a scenario over a grid of `--set` values times seeds, each point through
sim.run_scenario on Dask workers (or in this process), recorded in the run history
(sim.history) and summarised in out/<sweep>/sweep.html. docs/sweeps.md describes them.

    from sim.sweep import plan, run_sweep
    p = plan("fragmentation", grids=["workload.unmovable_fraction=0.05,0.1"], seeds=3)
    outcome = run_sweep(p, out=Path("out"), db=Path("out/memsim.db"), jobs=2)
"""

from sim.sweep.engine import EngineError
from sim.sweep.plan import Plan, Point, SweepError, plan
from sim.sweep.run import Outcome, run_sweep

__all__ = ["EngineError", "Outcome", "Plan", "Point", "SweepError", "plan", "run_sweep"]
