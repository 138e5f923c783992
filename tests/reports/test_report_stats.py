"""Bootstrap intervals, the Wilcoxon test and Holm's correction."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import wilcoxon

from reports import stats
from reports.stats import bootstrap_ci, bootstrap_means, holm, percentile_interval, wilcoxon_p


def test_bootstrap_means_are_means_of_seeded_resamples(rng):
    values = rng.normal(size=37)
    indices = np.random.default_rng(5).integers(0, 37, size=(300, 37))
    expected = values[indices].mean(axis=1)
    np.testing.assert_allclose(bootstrap_means(values, resamples=300, seed=5), expected)


def test_bootstrap_blocks_do_not_change_the_result(rng, monkeypatch):
    values = rng.normal(size=(50, 3))
    whole = bootstrap_means(values, resamples=400, seed=1)
    monkeypatch.setattr(stats, "_BLOCK_ELEMENTS", 7 * 150)  # 7 resamples per block
    np.testing.assert_array_equal(bootstrap_means(values, resamples=400, seed=1), whole)
    assert whole.shape == (400, 3)


def test_bootstrap_ci_is_reproducible_with_the_seed(rng):
    values = rng.exponential(size=80)
    first, again = bootstrap_ci(values, seed=3), bootstrap_ci(values, seed=3)
    other = bootstrap_ci(values, seed=4)
    assert first == again
    assert (first.low, first.high) != (other.low, other.high)
    assert first.mean == pytest.approx(values.mean())
    assert first.low < first.mean < first.high


def test_bootstrap_ci_is_the_percentile_interval(rng):
    values = rng.normal(size=25)
    means = bootstrap_means(values, resamples=2000, seed=0)
    ci = bootstrap_ci(values, resamples=2000, seed=0, confidence=0.9)
    assert [ci.low, ci.high] == pytest.approx(np.quantile(means, [0.05, 0.95]), rel=1e-12)
    low, high = percentile_interval(means, 0.9)
    assert (ci.low, ci.high) == (low, high)


def test_bootstrap_ci_drops_nan_and_handles_empty():
    ci = bootstrap_ci(np.array([1.0, np.nan, 3.0]))
    assert ci.n == 2 and ci.mean == 2.0
    empty = bootstrap_ci(np.array([np.nan]))
    assert empty.n == 0 and np.isnan(empty.mean) and np.isnan(empty.low)


def test_bootstrap_ci_covers_the_true_mean_about_95_percent():
    truth, trials = 3.0, 600
    rng = np.random.default_rng(2024)
    covered = 0
    for trial in range(trials):
        sample = rng.normal(truth, 2.0, size=150)
        ci = bootstrap_ci(sample, resamples=1000, seed=trial)
        covered += ci.low <= truth <= ci.high
    # The binomial standard error of the rate is ~0.009: this band is about 3 of them.
    assert 0.92 <= covered / trials <= 0.98


@pytest.mark.parametrize("n", [5, 12, 40, 80])
def test_wilcoxon_matches_scipy(rng, n):
    first = rng.normal(size=n)
    second = first + rng.normal(0.3, 1.0, size=n)
    second[:2] = first[:2]  # zero differences are dropped by both
    expected = wilcoxon(first, second).pvalue
    assert wilcoxon_p(first, second) == pytest.approx(expected, rel=1e-12)


def test_wilcoxon_degenerate_cases():
    assert wilcoxon_p(np.ones(4), np.ones(4)) == 1.0
    assert np.isnan(wilcoxon_p(np.array([]), np.array([])))


def test_holm_matches_a_hand_computation():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06
    adjusted = holm(np.array([0.01, 0.04, 0.03, 0.005]))
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])


def test_holm_leaves_nan_out_of_the_family_and_caps_at_one():
    np.testing.assert_allclose(holm(np.array([np.nan, 0.02, 0.5])), [np.nan, 0.04, 0.5])
    np.testing.assert_allclose(holm(np.array([0.6, 0.7])), [1.0, 1.0])
    assert holm(np.array([])).size == 0


def test_a_published_mean_that_leaves_values_out(run):
    """VQFR's Deg.: the mean over pairs of at least 1 degree; the others counted, not hidden."""
    import dataclasses

    from reports.summary import summarize
    from reports.tables import cell_tables

    records = run.records.copy()
    first = records.index[(records["restorer"] == "identity") & (records["status"] == "ok")][:3]
    records.loc[first, "deg.vqfr"] = 0.5
    manifest = json.loads(json.dumps(run.manifest))
    manifest["metrics"]["deg.vqfr"]["config"] = {"mean_leaves_out_below": 1.0}
    changed = dataclasses.replace(run, records=records, manifest=manifest)
    summary = summarize(changed, resamples=20)
    rows = summary[(summary["metric"] == "deg.vqfr") & (summary["restorer"] == "identity")]
    assert rows["left_out"].sum() == 3
    for row in rows.itertuples():
        group = records[
            (records["dataset"] == row.dataset)
            & (records["chain"] == row.chain)
            & (records["severity"] == row.severity)
            & (records["restorer"] == "identity")
            & (records["status"] == "ok")
        ]["deg.vqfr"].dropna()
        assert row.mean == pytest.approx(group[group >= 1].mean())
        assert row.mean_all == pytest.approx(group.mean())
    notes = " ".join(table.note for table in cell_tables(summary, changed))
    assert "Deg.: mean over values of at least 1, as published" in notes
