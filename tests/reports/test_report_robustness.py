"""Severity curves, area under them, relative robustness, worst case, and the DR2 trade-off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reports.robustness import (
    area_under_curves,
    mean_relative,
    normalized_area,
    relative_robustness,
    severity_curves,
    worst_case,
)
from reports.tradeoff import pareto_front, tradeoff_points


@pytest.fixture(scope="module")
def auc(summary):
    return area_under_curves(summary)


def means(summary, dataset, chain, restorer, metric) -> pd.Series:
    part = summary[
        (summary["dataset"] == dataset)
        & (summary["chain"] == chain)
        & (summary["restorer"] == restorer)
        & (summary["metric"] == metric)
    ]
    return part.set_index("severity")["mean"].sort_index()


def test_normalized_area_by_hand():
    # trapezoids: (1 + 2) / 2 + (2 + 6) / 2 = 5.5 over a range of 2
    assert normalized_area(np.array([1, 2, 3]), np.array([1.0, 2.0, 6.0])) == 2.75
    assert normalized_area(np.array([1, 3]), np.array([4.0, 4.0])) == 4.0
    assert normalized_area(np.array([2]), np.array([7.0])) == 7.0


def test_curves_leave_out_cells_off_the_ladder(summary):
    curves = severity_curves(summary)
    assert set(curves["dataset"]) == {"celeba-test"}
    assert set(curves["severity"]) == {1, 2, 3, 4, 5}


def test_area_equals_a_direct_trapezoid(summary, auc):
    curve = means(summary, "celeba-test", "blur", "gfpgan", "lpips")
    expected = np.trapezoid(curve.to_numpy(), curve.index.to_numpy()) / 4
    row = auc.query("chain == 'blur' and restorer == 'gfpgan' and metric == 'lpips'").iloc[0]
    assert row["auc"] == pytest.approx(expected)
    assert row["severities"] == 5


def test_relative_robustness_by_hand(run, summary):
    relative = relative_robustness(summary, run, "identity")
    baseline = relative[relative["restorer"] == "identity"]
    np.testing.assert_allclose(baseline["relative"], 1.0)
    lpips = relative.query("chain == 'classic' and restorer == 'gfpgan' and metric == 'lpips'")
    ours = means(summary, "celeba-test", "classic", "gfpgan", "lpips").sum()
    theirs = means(summary, "celeba-test", "classic", "identity", "lpips").sum()
    assert lpips["relative"].item() == pytest.approx(ours / theirs)  # lower is better: ours/theirs
    psnr = relative.query("chain == 'classic' and restorer == 'gfpgan' and metric == 'psnr'")
    ours = means(summary, "celeba-test", "classic", "gfpgan", "psnr").sum()
    theirs = means(summary, "celeba-test", "classic", "identity", "psnr").sum()
    assert psnr["relative"].item() == pytest.approx(theirs / ours)  # higher is better: inverted
    assert psnr["relative"].item() < 1 and lpips["relative"].item() < 1  # gfpgan beats identity
    averaged = mean_relative(relative).query("restorer == 'gfpgan' and metric == 'psnr'")
    per_chain = relative.query("restorer == 'gfpgan' and metric == 'psnr'")["relative"]
    assert averaged["mean_relative"].item() == pytest.approx(per_chain.mean())


def test_worst_case_is_the_worst_chain(run, auc):
    worst = worst_case(auc, run)
    for metric, pick in (("psnr", "idxmin"), ("lpips", "idxmax")):
        part = auc[(auc["restorer"] == "codeformer.w05") & (auc["metric"] == metric)]
        expected = part.loc[getattr(part["auc"], pick)()]
        row = worst[(worst["restorer"] == "codeformer.w05") & (worst["metric"] == metric)].iloc[0]
        assert (row["worst_chain"], row["worst_auc"]) == (expected["chain"], expected["auc"])


def test_pareto_front_by_hand():
    x = np.array([1.0, 2.0, 3.0, 2.0, 3.0])
    y = np.array([3.0, 1.0, 2.0, 1.0, 2.0])
    # higher is better on both: (1,3) and the two copies of (3,2) are undominated
    assert pareto_front(x, y, True, True).tolist() == [True, False, True, False, True]
    # lower x is better: (1,3) has the lowest x and the highest y, so it dominates every point
    assert pareto_front(x, y, False, True).tolist() == [True, False, False, False, False]


def test_tradeoff_points_mark_the_grid_front(run, summary):
    points, fidelity, quality = tradeoff_points(summary, run)
    assert (fidelity, quality) == ("psnr", "fid")
    assert set(points.loc[points["grid"], "restorer"]) == {
        "dr2[N=4,tau=20]",
        "dr2[N=4,tau=35]",
        "dr2[N=8,tau=20]",
        "dr2[N=8,tau=35]",
    }
    assert not points.loc[~points["grid"], "pareto"].any()
    indexed = summary.set_index(["dataset", "chain", "severity", "restorer", "metric"])["mean"]
    for _, cell in points[points["grid"]].groupby(["dataset", "chain", "severity"]):
        for row in cell.itertuples():
            key = (row.dataset, row.chain, row.severity, row.restorer)
            assert row.fidelity == indexed[(*key, "psnr")] and row.quality == indexed[(*key, "fid")]
            others = cell.drop(index=row.Index)
            dominated = (
                (others["fidelity"] >= row.fidelity)
                & (others["quality"] <= row.quality)
                & ((others["fidelity"] > row.fidelity) | (others["quality"] < row.quality))
            ).any()
            assert row.pareto == (not dominated)
    params = points.loc[points["restorer"] == "dr2[N=8,tau=20]", ["N", "tau"]].iloc[0]
    assert tuple(params) == (8, 20)
