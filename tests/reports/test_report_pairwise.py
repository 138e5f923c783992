"""Paired comparisons: differences, paired bootstrap, Wilcoxon p-values, Holm, wins/ties/losses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon

from reports.pairwise import compare_restorers, pairs_needed, wins_ties_losses
from reports.stats import bootstrap_means, holm, percentile_interval


@pytest.fixture(scope="module")
def comparisons(run):
    return compare_restorers(run)


def pairs(run_dir, cell: tuple[str, str, int], metric: str, first: str, second: str):
    """Values of two restorers on the same (seed, image_id), straight from the parquet file."""
    records = pd.read_parquet(run_dir / "records.parquet")
    dataset, chain, severity = cell
    part = records[
        (records["dataset"] == dataset)
        & (records["chain"] == chain)
        & (records["severity"] == severity)
        & (records["status"] == "ok")
    ]
    a = part[part["restorer"] == first].set_index(["seed", "image_id"])[metric]
    b = part[part["restorer"] == second].set_index(["seed", "image_id"])[metric]
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    return joined["a"].to_numpy(), joined["b"].to_numpy()


@pytest.mark.parametrize(
    "cell, metric, first, second",
    [
        (("celeba-test", "classic", 5), "psnr", "identity", "gfpgan"),  # gfpgan has a failed row
        (("celeba-test", "classic", 5), "lpips", "codeformer.w05", "dr2[N=8,tau=35]"),
        (("celeba-test", "blur", 2), "ids.sface", "dr2[N=4,tau=20]", "dr2[N=4,tau=35]"),
        (("wider", "none", 0), "niqe", "gfpgan", "dr2[N=8,tau=35]"),  # failed row
    ],
)
def test_comparison_matches_a_direct_computation(run_dir, comparisons, cell, metric, first, second):
    a, b = pairs(run_dir, cell, metric, first, second)
    row = comparisons[
        (comparisons["dataset"] == cell[0])
        & (comparisons["chain"] == cell[1])
        & (comparisons["severity"] == cell[2])
        & (comparisons["metric"] == metric)
        & (comparisons["first"] == first)
        & (comparisons["second"] == second)
    ].iloc[0]
    assert row["n"] == len(a)
    assert row["mean_difference"] == pytest.approx(np.mean(a - b), rel=1e-12)
    assert row["p_value"] == pytest.approx(wilcoxon(a, b).pvalue, rel=1e-12)
    low, high = percentile_interval(bootstrap_means(a - b, seed=0))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-9, abs=1e-12)


def test_holm_is_applied_per_cell_and_metric(comparisons):
    for _, family in comparisons.groupby(["dataset", "chain", "severity", "metric"]):
        np.testing.assert_allclose(family["p_holm"], holm(family["p_value"].to_numpy()))
    assert (comparisons["p_holm"] >= comparisons["p_value"]).all()


def test_outcomes_follow_significance_and_direction(run, comparisons):
    significant = comparisons["p_holm"] < 0.05
    higher = comparisons["metric"].map(lambda name: run.metrics[name].higher_is_better)
    favours_first = (comparisons["mean_difference"] > 0) == higher
    too_few = comparisons["outcome"] == "too few"
    assert (comparisons.loc[~significant & ~too_few, "outcome"] == "tie").all()
    assert not (significant & too_few).any()
    assert (comparisons.loc[significant & favours_first, "outcome"] == "win").all()
    assert (comparisons.loc[significant & ~favours_first, "outcome"] == "loss").all()
    # The simulated offsets make the identity baseline clearly worse than gfpgan on PSNR.
    versus = comparisons.query("first == 'identity' and second == 'gfpgan' and metric == 'psnr'")
    assert (versus["outcome"] == "loss").all() and len(versus) == 10


def test_wins_ties_losses_matrix_is_consistent(run, comparisons):
    matrix = wins_ties_losses(comparisons, run.restorers)
    per_pair = comparisons.groupby(["first", "second"]).size()
    for (first, second), total in per_pair.items():
        wins, ties, losses = map(int, matrix.loc[first, second].split("/"))
        back = tuple(map(int, matrix.loc[second, first].split("/")))
        counted = total - ((comparisons["first"] == first) & (comparisons["second"] == second)
                           & (comparisons["outcome"] == "too few")).sum()  # fmt: skip
        assert wins + ties + losses == counted
        assert back == (losses, ties, wins)
        subset = comparisons[(comparisons["first"] == first) & (comparisons["second"] == second)]
        assert wins == (subset["outcome"] == "win").sum()
    assert all(matrix.loc[label, label] == "" for label in run.restorers)


def test_no_pairs_without_values(comparisons):
    wider = comparisons[comparisons["dataset"] == "wider"]
    assert set(wider["metric"]) == {"niqe"}


def test_too_few_images_to_be_significant_is_said_not_called_a_tie(run):
    """Before: with 3 images every comparison was a 'tie', even where one restorer lost on all."""
    from dataclasses import replace

    few = run.records[run.records["image_id"].isin(sorted(set(run.records["image_id"]))[:3])]
    small = compare_restorers(replace(run, records=few))
    assert len(small) and (small["outcome"] == "too few").all()
    assert wins_ties_losses(small, run.restorers).loc[run.restorers[0], run.restorers[1]] == "0/0/0"
    assert (pairs_needed(1), pairs_needed(3), pairs_needed(6)) == (6, 7, 8)
