"""Where the points run: in this process (`--jobs 1`), on a Dask LocalCluster of worker
processes (the default), or on an existing Dask cluster (`--scheduler tcp://host:port`).

The engine only runs points and hands back their results as they finish; leaving it (normally,
on Ctrl-C or on SIGTERM) cancels the points still outstanding and closes the client and the
cluster, every step with a timeout, so no worker process outlives the sweep.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sim.sweep.point import PointTask, one_line, point_result, run_point

START_TIMEOUT = 60       # seconds for the LocalCluster's workers to start / a scheduler to answer
WORKERS_TIMEOUT = 60     # seconds for an existing cluster to show at least one worker
CLOSE_TIMEOUT = 20       # seconds for the client and the cluster to close


class EngineError(Exception):
    """The cluster cannot be started or reached; the message says which and why."""


class Engine:
    """`with Engine(jobs, scheduler) as e: for result in e.run(tasks): ...` (sweep points), or
    e.map(fn, shared, items) (an optimiser's batch of re-runs)."""

    def __init__(self, jobs: int, scheduler: str | None = None, in_process: bool | None = None,
                 scratch: str | None = None) -> None:
        """in_process: None runs one job in this process and more on a LocalCluster; False makes
        even one job a LocalCluster of one worker (the benchmark compares clusters of 1 and 2).
        scratch: the LocalCluster's scratch space (default: Dask's, in the temp dir)."""
        self.jobs, self.scheduler, self.scratch = jobs, scheduler, scratch
        self.in_process = scheduler is None and jobs == 1 if in_process is None else in_process
        self.client: Any = None
        self.cluster: Any = None
        self.outstanding: dict[Any, PointTask | None] = {}
        self._shared: Any = None          # what map() last sent to the workers, and its future
        self._shared_future: Any = None

    def describe(self) -> str:
        if self.in_process:
            return "in this process"
        if self.scheduler is not None:
            n = len(self.client.scheduler_info(n_workers=-1)["workers"]) if self.client else 0
            return f"on the Dask cluster at {self.scheduler} ({n} workers)"
        return f"on {self.jobs} local worker processes"

    def __enter__(self) -> Engine:
        if self.in_process:
            return self
        from distributed import Client, LocalCluster

        try:
            if self.scheduler is None:
                import dask

                from sim.sweep.worker_setup import WorkerSetup

                # the scheduler's and the workers' scratch space too, in the sweep's scratch directory;
                # a point's failure reaches the user as its result, so Dask's own logs stay quiet: at
                # ERROR they print tracebacks of workers heartbeating a scheduler that Ctrl-C closed
                with dask.config.set({"temporary-directory": self.scratch} if self.scratch else {}):
                    self.cluster = LocalCluster(n_workers=self.jobs, threads_per_worker=1, processes=True,
                                                dashboard_address=None, silence_logs=logging.CRITICAL,
                                                timeout=START_TIMEOUT)
                self.client = Client(self.cluster, timeout=START_TIMEOUT, set_as_default=False)
                self.client.register_plugin(WorkerSetup())
                self.client.wait_for_workers(self.jobs, timeout=START_TIMEOUT)
            else:
                self.client = Client(self.scheduler, timeout=START_TIMEOUT, set_as_default=False)
                self.client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except BaseException as e:
            self.close()
            if isinstance(e, (OSError, TimeoutError, ValueError)):
                where = self.scheduler or f"a local cluster of {self.jobs} workers"
                raise EngineError(f"{where}: {one_line(e)}") from None
            raise
        return self

    def run(self, tasks: Sequence[PointTask]) -> Iterator[dict[str, Any]]:
        """Each task's result as it finishes (any order)."""
        if self.in_process:
            for task in tasks:
                yield run_point(task)
            return
        from distributed import as_completed

        run = uuid.uuid4().hex[:8]   # task keys of this sweep never meet another client's on a shared cluster
        self.outstanding = {self.client.submit(run_point, t, key=f"memsim-{t.key}-{run}", pure=False, retries=0): t
                            for t in tasks}
        for future in as_completed(list(self.outstanding), loop=self.client.loop):
            task = self.outstanding.pop(future)
            try:
                result = future.result()
            except Exception as e:   # the worker died under the point (KilledWorker) or the task was lost
                result = point_result(task.key, "failed", f"worker lost: {one_line(e)}")
            future.release()
            yield result

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> list:
        """fn(shared, item) for every item, results in the items' order: the optimisers' batches of
        re-runs. On a cluster, shared (the workload) goes to every worker once, not with each item."""
        if self.in_process:
            return [fn(shared, item) for item in items]
        if self._shared is not shared:
            self._shared_future = self.client.scatter(shared, broadcast=True, hash=False)
            self._shared = shared
        run = uuid.uuid4().hex[:8]
        futures = [self.client.submit(fn, self._shared_future, item, key=f"memsim-eval-{run}-{i}", pure=False,
                                      retries=0) for i, item in enumerate(items)]
        self.outstanding = dict.fromkeys(futures)   # cancelled by close() if the gather does not end
        results = self.client.gather(futures)
        self.outstanding = {}
        for f in futures:
            f.release()
        return results

    def close(self) -> None:
        """Cancel what is outstanding, then close the client and the cluster (each with a timeout)."""
        client, cluster, outstanding = self.client, self.cluster, list(self.outstanding)
        self.client = self.cluster = None
        self.outstanding = {}
        try:
            if client is not None and outstanding:
                client.cancel(outstanding, force=True)
        finally:
            try:
                if client is not None:
                    client.close(timeout=CLOSE_TIMEOUT)
            finally:
                if cluster is not None:
                    cluster.close(timeout=CLOSE_TIMEOUT)

    def __exit__(self, *exc: object) -> None:
        self.close()
