"""Worker processes for CPU-bound work (fresh, spawned, single-threaded), and prefetching.

Parallelism comes from the processes, so each worker's libraries run on one thread: two
processes each running OpenMP teams of two threads on two cores wait on each other's
preempted threads and can run tens of times slower. Workers are spawned, not forked: a child
forked after the parent has run OpenMP threads (torch) can hang on its first parallel region.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, TypeVar

T = TypeVar("T")

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


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` while a background thread computes the next ``depth`` of them.

    Used to decode the next batch of images while the network runs on the current one (image
    decoding and torch both release the GIL). Exceptions are re-raised in the caller.
    """
    done = object()
    ready: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                ready.put((item, None))
            ready.put((done, None))
        except BaseException as exc:  # handed to the consumer
            ready.put((done, exc))

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                ready.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.01)
