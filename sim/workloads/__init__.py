"""Workload generators: each returns a kernel_model.Trace (an op-stream array plus call sites)."""

from sim.workloads.page_churn import page_churn

__all__ = ["page_churn"]
