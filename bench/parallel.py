"""Worker processes for CPU-bound work: fresh (spawned) and single-threaded.

Parallelism comes from the processes, so each worker's libraries run on one thread: two
processes each running OpenMP teams of two threads on two cores wait on each other's
preempted threads and can run tens of times slower. Workers are spawned, not forked: a child
forked after the parent has run OpenMP threads (torch) can hang on its first parallel region.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def single_threaded() -> None:
    """Make this (worker) process's numeric libraries use one thread."""
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    import cv2

    cv2.setNumThreads(1)


def worker_pool(workers: int, initializer: Any = None, initargs: tuple = ()) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned, single-threaded processes (then ``initializer``)."""
    return ProcessPoolExecutor(
        workers,
        mp_context=get_context("spawn"),
        initializer=_initialize,
        initargs=(initializer, initargs),
    )


def _initialize(initializer: Any, initargs: tuple) -> None:
    single_threaded()
    if initializer is not None:
        initializer(*initargs)
