"""A protocol's weighted score and identity check: computed, or its missing terms named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.protocols import load_protocol
from reports.protocol_score import protocol_scores
from reports.results import RECORD_COLUMNS, SET_COLUMNS, Results

TEST_SETS = {"celeba": 0.5, "lfw": 0.6, "celebchild": 0.6, "webphoto": 0.3, "wider": 0.3}


def ntire_run(values: dict[str, dict[str, float]], fid: float | None, errors=None) -> Results:
    """Records of one restorer over two images per test set, with the given per-image values."""
    ids = [f"{name}/{i}.png" for name in TEST_SETS for i in range(2)]
    rows = []
    for image_id in ids:
        row = dict.fromkeys(RECORD_COLUMNS, "")
        row |= {"dataset": "real", "chain": "none", "severity": 0, "seed": 0, "image_id": image_id}
        row |= {"restorer": "r", "status": "ok", "metric_errors": json.dumps(errors or {})}
        row |= {metric: by_id[image_id] for metric, by_id in values.items()}
        rows.append(row)
    cell = {"dataset": "real", "chain": "none", "severity": 0, "seed": 0, "restorer": "r"}
    sets = pd.DataFrame(
        [
            dict.fromkeys(SET_COLUMNS, "")
            | cell
            | {
                "metric": "fid",
                "status": "ok" if fid is not None else "unavailable",
                "value": np.nan if fid is None else fid,
                "error": None if fid is not None else "missing weights inception_FFHQ_512.pth",
            }
        ]
    )
    protocol = load_protocol("ntire2025")
    metrics = {m["name"]: {"higher_is_better": True, "kind": "paired"} for m in protocol.metrics}
    metrics["fid"] |= {"kind": "set"}
    manifest = {"protocol": protocol.describe(), "metrics": metrics, "restorers": {"r": {}}}
    return Results(Path("run"), pd.DataFrame(rows), sets, manifest)


def per_image(by_set: dict[str, tuple[float, float]]) -> dict[str, float]:
    return {f"{name}/{i}.png": by_set[name][i] for name in TEST_SETS for i in range(2)}


def values_of(run: Results, metric: str) -> dict[str, float]:
    return dict(zip(run.records["image_id"], run.records[metric], strict=True))


def test_weighted_score_and_identity_check_equal_the_challenges_arithmetic():
    rng = np.random.default_rng(0)
    metrics = ["pyiqa.niqe", "pyiqa.clipiqa", "pyiqa.maniqa", "pyiqa.musiq", "pyiqa.qalign"]
    values = {m: per_image({s: tuple(rng.uniform(0.2, 8, 2)) for s in TEST_SETS}) for m in metrics}
    values["ids_input.adaface"] = per_image(
        {"celeba": (0.4, 0.9), "lfw": (0.7, 0.59), "celebchild": (0.8, 0.8),
         "webphoto": (0.1, 0.5), "wider": (0.35, 0.2)}
    )  # fmt: skip
    row = protocol_scores(ntire_run(values, fid=42.0)).iloc[0]
    counts = {"celeba": 100, "lfw": 100, "celebchild": 50, "webphoto": 100, "wider": 100}

    def overall(metric):  # eval.py: the per-test-set means weighted by the challenge's counts
        means = {s: np.mean([values[metric][f"{s}/{i}.png"] for i in range(2)]) for s in counts}
        return sum(means[s] * counts[s] for s in counts) / sum(counts.values())

    expected = {
        "fid": max(0, (100 - 42.0) / 100),
        "pyiqa.niqe": max(0, (10 - overall("pyiqa.niqe")) / 10),
        "pyiqa.clipiqa": overall("pyiqa.clipiqa"),
        "pyiqa.maniqa": overall("pyiqa.maniqa"),
        "pyiqa.musiq": overall("pyiqa.musiq") / 100,
        "pyiqa.qalign": overall("pyiqa.qalign") / 5,
    }
    for metric, value in expected.items():
        assert row[metric] == pytest.approx(value, rel=1e-12), metric
    assert row["total"] == pytest.approx(sum(expected.values()), rel=1e-12)
    assert row["missing"] == ""
    assert row["low_identity"] == "4/10"  # celeba 0.4, lfw 0.59, wider 0.2, webphoto 0.1


def test_missing_terms_are_named_and_no_total_is_invented():
    values = {"pyiqa.niqe": per_image({s: (4.0, 5.0) for s in TEST_SETS})}
    for metric in ("pyiqa.clipiqa", "pyiqa.maniqa", "pyiqa.musiq", "pyiqa.qalign"):
        values[metric] = dict.fromkeys(values["pyiqa.niqe"], float("nan"))
    errors = {"pyiqa.qalign": "missing weights of qalign: get ... and put it at ..."}
    row = protocol_scores(ntire_run(values, fid=None, errors=errors)).iloc[0]
    assert row["total"] is None or np.isnan(row["total"])
    assert row["pyiqa.niqe"] == pytest.approx(0.55)
    assert "fid: missing weights inception_FFHQ_512.pth" in row["missing"]
    assert "pyiqa.qalign: missing weights of qalign" in row["missing"]
    assert "pyiqa.clipiqa" in row["missing"] and "pyiqa.niqe" not in row["missing"]


def test_a_run_without_a_scored_protocol_has_no_score_table(run):
    assert protocol_scores(run) is None
