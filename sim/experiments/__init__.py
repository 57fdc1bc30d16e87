"""Experiments that re-run the model (see registry.py); importing the package registers them."""

from sim.experiments import migration_what_if, numa_what_if
from sim.experiments.registry import EXPERIMENTS, Experiment, ExperimentContext

__all__ = ["EXPERIMENTS", "Experiment", "ExperimentContext", "migration_what_if", "numa_what_if"]
