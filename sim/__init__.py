"""sim: everything that drives and reads the model: workloads, profilers, experiments, scenarios,
reports, guests and the `memsim` command line.

    import sim
    result = sim.run_scenario("fragmentation", overrides=["workload.ops=20000"], write=False)
    result.variants["grouping-on"]["fragmentation"]["health_score"]
"""

from sim.scenario import RunResult, ScenarioError, run_scenario

__all__ = ["RunResult", "ScenarioError", "run_scenario"]
