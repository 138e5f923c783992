"""Read a run folder (``records.parquet``, ``sets.parquet``, ``manifest.json``) for the reports.

The format is documented in ``docs/run-format.md``. Loading checks what the reports rely on and
names the file and the problem when something is missing, so a broken run gives one clear line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

CELL = ("dataset", "chain", "severity")
SAMPLE = ("seed", "image_id")
RECORD_COLUMNS = (
    "dataset",
    "dataset_kind",
    "image_id",
    "chain",
    "severity",
    "seed",
    "degradation_params",
    "restorer",
    "restorer_name",
    "restorer_version",
    "restorer_params",
    "status",
    "error",
    "metric_errors",
)
SET_COLUMNS = (
    "dataset",
    "dataset_kind",
    "chain",
    "severity",
    "seed",
    "restorer",
    "metric",
    "value",
    "n",
    "reference",
    "config",
    "extra",
    "status",
    "error",
)


class ReportError(ValueError):
    """A run folder the reports cannot read; the message names the file and the problem."""


@dataclass(frozen=True)
class MetricInfo:
    """What the manifest says about one metric.

    Attributes:
        name: Column name in ``records.parquet`` or value of ``metric`` in ``sets.parquet``.
        kind: ``paired``, ``no_reference`` or ``set``.
        higher_is_better: Direction of the metric.
        leaves_out_below: The published mean leaves out values under this (VQFR's Deg. leaves
            out pairs under 1 degree: its config's ``mean_leaves_out_below``), or ``None``.
    """

    name: str
    kind: str
    higher_is_better: bool
    leaves_out_below: float | None = None


@dataclass(frozen=True)
class Run:
    """The files of one run folder, loaded.

    Attributes:
        folder: The run folder.
        records: ``records.parquet``: one row per image x degradation x severity x seed x restorer.
        sets: ``sets.parquet``: set-level metrics per cell (empty when the run has none).
        manifest: ``manifest.json``.
    """

    folder: Path
    records: pd.DataFrame
    sets: pd.DataFrame
    manifest: dict[str, Any]

    @cached_property
    def metrics(self) -> dict[str, MetricInfo]:
        """Every metric with values in the run, per-image ones first, in the manifest's order."""
        declared = self.manifest.get("metrics", {})
        present = self.image_metrics + sorted(set(self.sets["metric"]))
        missing = [name for name in present if name not in declared]
        if missing:
            raise ReportError(
                f"{self.folder / 'manifest.json'}: 'metrics' has no entry for {missing} "
                "(their direction, higher or lower is better, is needed)"
            )
        return {name: _metric_info(name, declared[name], self.folder) for name in present}

    @cached_property
    def image_metrics(self) -> list[str]:
        """The per-image metric columns of ``records.parquet``."""
        return [column for column in self.records.columns if column not in RECORD_COLUMNS]

    @cached_property
    def restorers(self) -> list[str]:
        """Restorer labels in the order they first appear in the manifest (else sorted)."""
        labels = set(self.records["restorer"]) | set(self.sets["restorer"])
        listed = [label for label in self.manifest.get("restorers", {}) if label in labels]
        return listed + sorted(labels - set(listed))

    def ok_records(self) -> pd.DataFrame:
        """The rows with ``status == 'ok'``."""
        return self.records[self.records["status"] == "ok"]

    @property
    def paper_layout(self) -> tuple[dict[str, list[str]], dict[str, str]]:
        """The protocol's paper-table columns by dataset kind and their titles (empty if none)."""
        protocol = self.manifest.get("protocol") or {}
        return dict(protocol.get("table") or {}), dict(protocol.get("titles") or {})

    def restorer_params(self, label: str) -> dict[str, Any]:
        """The parameters of one restorer label, from the manifest."""
        entry = self.manifest.get("restorers", {}).get(label, {})
        return dict(entry.get("params", {}))


def load_run(folder: str | Path) -> Run:
    """Load and check a run folder.

    Example:
        >>> run = load_run("runs/demo")  # doctest: +SKIP
        >>> run.records.groupby("restorer")["psnr"].mean()  # doctest: +SKIP

    Raises:
        ReportError: A file is missing or lacks a column the reports need.
    """
    import pandas as pd

    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder}: not a run folder (no such directory)")
    manifest = _read_manifest(folder / "manifest.json")
    records = _read_table(folder / "records.parquet", RECORD_COLUMNS)
    sets_path = folder / "sets.parquet"
    sets = (
        _read_table(sets_path, SET_COLUMNS)
        if sets_path.exists()
        else pd.DataFrame({column: pd.Series(dtype=object) for column in SET_COLUMNS})
    )
    return Run(folder=folder, records=records, sets=sets, manifest=manifest)


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ReportError(f"{path}: missing (every run folder has a manifest.json)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise ReportError(f"{path}: expected a JSON object, got {type(manifest).__name__}")
    return manifest


def _read_table(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    if not path.exists():
        raise ReportError(f"{path}: missing")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise ReportError(f"{path}: cannot be read as parquet ({exc})") from exc
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ReportError(f"{path}: missing columns {missing} (see docs/run-format.md)")
    return frame


def _metric_info(name: str, entry: Any, folder: Path) -> MetricInfo:
    if not isinstance(entry, dict) or not isinstance(entry.get("higher_is_better"), bool):
        raise ReportError(
            f"{folder / 'manifest.json'}: metrics.{name} needs a boolean 'higher_is_better'"
        )
    below = (entry.get("config") or {}).get("mean_leaves_out_below")
    return MetricInfo(
        name=name,
        kind=str(entry.get("kind", "")),
        higher_is_better=bool(entry["higher_is_better"]),
        leaves_out_below=None if below is None else float(below),
    )
