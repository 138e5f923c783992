"""Assembling ``records.parquet``, ``sets.parquet`` and ``timings.parquet`` from the journal.

The tables are pure functions of the plan and the journal, sorted by their key columns and
written atomically, so a rerun or another executor writes the same bytes.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from bench.files import atomic_write_bytes

KEY_COLUMNS = ["dataset", "chain", "severity", "seed", "restorer", "image_id"]
SET_KEY_COLUMNS = ["dataset", "chain", "severity", "seed", "restorer", "metric"]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def record_row(
    sample: Any, run: Any, lq: dict | None, out: dict | None, scores: dict[str, dict | None]
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
        "restorer": run.label,
        "restorer_name": run.name,
        "restorer_version": run.version,
        "restorer_params": _json(run.params),
        "status": status,
        "error": error,
    }
    errors = {}
    for metric, entry in scores.items():
        row[metric] = float("nan") if entry is None or entry["value"] is None else entry["value"]
        if entry is not None and entry.get("error"):
            errors[metric] = entry["error"]
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


def timing_row(sample: Any, run: Any, lq: dict | None, out: dict | None) -> dict[str, Any]:
    """One row of timings.parquet."""
    cell = sample.cell
    return {
        "dataset": cell.dataset,
        "chain": cell.chain,
        "severity": cell.severity,
        "seed": cell.seed,
        "restorer": run.label,
        "image_id": sample.image_id,
        "time_degrade_s": lq.get("time", float("nan")) if lq else float("nan"),
        "time_restore_s": out.get("time", float("nan")) if out else float("nan"),
    }


def set_row(cell: Any, run: Any, metric: str, entry: dict[str, Any]) -> dict[str, Any]:
    """One row of sets.parquet."""
    return {
        "dataset": cell.dataset,
        "dataset_kind": cell.dataset_kind,
        "chain": cell.chain,
        "severity": cell.severity,
        "seed": cell.seed,
        "restorer": run.label,
        "metric": metric,
        "value": float("nan") if entry.get("value") is None else entry["value"],
        "n": int(entry.get("n", 0)),
        "reference": entry.get("reference", ""),
        "config": _json(entry.get("config", {})),
        "extra": _json(entry.get("extra", {})),
        "status": entry["status"],
        "error": entry.get("error"),
    }


def write_table(
    path: Path, rows: list[dict[str, Any]], keys: list[str], columns: list[str] | None = None
) -> None:
    """Write rows as a parquet file, sorted by ``keys``, atomically."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=columns)
    if len(frame):
        frame = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow", compression="zstd")
    atomic_write_bytes(path, buffer.getvalue())
