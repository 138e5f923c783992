"""The run's tables and their schemas: ``records.parquet``, ``sets.parquet``, ``timings.parquet``.

The tables are pure functions of the plan and the journal, sorted by their key columns and
written atomically, so a rerun or another executor writes the same bytes. The reports read them
with these schemas (``docs/run-format.md``); a metric column is described by :class:`MetricInfo`,
which the manifest records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

KEY_COLUMNS = ["dataset", "chain", "severity", "seed", "restorer", "image_id"]
SET_KEY_COLUMNS = ["dataset", "chain", "severity", "seed", "restorer", "metric"]
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
)  # and one column per per-image metric
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


@dataclass(frozen=True)
class MetricInfo:
    """A metric of a run: its column, its plugin and what identifies its values.

    Attributes:
        name: Its column in ``records.parquet`` (its ``metric`` in ``sets.parquet``): its label.
        plugin: The registered metric (``deg.vqfr``).
        kind: ``paired``, ``no_reference`` or ``set``.
        higher_is_better: Its direction.
        reference: What a paired metric compares with: ``gt`` or ``input``.
        version: The plugin's version.
        config: Its conventions (``Metric.config()``).
        params: The parameters it was created with.
    """

    name: str
    plugin: str
    kind: str
    higher_is_better: bool
    reference: str = "gt"
    version: int = 1
    config: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def params_json(self) -> str:
        return json.dumps(self.params, sort_keys=True)

    @property
    def leaves_out_below(self) -> float | None:
        """The published mean leaves out values under this (VQFR's Deg.), or ``None``."""
        below = self.config.get("mean_leaves_out_below")
        return None if below is None else float(below)

    def identity(self) -> dict[str, Any]:
        """What its values' cache keys hash."""
        return {"metric": self.plugin, "version": self.version, "config": self.config}

    def manifest_entry(self) -> dict[str, Any]:
        """Its entry in ``manifest.json``'s ``metrics``."""
        return {
            "name": self.plugin,
            "params": self.params,
            "kind": self.kind,
            "reference": self.reference,
            "version": self.version,
            "higher_is_better": self.higher_is_better,
            "config": self.config,
        }

    @classmethod
    def from_manifest(cls, name: str, entry: Any) -> MetricInfo:
        """The metric ``name`` from its manifest entry.

        Raises:
            ValueError: the entry has no boolean ``higher_is_better``.
        """
        if not isinstance(entry, dict) or not isinstance(entry.get("higher_is_better"), bool):
            raise ValueError(f"metrics.{name} needs a boolean 'higher_is_better'")
        return cls(
            name=name,
            plugin=str(entry.get("name", name)),
            kind=str(entry.get("kind", "")),
            higher_is_better=entry["higher_is_better"],
            reference=str(entry.get("reference", "gt")),
            version=int(entry.get("version", 1)),
            config=dict(entry.get("config") or {}),
            params=dict(entry.get("params") or {}),
        )


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def record_row(
    sample: Any, point: Any, lq: dict | None, out: dict | None, scores: dict[str, dict | None]
) -> dict[str, Any]:
    """One row of records.parquet (see docs/run-format.md)."""
    cell = sample.cell
    status, error = _status(lq, out)
    row: dict[str, Any] = {
        "dataset": cell.dataset,
        "dataset_kind": cell.dataset_kind,
        "image_id": sample.image_id,
        "chain": cell.chain,
        "severity": cell.severity,
        "seed": cell.seed,
        "degradation_params": _json(lq.get("steps", []) if lq else []),
        "restorer": point.label,
        "restorer_name": point.name,
        "restorer_version": point.version,
        "restorer_params": _json(point.config),
        "status": status,
        "error": error,
    }
    errors = {}
    for metric, entry in scores.items():
        row[metric] = float("nan") if entry is None or entry["value"] is None else entry["value"]
        if entry is not None and (entry.get("error") or entry["value"] is None):
            errors[metric] = entry.get("error") or "no value"
    row["metric_errors"] = _json(errors)
    return row


def _status(lq: dict | None, out: dict | None) -> tuple[str, str | None]:
    missing = "missing", "not computed (the run was interrupted; run it again to finish)"
    if lq is None:
        return missing
    if lq["status"] != "ok":
        return "failed", f"input: {lq.get('error')}"
    if out is None:
        return missing
    return out["status"], out.get("error")


def timing_row(sample: Any, point: Any, lq: dict | None, out: dict | None) -> dict[str, Any]:
    """One row of timings.parquet."""
    cell = sample.cell
    return {
        "dataset": cell.dataset,
        "chain": cell.chain,
        "severity": cell.severity,
        "seed": cell.seed,
        "restorer": point.label,
        "image_id": sample.image_id,
        "time_degrade_s": lq.get("time", float("nan")) if lq else float("nan"),
        "time_restore_s": out.get("time", float("nan")) if out else float("nan"),
    }


def set_row(cell: Any, point: Any, metric: str, entry: dict[str, Any]) -> dict[str, Any]:
    """One row of sets.parquet."""
    return {
        "dataset": cell.dataset,
        "dataset_kind": cell.dataset_kind,
        "chain": cell.chain,
        "severity": cell.severity,
        "seed": cell.seed,
        "restorer": point.label,
        "metric": metric,
        "value": float("nan") if entry.get("value") is None else entry["value"],
        "n": int(entry.get("n", 0)),
        "reference": entry.get("reference", ""),
        "config": _json(entry.get("config", {})),
        "extra": _json(entry.get("extra", {})),
        "status": entry["status"],
        "error": entry.get("error"),
    }


@dataclass(frozen=True)
class FailureCount:
    """What a run is missing, counted one way for the terminal, ``manifest.json`` and the report.

    Attributes:
        rows: Rows of ``records.parquet`` that are not ``ok`` (no output), by status.
        values: Per-image metric values missing from ``ok`` rows, by metric (the row's
            ``metric_errors`` says why). A value a metric does not apply to (PSNR on an unpaired
            set) is not missing.
        set_values: Values of ``sets.parquet`` that are missing, by metric.
        skipped: Files the datasets left out (listed in the manifest).
    """

    rows: dict[str, int]
    values: dict[str, int]
    set_values: dict[str, int]
    skipped: int

    @property
    def total(self) -> int:
        """Failed rows plus missing values: the run's exit status is 1 when this is not 0."""
        return sum(self.rows.values()) + sum(self.values.values()) + sum(self.set_values.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "count": self.total,
            "rows": sum(self.rows.values()),
            "rows_by_status": self.rows,
            "values": self.values,
            "set_values": self.set_values,
            "skipped_files": self.skipped,
        }

    def lines(self) -> list[str]:
        """One line per kind of failure, for people."""
        lines = []
        if self.rows:
            detail = ", ".join(f"{n} {status}" for status, n in sorted(self.rows.items()))
            lines.append(f"{sum(self.rows.values())} rows have no output ({detail})")
        for what, counts in (("per-image", self.values), ("set", self.set_values)):
            if counts:
                detail = ", ".join(f"{metric} {n}" for metric, n in sorted(counts.items()))
                lines.append(f"{sum(counts.values())} {what} metric values are missing ({detail})")
        if self.skipped:
            lines.append(
                f"{self.skipped} files or faces of the datasets were left out (each with its "
                "reason in manifest.json and run.log)"
            )
        return lines


def count_failures(
    rows: list[dict[str, Any]], set_rows: list[dict[str, Any]], skipped: int
) -> FailureCount:
    """The :class:`FailureCount` of a run's records and set rows (as dicts, from the runner or
    from the parquet files: the same numbers either way)."""
    by_status: dict[str, int] = {}
    values: dict[str, int] = {}
    for row in rows:
        if row["status"] != "ok":
            by_status[row["status"]] = by_status.get(row["status"], 0) + 1
            continue
        for metric in json.loads(row["metric_errors"] or "{}"):
            value = row.get(metric)
            if value is None or value != value:  # an error beside a value is a note on it
                values[metric] = values.get(metric, 0) + 1
    set_values: dict[str, int] = {}
    for row in set_rows:
        value = row["value"]
        if row["status"] != "ok" or value is None or value != value:  # NaN
            set_values[row["metric"]] = set_values.get(row["metric"], 0) + 1
    return FailureCount(by_status, values, set_values, skipped)
