"""Atomic file writes and content hashes.

Every file dr2bench writes goes through :func:`atomic_write_bytes`: the bytes go to a temporary
file in the same folder, are flushed to disk, and replace the target in one ``os.replace``, so a
crash (even ``kill -9``) leaves either the old file or the new one, never half of one. A
``kill -9`` during a write can leave the hidden temporary file; a run removes those it finds in
its folder when it starts (:func:`remove_temporaries`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


class StorageError(OSError):
    """A file could not be written (disk full, read-only folder, no permission).

    Earlier files are untouched: every write is atomic.
    """


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating parent folders.

    Raises:
        StorageError: the file could not be written; the old file, if any, is unchanged.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, FILE_MODE)  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StorageError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from exc
        raise


def remove_temporaries(folder: str | Path) -> int:
    """Delete the temporary files of atomic writes that a crash (``kill -9``) cut short.

    Only call it while no other process writes below ``folder`` (a run holds its lock).

    Returns:
        How many files were removed.
    """
    removed = 0
    for path in Path(folder).rglob(".*.tmp"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, exact floats; the basis of cache keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def atomic_write_json(path: str | Path, value: Any) -> None:
    """Write ``value`` as indented, key-sorted JSON atomically."""
    atomic_write_text(path, json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def per_file_version(
    maxsize: int,
) -> Callable[[Callable[[str | Path], T]], Callable[[str | Path], T]]:
    """Cache ``fn(path)`` while the file's size and mtime stay the same (``maxsize`` files).

    A path that cannot be examined is passed to ``fn`` uncached, which reports the problem.
    """

    def wrap(fn: Callable[[str | Path], T]) -> Callable[[str | Path], T]:
        @functools.lru_cache(maxsize=maxsize)
        def of_version(path: str, size: int, mtime_ns: int) -> T:
            return fn(path)

        @functools.wraps(fn)
        def cached(path: str | Path) -> T:
            try:
                stat = os.stat(path)
            except OSError:
                return fn(path)
            return of_version(str(path), stat.st_size, stat.st_mtime_ns)

        return cached

    return wrap


@per_file_version(maxsize=1 << 16)
def cached_sha256(path: str | Path) -> str:
    """:func:`sha256_file` of ``path``, read again only when its size or mtime has changed."""
    return sha256_file(path)


def hash_value(value: Any) -> str:
    """Hex sha256 of the canonical JSON of ``value`` (a cache key)."""
    return sha256_bytes(canonical_json(value).encode("utf-8"))
