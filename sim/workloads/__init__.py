"""Workload generators: each returns a kernel_model.Trace (an op-stream array plus call sites).

Every generator module declares itself (GENERATOR: its scenario name and typed parameters);
GENERATORS maps the names a scenario's [workload] generator may use to them.
"""

from sim.workloads import cache_objects as _cache_objects
from sim.workloads import call_stacks as _call_stacks
from sim.workloads import counters as _counters
from sim.workloads import handoff as _handoff
from sim.workloads import hot_node as _hot_node
from sim.workloads import kmalloc_churn as _kmalloc_churn
from sim.workloads import leak_classes as _leak_classes
from sim.workloads import mixed_mobility as _mixed_mobility
from sim.workloads import object_access as _object_access
from sim.workloads import object_graph as _object_graph
from sim.workloads import page_churn as _page_churn
from sim.workloads import task_stacks as _task_stacks
from sim.workloads.generator import Generator
from sim.workloads.kmalloc_churn import LINUX_6_1_KMALLOC_MIX, kmalloc_churn
from sim.workloads.mixed_mobility import mixed_mobility_churn
from sim.workloads.page_churn import page_churn

GENERATORS: dict[str, Generator] = {m.GENERATOR.name: m.GENERATOR for m in (
    _mixed_mobility, _page_churn, _kmalloc_churn, _call_stacks, _object_graph, _object_access, _leak_classes,
    _task_stacks, _hot_node, _handoff, _counters, _cache_objects)}

__all__ = ["GENERATORS", "LINUX_6_1_KMALLOC_MIX", "Generator", "kmalloc_churn", "mixed_mobility_churn", "page_churn"]
