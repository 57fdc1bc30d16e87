"""The set-up of the worker processes of the sweep's own LocalCluster (a Dask worker plugin)."""

from __future__ import annotations

import os
import signal
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

PR_SET_PDEATHSIG = 1    # <linux/prctl.h>


class WorkerSetup(WorkerPlugin):
    """Worker processes end with the sweep process that started them, however it ends (Linux
    PR_SET_PDEATHSIG: even a SIGKILLed sweep leaves no worker behind), and leave Ctrl-C to the
    sweep, which cancels the outstanding points and closes the cluster in order."""

    name = "memsim-worker-setup"
    idempotent = True

    def setup(self, worker: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if os.uname().sysname == "Linux":
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
