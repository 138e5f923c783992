"""Executors run units of work (functions of :mod:`bench.run.work`) and yield their results.

``local`` runs CPU-bound units (degradation) in a process pool over all cores and network units
(restoration, scoring) in this process, where torch uses every core and networks stay loaded.
``ray`` submits one task per unit to a Ray cluster (a local one, or ``--address``), with GPUs as
Ray resources; the run folder must be on a file system every node sees.

Results come back in completion order; the runner writes them to the journal and the records are
assembled sorted, so the executor never changes a byte of the records.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import as_completed
from typing import Any

from bench.parallel import worker_pool
from bench.run.isolation import IsolatedWorker, UnitFailed
from bench.run.work import failed_entries

Unit = tuple[Any, ...]


class LocalExecutor:
    """Runs units on this machine.

    Args:
        workers: Processes for CPU-bound units (default: all cores).
        timeout_s: When set, network units run in a child process and each must finish within
            this many seconds; a unit that times out is retried image by image (a unit's last
            argument is its list of items) and the images that still time out are recorded as
            failed.
    """

    name = "local"

    def __init__(self, workers: int | None = None, timeout_s: float | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.worker = IsolatedWorker(timeout_s) if timeout_s else None

    def map(
        self,
        fn: Callable[..., Any],
        units: Sequence[Unit],
        *,
        cpu_bound: bool = False,
        gpus: float = 0.0,
    ) -> Iterator[Any]:
        if cpu_bound and self.workers > 1 and len(units) > 1:
            with worker_pool(min(self.workers, len(units))) as pool:
                futures = [pool.submit(fn, *unit) for unit in units]
                for future in as_completed(futures):
                    yield future.result()
            return
        for unit in units:
            yield self._isolated(fn, unit) if self.worker and not cpu_bound else fn(*unit)

    def _isolated(self, fn: Callable[..., Any], unit: Unit) -> list[dict[str, Any]]:
        assert self.worker is not None
        try:
            return self.worker.call(fn, unit)
        except UnitFailed as exc:
            *head, items = unit
            if len(items) > 1:
                return [e for item in items for e in self._isolated(fn, (*head, [item]))]
            return failed_entries(fn, items, str(exc))

    def close(self) -> None:
        """Stop the isolated worker, if any."""
        if self.worker is not None:
            self.worker.close()


class RayExecutor:
    """Runs units as Ray tasks (Ray is an optional dependency: ``pip install dr2bench[ray]``)."""

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise RuntimeError("the ray executor needs Ray: pip install 'dr2bench[ray]'") from exc
        self._ray = ray
        self._owned = not ray.is_initialized()
        if self._owned:
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )

    def map(
        self,
        fn: Callable[..., Any],
        units: Sequence[Unit],
        *,
        cpu_bound: bool = False,
        gpus: float = 0.0,
    ) -> Iterator[Any]:
        ray = self._ray
        task = ray.remote(fn).options(num_gpus=gpus, num_cpus=1, max_retries=2)
        pending = [task.remote(*unit) for unit in units]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])

    def close(self) -> None:
        if self._owned:
            self._ray.shutdown()


def make_executor(
    name: str, address: str | None = None, timeout_s: float | None = None
) -> LocalExecutor | RayExecutor:
    """The executor called ``name`` (``local`` or ``ray``)."""
    if name == "local":
        return LocalExecutor(timeout_s=timeout_s)
    if name == "ray":
        return RayExecutor(address)
    raise ValueError(f"unknown executor '{name}' (choose local or ray)")
