"""Running units of work in a child process that is killed when a unit hangs or crashes.

Used when a run sets ``timeout_s``: each restorer or metric batch must finish within it. A unit
that times out (or kills its process, e.g. a segfault in a native library) is retried image by
image, so only the images that hang fail; every failure is recorded with its reason.

The child is started with ``spawn`` (forking a process that already runs torch threads can
deadlock), so plugins registered in code rather than through entry points must be importable
from ``DR2BENCH_PLUGIN_MODULES`` (see :mod:`bench.registry`).
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from typing import Any

from bench.files import StorageError

READY = "ready"


class UnitFailed(RuntimeError):
    """The unit did not finish: it timed out or its process died."""


class _Raised:
    def __init__(self, text: str, storage: StorageError | None = None) -> None:
        self.text = text
        self.storage = storage  # a full disk or read-only folder stops the run, as in-process


def _serve(connection: Any) -> None:
    import torch  # noqa: F401

    import bench.run.units  # noqa: F401 - start-up imports do not count against the timeout

    connection.send(READY)
    while True:
        message = connection.recv()
        if message is None:
            return
        fn, args = message
        try:
            connection.send(fn(*args))
        except BaseException as exc:  # report, keep serving
            storage = exc if isinstance(exc, StorageError) else None
            connection.send(_Raised(traceback.format_exc(), storage))


class IsolatedWorker:
    """A child process running one unit at a time, replaced after a timeout or a crash."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._process: Any = None
        self._connection: Any = None

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        child.close()
        self._connection = parent
        if parent.recv() != READY:
            raise UnitFailed("the worker process did not start")

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """``fn(*args)`` in the child.

        Raises:
            UnitFailed: it took longer than ``timeout_s`` or the child died.
        """
        if self._process is None or not self._process.is_alive():
            self._start()
        self._connection.send((fn, args))
        if not self._connection.poll(self.timeout_s):
            self._kill()
            raise UnitFailed(f"timed out after {self.timeout_s:g} s (the process was stopped)")
        try:
            result = self._connection.recv()
        except EOFError:
            code = self._process.exitcode if self._process is not None else None
            self._kill()
            raise UnitFailed(f"the worker process died (exit code {code})") from None
        if isinstance(result, _Raised):
            if result.storage is not None:
                raise result.storage
            raise RuntimeError(result.text)
        return result

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
        self._process = None

    def close(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._connection.send(None)
            self._process.join(timeout=5)
        self._kill()
