"""Where an organisation scan's tasks run: the local process pool, or a Dask cluster (--scheduler).

Both take tasks with a tag and hand back (tag, result) as tasks finish, while more are being submitted;
a task that raised (or was lost with its worker more often than Dask allows) comes back as the exception.
Dask runs a dead worker's tasks again; the local pool cannot (a dead pool process breaks the pool), so
there the repositories still to come are reported lost, not scanned.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from typing import Any

WORKERS_WAIT_SECONDS = 60


class ClusterError(Exception):
    """The Dask scheduler cannot be used (missing extra, unreachable, no workers)."""


class Runner(ABC):
    address: str | None = None  # the scheduler's, None for the local pool
    tasks = 0

    @abstractmethod
    def submit(self, tag: Hashable, function: Callable[..., Any], *args: Any) -> None: ...

    @abstractmethod
    def results(self) -> Iterator[tuple[Any, Any]]:
        """(tag, result or exception) as tasks finish, until none is left (tasks submitted meanwhile included)."""

    @abstractmethod
    def workers(self) -> int: ...

    @abstractmethod
    def slots(self) -> int:
        """How many tasks can run at once (worker threads)."""

    @abstractmethod
    def close(self) -> None:
        """Lets go of the cluster (the local pool belongs to the pipeline, which shuts it down)."""


class LocalRunner(Runner):
    def __init__(self, pool: Executor, jobs: int) -> None:
        self.pool = pool
        self.jobs = jobs
        self.pending: dict[Future[Any], Any] = {}

    def submit(self, tag: Hashable, function: Callable[..., Any], *args: Any) -> None:
        self.tasks += 1
        try:
            future = self.pool.submit(function, *args)
        except BrokenExecutor as error:  # a pool process died (killed, out of memory): the pool takes no more
            future = Future()
            future.set_exception(error)
        self.pending[future] = tag

    def results(self) -> Iterator[tuple[Any, Any]]:
        while self.pending:
            done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
            for future in done:
                tag = self.pending.pop(future)
                error = future.exception()
                yield tag, error if error is not None else future.result()

    def workers(self) -> int:
        return self.jobs

    def slots(self) -> int:
        return self.jobs

    def close(self) -> None:
        for future in self.pending:
            future.cancel()


class DaskRunner(Runner):
    """A client of an existing Dask scheduler; its workers must have keyguard installed."""

    def __init__(self, address: str) -> None:
        try:  # deferred: the [cluster] extra is optional and distributed takes a second to import
            from dask.distributed import Client, as_completed
        except ImportError:
            raise ClusterError("--scheduler needs Dask: pip install 'keyguard[cluster]'") from None
        try:
            # how long to try: Dask's own setting (distributed.comm.timeouts.connect, 30 s unless configured)
            self.client = Client(address, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: {error}") from None
        try:
            self.client.wait_for_workers(1, timeout=WORKERS_WAIT_SECONDS)
        except TimeoutError:
            self.client.close()
            raise ClusterError(f"no worker joined the Dask scheduler at {address} in {WORKERS_WAIT_SECONDS}s") from None
        self.address = self.client.scheduler.address
        self.seen_workers = self.workers()
        self.finished = as_completed(loop=self.client.loop)  # this client's loop: it is not the default client
        self.tags: dict[str, Any] = {}

    def submit(self, tag: Hashable, function: Callable[..., Any], *args: Any) -> None:
        self.tasks += 1
        key = f"keyguard-{function.__name__}-{uuid.uuid4().hex}"
        future = self.client.submit(function, *args, key=key, pure=False)
        self.tags[key] = tag
        self.finished.add(future)

    def results(self) -> Iterator[tuple[Any, Any]]:
        for future in self.finished:
            tag = self.tags.pop(future.key)
            try:
                result: Any = future.result()
            except Exception as error:  # KilledWorker, a task's own fault, the scheduler gone
                result = error
            future.release()
            yield tag, result

    def workers(self) -> int:
        """The most workers seen: at the start, or now (a dead worker may have been replaced, or not)."""
        return max(getattr(self, "seen_workers", 0), len(self.client.scheduler_info().get("workers", {})))

    def slots(self) -> int:
        return max(1, sum(worker.get("nthreads", 1) for worker in self.client.scheduler_info()["workers"].values()))

    def close(self) -> None:
        self.client.close()
