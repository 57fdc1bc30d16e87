"""The ftrace workload: a Linux kmem:* ftrace capture as an op stream (kernel_model/ftrace.py
imports it, in C; kernel_model/reference/ftrace.py is the pure-Python reference)."""

from kernel_model.ftrace import HANDLED, FtraceFormatError, import_ftrace

__all__ = ["HANDLED", "FtraceFormatError", "import_ftrace"]
