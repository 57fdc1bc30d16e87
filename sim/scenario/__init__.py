"""Scenarios: spec (load and check the TOML) -> build (machines, workloads, the guest's view) ->
run (variants, profilers, experiments) -> a RunResult and the report directory.
docs/scenarios.md describes the file format."""

from sim.scenario.build import build_machine, build_workload, firmware_cmdline, machine_kwargs
from sim.scenario.run import RunResult, run_scenario
from sim.scenario.spec import ScenarioError, ScenarioSpec, load, shipped

__all__ = ["RunResult", "ScenarioError", "ScenarioSpec", "build_machine", "build_workload", "firmware_cmdline",
           "load", "machine_kwargs", "run_scenario", "shipped"]
