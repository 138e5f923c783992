"""A protocol's single number (a challenge's weighted score) and identity check, per restorer.

For a run of a protocol with a ``score`` (``protocol: ntire2025``), each cell and restorer gets
the score's terms, from the overall value of each metric (a per-image metric: the test-set-weighted
mean of :func:`bench.protocols.overall_mean`; a set metric such as FID: its value over the cell),
and the total. When a term has no value (its weights are missing, it failed) the total is left
empty and the row says which terms are missing and why: no score is invented. With a ``gate``,
the row also counts the images under their test set's identity threshold.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bench.config import build
from bench.protocols import IdentityGate, WeightedScore, gate_counts, overall_mean, weighted_score
from reports.results import Results

if TYPE_CHECKING:
    import pandas as pd

KEYS = ("dataset", "chain", "severity", "seed", "restorer")


def protocol_scores(run: Results) -> pd.DataFrame | None:
    """One row per cell, seed and restorer; ``None`` when the run's protocol has no score."""
    import pandas as pd

    protocol = run.manifest.get("protocol") or {}
    if not protocol.get("score") and not protocol.get("gate"):
        return None
    score = build(WeightedScore, protocol["score"]) if protocol.get("score") else None
    gate = build(IdentityGate, protocol["gate"]) if protocol.get("gate") else None
    rows = []
    for key, part in run.records.groupby(list(KEYS), sort=False):
        cell = dict(zip(KEYS, key, strict=True))
        ok = part[part["status"] == "ok"]
        row: dict[str, Any] = dict(cell)
        if score is not None:
            overall, why = _overall_values(run, score, cell, ok)
            result = weighted_score(score, overall, why)
            row |= result.terms
            row["total"] = result.total
            row["missing"] = "; ".join(f"{m}: {reason}" for m, reason in result.missing.items())
        if gate is not None and gate.metric in ok:
            counts = gate_counts(gate, _values(ok, gate.metric))
            low, n = counts["All"]
            row["low_identity"] = f"{low}/{n}"
        rows.append(row)
    return pd.DataFrame(rows)


def _overall_values(
    run: Results, score: WeightedScore, cell: dict[str, Any], ok: pd.DataFrame
) -> tuple[dict[str, float | None], dict[str, str]]:
    overall: dict[str, float | None] = {}
    why: dict[str, str] = {}
    for term in score.terms:
        metric = term.metric
        info = run.metrics.get(metric) if metric in run.manifest.get("metrics", {}) else None
        if info is None:
            why[metric] = "not in this run"
        elif info.kind == "set":
            overall[metric], problem = _set_value(run, cell, metric)
            if problem:
                why[metric] = problem
        elif metric in ok:
            overall[metric], problem = overall_mean(score, _values(ok, metric))
            if problem:
                why[metric] = _first_error(ok, metric) or problem
    return overall, why


def _values(records: pd.DataFrame, metric: str) -> dict[str, float]:
    return dict(zip(records["image_id"], records[metric].astype(float), strict=True))


def _set_value(run: Results, cell: dict[str, Any], metric: str) -> tuple[float | None, str | None]:
    sets = run.sets
    wanted = sets["metric"] == metric
    for key in KEYS:
        wanted &= sets[key] == cell[key]
    match = sets[wanted]
    if match.empty:
        return None, "not computed"
    row = match.iloc[0]
    if row["status"] != "ok":
        return None, str(row["error"] or row["status"])
    return float(row["value"]), None


def _first_error(records: pd.DataFrame, metric: str) -> str | None:
    for text in records["metric_errors"]:
        error = json.loads(text or "{}").get(metric)
        if error:
            return str(error)
    return None
