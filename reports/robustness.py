"""Robustness to degradation severity, from the summary table.

Definitions (for one dataset, chain, restorer and metric, over the severities ``s >= 1`` it has):

- **Area under the severity curve** (``auc``): the trapezoidal integral of the mean against the
  severity, divided by the severity range, so it is in the metric's units (the average level of
  the curve); with one severity it is that mean.
- **Relative robustness** (``relative``, mCE-style, baseline = 1.0, lower is better): for a
  lower-is-better metric, ``sum_s mean(restorer) / sum_s mean(baseline)``; for a higher-is-better
  metric, ``sum_s mean(baseline) / sum_s mean(restorer)``; over the severities both have, NaN
  when a sum is not positive. ``mean_relative`` averages it over chains, as mCE does.
- **Worst case**: the chain with the worst ``auc`` (by the metric's direction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reports.results import Results

if TYPE_CHECKING:
    import pandas as pd

CURVE = ("dataset", "chain", "restorer", "metric")
OVER_CHAINS = ("dataset", "restorer", "metric")  # a value over a dataset's chains


def severity_curves(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary rows on a severity ladder (severity >= 1, a real chain)."""
    return summary[(summary["severity"] >= 1) & (summary["chain"] != "none")]


def area_under_curves(summary: pd.DataFrame) -> pd.DataFrame:
    """``auc`` per (dataset, chain, restorer, metric), with the number of severities behind it.

    Example:
        >>> area_under_curves(summarize(run)).query("metric == 'psnr'")  # doctest: +SKIP
    """
    import pandas as pd

    rows = []
    for key, curve in severity_curves(summary).groupby(list(CURVE), sort=False):
        curve = curve.sort_values("severity")
        area = normalized_area(curve["severity"].to_numpy(), curve["mean"].to_numpy())
        rows.append({**dict(zip(CURVE, key, strict=True)), "severities": len(curve), "auc": area})
    return pd.DataFrame(rows, columns=[*CURVE, "severities", "auc"])


def normalized_area(severities: np.ndarray, means: np.ndarray) -> float:
    """Trapezoidal area under ``means`` over ``severities``, divided by the severity range.

    Example:
        >>> normalized_area(np.array([1, 2, 3]), np.array([1.0, 2.0, 6.0]))
        2.75
    """
    severities = np.asarray(severities, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    if severities.size == 1:
        return float(means[0])
    span = severities[-1] - severities[0]
    return float(np.trapezoid(means, severities) / span)


def relative_robustness(summary: pd.DataFrame, run: Results, baseline: str) -> pd.DataFrame:
    """``relative`` per (dataset, chain, restorer, metric) against ``baseline`` (see module doc)."""
    import pandas as pd

    curves = severity_curves(summary)
    point = ["dataset", "chain", "metric", "severity"]
    base = curves.loc[curves["restorer"] == baseline, [*point, "mean"]]
    paired = curves.merge(base, on=point, how="left", suffixes=("", "_base"))
    rows = []
    for key, curve in paired.groupby(list(CURVE), sort=False):
        means, reference = curve["mean"].to_numpy(), curve["mean_base"].to_numpy()
        both = np.isfinite(reference) & np.isfinite(means)
        if not both.any():
            continue
        ours, theirs = means[both].sum(), reference[both].sum()
        higher = run.metrics[key[3]].higher_is_better
        numerator, denominator = (theirs, ours) if higher else (ours, theirs)
        value = numerator / denominator if numerator > 0 and denominator > 0 else np.nan
        rows.append({**dict(zip(CURVE, key, strict=True)), "relative": float(value)})
    return pd.DataFrame(rows, columns=[*CURVE, "relative"])


def mean_relative(relative: pd.DataFrame) -> pd.DataFrame:
    """``relative`` averaged over chains: the mCE-style score per (dataset, restorer, metric)."""
    means = relative.groupby(list(OVER_CHAINS), sort=False)["relative"].mean()
    return means.rename("mean_relative").reset_index()


def worst_case(auc: pd.DataFrame, run: Results) -> pd.DataFrame:
    """The worst chain per (dataset, restorer, metric), by ``auc``, with its value."""
    import pandas as pd

    rows = []
    for key, part in auc.dropna(subset=["auc"]).groupby(list(OVER_CHAINS), sort=False):
        higher = run.metrics[key[2]].higher_is_better
        worst = part.loc[part["auc"].idxmin() if higher else part["auc"].idxmax()]
        where = dict(zip(OVER_CHAINS, key, strict=True))
        rows.append({**where, "worst_chain": worst["chain"], "worst_auc": float(worst["auc"])})
    return pd.DataFrame(rows, columns=[*OVER_CHAINS, "worst_chain", "worst_auc"])
