"""The run folder and its one owner: where every file is, what is finished, and the tables.

Layout (``docs/run-format.md``)::

    manifest.json  records.parquet  sets.parquet  timings.parquet  journal.jsonl  run.log  .lock
    images/lq/<dataset>/<chain>/<severity>/<seed>/<image id>.png
    images/gt/<dataset>/<image id>.png
    images/outputs/<restorer>/<dataset>/<chain>/<severity>/<seed>/<image id>.png
    cache/features/<metric>/<feature key>.npy

Every image is a PNG, its id's suffix replaced by ``.png``. The runner, the set metrics, the dry
run, the manifest and the reports all go through :class:`RunFolder`; none builds a path or reads
the journal itself.

Crash behaviour: results become final only through :meth:`RunFolder.record`, which appends them
to the fsync'ed journal (:mod:`bench.run.journal`) after their files are written atomically, so a
run killed at any moment resumes with exactly the work that finished; the tables are written
atomically from the journal at the end of a run.
"""

from __future__ import annotations

import functools
import io
import json
import shutil
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from bench.files import atomic_write_bytes, atomic_write_json, remove_temporaries
from bench.run.journal import Journal, RunLock

if TYPE_CHECKING:
    import pandas as pd

KEPT_IMAGES = {"all": (), "outputs": ("lq", "gt"), "none": ("",)}


class RunFolderError(ValueError):
    """A run folder that cannot be read; the message names the file and the problem."""


