"""Experiments that re-run the model (see registry.py); importing the package registers them."""

from sim.experiments import fidelity, numa_what_if
from sim.experiments.registry import EXPERIMENTS, Experiment, ExperimentContext

__all__ = ["EXPERIMENTS", "Experiment", "ExperimentContext", "fidelity", "numa_what_if"]
