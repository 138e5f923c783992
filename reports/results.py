"""A run's results for the reports: its tables and manifest, read through the run folder's owner.

The reports read a run folder only through :class:`bench.run.folder.RunFolder` and the schemas
of :mod:`bench.run.records` (``docs/run-format.md``). Loading checks what the reports rely on and
names the file and the problem when something is missing, so a broken run gives one clear line.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.run.folder import RunFolder, RunFolderError
from bench.run.records import RECORD_COLUMNS, SET_COLUMNS, MetricInfo

if TYPE_CHECKING:
    import pandas as pd

CELL = ("dataset", "chain", "severity")
SAMPLE = ("seed", "image_id")


class ReportError(ValueError):
    """A report that cannot be made (an unknown format or baseline); the message says why."""


@dataclass(frozen=True)
class Results:
    """The tables and manifest of one run folder, loaded.

    Attributes:
        folder: The run folder.
        records: ``records.parquet``: one row per image x degradation x severity x seed x restorer.
        sets: ``sets.parquet``: set-level metrics per cell (empty when the run has none).
        manifest: ``manifest.json``.
        baseline: The restorer listed first (the report's baseline), ``None`` for none.
    """

    folder: Path
    records: pd.DataFrame
    sets: pd.DataFrame
    manifest: dict[str, Any]
    baseline: str | None = None

    @cached_property
    def metrics(self) -> dict[str, MetricInfo]:
        """Every metric with values in the run, per-image ones first, in the manifest's order."""
        declared = self.manifest.get("metrics", {})
        present = self.image_metrics + sorted(set(self.sets["metric"]))
        missing = [name for name in present if name not in declared]
        if missing:
            raise RunFolderError(
                f"{self.folder / 'manifest.json'}: 'metrics' has no entry for {missing} "
                "(their direction, higher or lower is better, is needed)"
            )
        try:
            return {name: MetricInfo.from_manifest(name, declared[name]) for name in present}
        except ValueError as exc:
            raise RunFolderError(f"{self.folder / 'manifest.json'}: {exc}") from exc

    @cached_property
    def image_metrics(self) -> list[str]:
        """The per-image metric columns of ``records.parquet``."""
        return [column for column in self.records.columns if column not in RECORD_COLUMNS]

    @cached_property
    def restorers(self) -> list[str]:
        """Restorer labels: the baseline, then the config's order (the manifest's ``position``,
        else the manifest's order), then any the manifest lacks, sorted."""
        labels = set(self.records["restorer"]) | set(self.sets["restorer"])
        entries = self.manifest.get("restorers", {})
        listed = [label for label in entries if label in labels]
        listed.sort(key=lambda label: entries[label].get("position", 0))
        order = listed + sorted(labels - set(listed))
        return sorted(order, key=lambda label: label != self.baseline)

    def display(self, label: str) -> str:
        """A restorer's row title in tables: its config's ``display``, else its label."""
        return str(self.restorer_entry(label).get("display") or label)

    def trivial(self, label: str, metric: str) -> bool:
        """Whether ``metric`` compares ``label``'s output with its input, and the restorer
        returns its input (``Restorer.keeps_input``): a perfect score by construction."""
        keeps_input = bool(self.restorer_entry(label).get("keeps_input"))
        return keeps_input and self.metrics[metric].reference == "input"

    def ok_records(self) -> pd.DataFrame:
        """The rows with ``status == 'ok'``."""
        return self.records[self.records["status"] == "ok"]

    @property
    def paper_layout(self) -> tuple[dict[str, list[str]], dict[str, str]]:
        """The protocol's paper-table columns by dataset kind and their titles (empty if none)."""
        protocol = self.manifest.get("protocol") or {}
        return dict(protocol.get("table") or {}), dict(protocol.get("titles") or {})

    def restorer_entry(self, label: str) -> dict[str, Any]:
        """The manifest's entry of one restorer label (empty when it has none)."""
        return dict(self.manifest.get("restorers", {}).get(label, {}))

    def restorer_params(self, label: str) -> dict[str, Any]:
        """The parameters of one restorer label, from the manifest."""
        return dict(self.restorer_entry(label).get("params", {}))


def load_results(folder: str | Path) -> Results:
    """Load and check a run folder.

    Example:
        >>> results = load_results("runs/demo")  # doctest: +SKIP
        >>> results.records.groupby("restorer")["psnr"].mean()  # doctest: +SKIP

    Raises:
        RunFolderError: A file is missing or lacks a column the reports need.
    """
    run = RunFolder(folder)
    if not run.path.is_dir():
        raise RunFolderError(f"{run.path}: not a run folder (no such directory)")
    manifest = run.read_manifest()
    records = run.read_table("records", RECORD_COLUMNS)
    sets = run.read_table("sets", SET_COLUMNS, optional=True)
    return Results(folder=run.path, records=records, sets=sets, manifest=manifest)
