"""Experiments that re-run the model (see registry.py); importing the package registers them."""

from sim.experiments import dedicated_caches, fidelity, migration_what_if, numa_weights, numa_what_if, size_classes
from sim.experiments.registry import EXPERIMENTS, Experiment, ExperimentContext

__all__ = ["EXPERIMENTS", "Experiment", "ExperimentContext", "dedicated_caches", "fidelity", "migration_what_if",
           "numa_weights", "numa_what_if", "size_classes"]
