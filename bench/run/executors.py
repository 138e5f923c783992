"""Executors run units of work (:mod:`bench.run.units`) and yield their journal entries.

``local`` runs CPU-bound units (degradation) in a process pool over all cores and network units
(restoration, scoring) in this process, where torch uses every core and networks stay loaded.
``ray`` submits one task per unit to a Ray cluster (a local one, or ``--address``), with GPUs as
Ray resources; the run folder must be on a file system every node sees.

Results come back in completion order; the runner writes them to the journal and the records are
assembled sorted, so the executor never changes a byte of the records.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import as_completed
from typing import Any

from bench.parallel import worker_pool
from bench.run.isolation import IsolatedWorker, UnitFailed
from bench.run.units import Unit, each_alone, run_unit


class LocalExecutor:
    """Runs units on this machine.

    Args:
        workers: Processes for CPU-bound units (default: all cores).
        timeout_s: When set, network units run in a child process and each must finish within
            this many seconds; a unit that times out is retried image by image and the images that
            still time out are recorded as failed.
    """

    name = "local"

    def __init__(self, workers: int | None = None, timeout_s: float | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.worker = IsolatedWorker(timeout_s) if timeout_s else None

    def map(
        self, units: Sequence[Unit], *, cpu_bound: bool = False, gpus: float = 0.0
    ) -> Iterator[tuple[Unit, list[dict[str, Any]]]]:
        """Each unit with its entries, as they finish."""
        if cpu_bound and self.workers > 1 and len(units) > 1:
            with worker_pool(min(self.workers, len(units))) as pool:
                futures = {pool.submit(run_unit, unit): unit for unit in units}
                for future in as_completed(futures):
                    yield futures[future], future.result()
            return
        worker = None if cpu_bound else self.worker
        for unit in units:
            yield unit, call_isolated(worker, unit) if worker else unit.run()

    def close(self) -> None:
        """Stop the isolated worker, if any."""
        if self.worker is not None:
            self.worker.close()


def call_isolated(worker: IsolatedWorker, unit: Unit) -> list[dict[str, Any]]:
    """``unit.run()`` in ``worker``'s child process.

    A unit that times out or crashes is retried image by image; the images that still fail are
    recorded as failed.
    """
    return each_alone(unit, lambda one: worker.call(run_unit, (one,)), (UnitFailed,))


_RAY_WORKER: IsolatedWorker | None = None


def ray_task(unit: Unit, timeout_s: float | None) -> list[dict[str, Any]]:
    """One unit in a Ray worker; with ``timeout_s``, in a child process of that worker.

    The child is kept between the tasks a Ray worker runs, so networks stay loaded, and replaced
    after a timeout or a crash, as :class:`LocalExecutor` does.
    """
    global _RAY_WORKER
    if timeout_s is None:
        return unit.run()
    if _RAY_WORKER is None or _RAY_WORKER.timeout_s != timeout_s:
        _RAY_WORKER = IsolatedWorker(timeout_s)
    return call_isolated(_RAY_WORKER, unit)


class RayExecutor:
    """Runs units as Ray tasks (Ray is an optional dependency: ``pip install dr2bench[ray]``).

    Args:
        address: The cluster to join; by default a local one is started.
        timeout_s: As for :class:`LocalExecutor`: each network unit runs in a child process of
            its Ray worker and must finish within this many seconds.
    """

    name = "ray"

    def __init__(self, address: str | None = None, timeout_s: float | None = None) -> None:
        self.timeout_s = timeout_s
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
        self, units: Sequence[Unit], *, cpu_bound: bool = False, gpus: float = 0.0
    ) -> Iterator[tuple[Unit, list[dict[str, Any]]]]:
        """Each unit with its entries, as they finish."""
        ray = self._ray
        task = ray.remote(ray_task).options(num_gpus=gpus, num_cpus=1, max_retries=2)
        timeout_s = None if cpu_bound else self.timeout_s
        units_of = {task.remote(unit, timeout_s): unit for unit in units}
        pending = list(units_of)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield units_of[done[0]], ray.get(done[0])

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
        return RayExecutor(address, timeout_s)
    raise ValueError(f"unknown executor '{name}' (choose local or ray)")
