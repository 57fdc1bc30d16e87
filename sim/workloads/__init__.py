"""Workload generators: each returns a kernel_model.Trace (an op-stream array plus call sites)."""

from sim.workloads.kmalloc_churn import LINUX_6_1_KMALLOC_MIX, kmalloc_churn
from sim.workloads.mixed_mobility import mixed_mobility_churn
from sim.workloads.page_churn import page_churn

__all__ = ["LINUX_6_1_KMALLOC_MIX", "kmalloc_churn", "mixed_mobility_churn", "page_churn"]
