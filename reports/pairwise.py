"""Paired comparisons of restorers on the same images, and the wins / ties / losses matrix.

For every cell, per-image metric and pair of restorers (``first`` before ``second`` in the run's
order), the pairs are the images (and seeds) where both have an ``ok`` value. The difference is
``first - second``: its mean, a paired percentile bootstrap interval (the pairs resampled), and a
two-sided Wilcoxon signed-rank p-value. Within each (cell, metric), the p-values of all pairs form
one family, adjusted with Holm's method. ``first`` wins when the adjusted p-value is below alpha
and the mean difference favours it (by the metric's direction), loses when it favours ``second``;
otherwise it is a tie. With ``n`` pairs the exact two-sided test cannot give less than
``2 / 2**n``, and Holm multiplies the smallest p-value of a family of ``m`` by ``m``: when
``m * 2 / 2**n`` is not below alpha no result can be significant, and the outcome is
``too few`` (not a tie, which would claim the restorers are alike); see :func:`pairs_needed`.
A metric that compares an output with its input is ``trivial`` for a restorer that returns its
input (:meth:`reports.results.Results.trivial`): it would win every such comparison by
construction, so those are not outcomes either.
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

from reports.results import CELL, SAMPLE, Results
from reports.stats import (
    CONFIDENCE,
    RESAMPLES,
    SEED,
    bootstrap_means,
    holm,
    percentile_interval,
    wilcoxon_p,
)

if TYPE_CHECKING:
    import pandas as pd

ALPHA = 0.05
PAIRWISE_COLUMNS = (
    *CELL,
    "metric",
    "first",
    "second",
    "n",
    "mean_difference",
    "ci_low",
    "ci_high",
    "p_value",
    "p_holm",
    "outcome",
)


def compare_restorers(
    run: Results,
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Every paired comparison of the run (see the module docstring for the definitions).

    Example:
        >>> table = compare_restorers(load_results("runs/demo"))  # doctest: +SKIP
        >>> table.query("metric == 'psnr' and p_holm < 0.05")  # doctest: +SKIP
    """
    import pandas as pd

    rows = []
    for cell, part in run.ok_records().groupby(list(CELL), sort=True):
        for metric in run.image_metrics:
            values = part.pivot(index=list(SAMPLE), columns="restorer", values=metric)
            values = values[[label for label in run.restorers if label in values.columns]]
            found = _compare_cell(values, resamples, confidence, seed)
            if not found:
                continue
            adjusted = holm(np.array([row["p_value"] for row in found]))
            higher = run.metrics[metric].higher_is_better
            needed = pairs_needed(len(found), alpha)
            for row, p_holm in zip(found, adjusted, strict=True):
                row.update(dict(zip(CELL, cell, strict=True)), metric=metric, p_holm=p_holm)
                row["outcome"] = (
                    "trivial"
                    if run.trivial(row["first"], metric) or run.trivial(row["second"], metric)
                    else "too few"
                    if row["n"] < needed
                    else _outcome(row["mean_difference"], p_holm, higher, alpha)
                )
                rows.append(row)
    return pd.DataFrame(rows, columns=list(PAIRWISE_COLUMNS))


def _compare_cell(table: pd.DataFrame, resamples: int, confidence: float, seed: int) -> list[dict]:
    """All pairs of columns of ``table`` (samples x restorers)."""
    values = table.to_numpy(dtype=np.float64)
    labels = list(table.columns)
    complete = np.isfinite(values).all(axis=0)
    shared = None
    if values.shape[0] and complete.sum() >= 2:
        # Columns without gaps share their pairs: resample them once, take differences of means.
        shared = bootstrap_means(values[:, complete], resamples=resamples, seed=seed)
        position = {int(index): k for k, index in enumerate(np.flatnonzero(complete))}
    rows = []
    for i, j in combinations(range(len(labels)), 2):
        both = np.isfinite(values[:, i]) & np.isfinite(values[:, j])
        if not both.any():
            continue
        first, second = values[both, i], values[both, j]
        if shared is not None and complete[i] and complete[j]:
            means = shared[:, position[i]] - shared[:, position[j]]
        else:
            means = bootstrap_means(first - second, resamples=resamples, seed=seed)
        low, high = percentile_interval(means, confidence)
        rows.append(
            {
                "first": labels[i],
                "second": labels[j],
                "n": int(both.sum()),
                "mean_difference": float(np.mean(first - second)),
                "ci_low": float(low),
                "ci_high": float(high),
                "p_value": wilcoxon_p(first, second),
            }
        )
    return rows


def pairs_needed(family: int, alpha: float = ALPHA) -> int:
    """The fewest pairs with which a family of ``family`` Holm-adjusted Wilcoxon tests can reach
    ``alpha`` (the exact two-sided test's smallest p-value is ``2 / 2**n``).

    Example:
        >>> pairs_needed(1), pairs_needed(6)
        (6, 8)
    """
    n = 1
    while family * 2.0 / 2.0**n >= alpha:
        n += 1
    return n


def _outcome(difference: float, p_holm: float, higher_is_better: bool, alpha: float) -> str:
    if not p_holm < alpha or difference == 0:
        return "tie"
    return "win" if (difference > 0) == higher_is_better else "loss"


def wins_ties_losses(comparisons: pd.DataFrame, restorers: list[str]) -> pd.DataFrame:
    """Matrix of ``"W/T/L"`` strings: row restorer against column restorer, over all comparisons.

    Each comparison counts once for each restorer, from its own side (a win of ``first`` is a
    loss of ``second``); one with ``too few`` pairs to be significant, or on a metric that is
    ``trivial`` for one of the two, is not counted. The diagonal is empty.

    Example:
        >>> wins_ties_losses(compare_restorers(run), run.restorers)  # doctest: +SKIP
    """
    import pandas as pd

    counts = {(a, b): [0, 0, 0] for a in restorers for b in restorers if a != b}
    flip = {"win": "loss", "loss": "win", "tie": "tie"}
    slot = {"win": 0, "tie": 1, "loss": 2}
    for row in comparisons.itertuples(index=False):
        if row.outcome not in slot:  # too few pairs or a trivial metric: no evidence
            continue
        counts[(row.first, row.second)][slot[row.outcome]] += 1
        counts[(row.second, row.first)][slot[flip[row.outcome]]] += 1
    matrix = pd.DataFrame("", index=restorers, columns=restorers)
    for (a, b), (wins, ties, losses) in counts.items():
        matrix.loc[a, b] = f"{wins}/{ties}/{losses}"
    return matrix
