"""kernel_model: the modelled memory subsystem of the MultiOS kernel (C core, Cython layer)."""

from kernel_model import trace
from kernel_model.machine import Machine, ReplayError, ReplayResult
from kernel_model.slabinfo import KmemCache
from kernel_model.topology import Topology, TopologyError
from kernel_model.trace import Op, Trace
from kernel_model.units import parse_size
from kernel_model.vmstat import extfrag_index, unusable_free_index

__all__ = ["KmemCache", "Machine", "Op", "ReplayError", "ReplayResult", "Topology", "TopologyError", "Trace",
           "extfrag_index", "parse_size", "trace", "unusable_free_index"]