class RunFolder:
    """One run folder.

    Args:
        path: The folder (created on first write).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.journal: Journal | None = None
        self.tried: set[str] = set()  # keys computed, or attempted, since the journal was opened
        self.retry_failed = False  # compute failed results again (once per run)

    # -- files -------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def log_path(self) -> Path:
        return self.path / "run.log"

    def table_path(self, name: str) -> Path:
        """``records``, ``sets`` or ``timings``: its parquet file."""
        return self.path / f"{name}.parquet"

    def lq(self, dataset: str, chain: str, severity: int, seed: int, image_id: str) -> Path:
        """The degraded input of one image."""
        return self._images("lq", dataset, chain, str(severity), str(seed), _png(image_id))

    def gt(self, dataset: str, image_id: str) -> Path:
        """The ground truth of one image."""
        return self._images("gt", dataset, _png(image_id))

    def output(
        self, restorer: str, dataset: str, chain: str, severity: int, seed: int, image_id: str
    ) -> Path:
        """A restorer's output for one image."""
        parts = (dataset, chain, str(severity), str(seed), _png(image_id))
        return self._images("outputs", restorer, *parts)

    def features(self, metric: str, key: str) -> Path:
        """The cached features of one image for one set metric."""
        return self.path / "cache" / "features" / metric / f"{key}.npy"

    def _images(self, *parts: str) -> Path:
        return self.path.joinpath("images", *parts)

    def check_is_a_run(self, companions: tuple[str, ...] = ()) -> None:
        """Refuse a folder that is neither new, empty, nor a dr2bench run; ``companions`` are
        files a front door keeps beside its run (an analysis's config).

        Raises:
            RunFolderError: it holds other files, or another tool's ``manifest.json``.
        """
        if not self.path.exists():
            return
        if not self.path.is_dir():
            raise RunFolderError(f"{self.path}: exists and is not a folder")
        names = {path.name for path in self.path.iterdir()} - {".lock", *companions}
        if names and not names & {"journal.jsonl", "manifest.json"}:
            raise RunFolderError(
                f"{self.path} is not empty and holds no dr2bench run (it holds "
                f"{', '.join(sorted(names)[:3])}); choose a new or empty output folder"
            )
        if "manifest.json" in names:
            try:
                manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return  # damaged: the config check asks for --resume
            if not isinstance(manifest, dict) or "dr2bench_version" not in manifest:
                raise RunFolderError(
                    f"{self.manifest_path} was not written by dr2bench; this folder holds "
                    "something else: choose another output folder"
                )

    # -- the journal -------------------------------------------------------------------------
    def lock(self) -> RunLock:
        """The folder's exclusive lock (``with folder.lock(): ...``)."""
        return RunLock(self.path)

    def open(self) -> None:
        """Open the journal (after taking the lock)."""
        self.journal = Journal(self.path / "journal.jsonl")
        self.tried = set()

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
            self.journal = None

    @property
    def damaged_lines(self) -> int:
        """Journal lines a damaged disk left unreadable (their work is done again)."""
        return self._journal().damaged

    def entry(self, key: str) -> dict[str, Any] | None:
        """The journal entry of ``key``, or ``None``."""
        return self._journal().get(key)

    def ok(self, key: str) -> bool:
        """Whether ``key`` was computed successfully."""
        entry = self.entry(key)
        return entry is not None and entry.get("status") == "ok"

    def done(self, key: str, path: Path | None = None) -> bool:
        """Whether a result is final: computed (with its file ``path``), or failed for good.

        A plugin that was unavailable (missing weights) is tried again on the next run, not
        again in this one; so is a failed result when :attr:`retry_failed` is set.
        """
        entry = self.entry(key)
        if entry is None:
            return False
        status = entry.get("status")
        if status == "unavailable" or (status == "failed" and self.retry_failed):
            return key in self.tried
        return entry.get("status") != "ok" or path is None or path.exists()

    def record(self, entries: list[dict[str, Any]]) -> None:
        """Make results final (one fsync for all of them). An entry computed again (a retry)
        carries ``attempts``, the number of times it was computed; absent, it is 1."""
        journal = self._journal()
        for entry in entries:
            previous = journal.get(entry["k"])
            if previous is not None:
                entry["attempts"] = int(previous.get("attempts", 1)) + 1
        journal.append(entries)
        self.tried.update(entry["k"] for entry in entries)

    def _journal(self) -> Journal:
        if self.journal is None:
            raise RuntimeError(f"{self.path}: the journal is not open (RunFolder.open)")
        return self.journal

    # -- tidying -----------------------------------------------------------------------------
    def remove_temporaries(self) -> int:
        """Delete what interrupted atomic writes left; how many files."""
        return remove_temporaries(self.path)

    def prune_images(self, keep: str) -> None:
        """Delete the images a run does not keep: ``all``, ``outputs`` or ``none``."""
        for part in KEPT_IMAGES[keep]:
            shutil.rmtree(self._images(part) if part else self.path / "images", ignore_errors=True)

    # -- manifest and tables -----------------------------------------------------------------
    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_json(self.manifest_path, manifest)

    def read_manifest(self) -> dict[str, Any]:
        """The manifest as a mapping.

        Raises:
            RunFolderError: it is missing, not JSON, or not an object.
        """
        path = self.manifest_path
        if not path.exists():
            if (self.path / "journal.jsonl").exists():
                raise RunFolderError(
                    f"{path}: missing: this run has not finished yet (it was stopped before "
                    "writing its tables); run the same config again to finish it, then report"
                )
            raise RunFolderError(f"{path}: missing (every run folder has a manifest.json)")
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunFolderError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(manifest, dict):
            raise RunFolderError(f"{path}: expected a JSON object, got {type(manifest).__name__}")
        return manifest

    def write_table(
        self,
        name: str,
        rows: Iterable[dict[str, Any]],
        keys: list[str],
        columns: list[str] | None = None,
    ) -> None:
        """Write a table sorted by ``keys``, atomically (the same rows give the same bytes)."""
        import pandas as pd

        frame = pd.DataFrame(list(rows), columns=columns)
        if len(frame):
            frame = frame.sort_values(keys, kind="stable").reset_index(drop=True)
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False, engine="pyarrow", compression="zstd")
        atomic_write_bytes(self.table_path(name), buffer.getvalue())

    def read_table(self, name: str, columns: tuple[str, ...], *, optional: bool = False) -> Any:
        """A table as a DataFrame, checked to hold ``columns``.

        Raises:
            RunFolderError: missing (unless ``optional``: then an empty table), unreadable, or
                lacking a column.
        """
        import pandas as pd

        path = self.table_path(name)
        if not path.exists():
            if optional:
                return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
            raise RunFolderError(f"{path}: missing")
        try:
            frame: pd.DataFrame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise RunFolderError(f"{path}: cannot be read as parquet ({exc})") from exc
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise RunFolderError(f"{path}: missing columns {missing} (see docs/run-format.md)")
        return frame


@functools.lru_cache(maxsize=65536)  # ids recur in every cell; pathlib is slow
def _png(image_id: str) -> str:
    return PurePosixPath(image_id).with_suffix(".png").as_posix()
