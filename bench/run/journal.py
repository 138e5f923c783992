"""The run journal: an append-only log of finished work, and the run folder's lock.

Each finished unit of work (an LQ image, a restored image, a metric value, features) appends one
JSON line ``{"k": cache_key, "kind": ..., ...}`` and the file is fsync'ed after every batch of
lines. A crash can only leave a torn last line, which is cut off when the journal is opened again,
so a resumed run sees exactly the work that finished, never half of it. A line damaged in the
middle (a failing disk) is ignored and its work done again: keys are content hashes, so redoing
work never changes a result.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.files import StorageError


class RunLockedError(RuntimeError):
    """Another process is running in the same run folder."""


class Journal:
    """Cache keys of finished work with their payloads, backed by ``journal.jsonl``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.entries: dict[str, dict[str, Any]] = {}
        self.damaged = 0  # lines that do not decode (a damaged disk): their work is redone
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._load()
            self._handle = open(self.path, "ab")  # noqa: SIM115 - kept open for appends
        except OSError as exc:
            raise StorageError(
                exc.errno, f"cannot write {self.path}: {exc.strerror or exc}"
            ) from exc

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):  # a torn last line from a crash: cut it off
            with open(self.path, "r+b") as handle:
                handle.truncate(len(complete))
        for line in complete.splitlines():
            entry = _entry(line)
            if entry is not None:
                self.entries[entry["k"]] = entry
            elif line.strip():
                self.damaged += 1

    def get(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def append(self, entries: Iterable[dict[str, Any]]) -> None:
        """Record finished work durably (one fsync per call)."""
        lines = []
        for entry in entries:
            self.entries[entry["k"]] = entry
            lines.append(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")
        if lines:
            try:
                self._handle.write("".join(lines).encode("utf-8"))
                self._handle.flush()
                os.fsync(self._handle.fileno())
            except OSError as exc:
                raise StorageError(
                    exc.errno, f"cannot write {self.path}: {exc.strerror or exc}"
                ) from exc

    def close(self) -> None:
        self._handle.close()


def _entry(line: bytes) -> dict[str, Any] | None:
    """A journal line's entry, or None when the line is damaged."""
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):  # invalid JSON or UTF-8
        return None
    return entry if isinstance(entry, dict) and isinstance(entry.get("k"), str) else None


class RunLock:
    """An exclusive lock on a run folder, released when the process ends (even on kill -9)."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / ".lock"
        self._handle: Any = None

    def __enter__(self) -> RunLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a+")
        except OSError as exc:  # a read-only run folder, no permission
            raise StorageError(
                exc.errno, f"cannot write {self.path}: {exc.strerror or exc}"
            ) from exc
        try:
            fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._handle.seek(0)
            owner = self._handle.read().strip() or "another process"
            self._handle.close()
            raise RunLockedError(
                f"{self.path.parent} is in use by another dr2bench run ({owner}); "
                "wait for it to finish or choose another output folder"
            ) from None
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(f"pid {os.getpid()}")
        self._handle.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
