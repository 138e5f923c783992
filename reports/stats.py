"""Statistics: percentile bootstrap confidence intervals, the Wilcoxon test and Holm's correction.

Every bootstrap draws its resampling indices from ``numpy.random.default_rng(seed)``, so the same
seed and the same number of values give the same indices: an interval is reproducible on its own,
whatever else the report computes, and intervals of equal-sized samples share their resamples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 0
# what "±" means wherever dr2bench prints one (report tables, `dr2bench score`)
PLUS_MINUS = (
    f"± is half the width of the {CONFIDENCE:.0%} percentile bootstrap interval of the mean "
    f"({RESAMPLES} resamples, with replacement, of the per-image values)"
)
_BLOCK_ELEMENTS = 1 << 22  # values gathered per block of resamples, to bound memory


@dataclass(frozen=True)
class Interval:
    """A mean and its bootstrap confidence interval.

    Attributes:
        mean: The sample mean.
        low: Lower end of the percentile interval.
        high: Upper end of the percentile interval.
        n: Number of values behind the mean.
    """

    mean: float
    low: float
    high: float
    n: int


def bootstrap_means(
    values: np.ndarray, *, resamples: int = RESAMPLES, seed: int = SEED
) -> np.ndarray:
    """Means of ``resamples`` resamples (with replacement) of the rows of ``values``.

    Args:
        values: ``(n,)`` or ``(n, k)`` finite values; rows are resampled together, so the columns
            of a ``(n, k)`` array share their resamples (a paired bootstrap).
        resamples: Number of resamples.
        seed: Seed of the index generator.

    Returns:
        ``(resamples,)`` or ``(resamples, k)`` means.

    Example:
        >>> bootstrap_means(np.array([1.0, 2.0, 3.0]), resamples=4, seed=0).shape
        (4,)
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[0]
    if n == 0:
        raise ValueError("cannot bootstrap an empty sample")
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_ELEMENTS // values.size)
    means = []
    for start in range(0, resamples, block):
        indices = rng.integers(0, n, size=(min(block, resamples - start), n))
        means.append(values[indices].mean(axis=1))
    return np.concatenate(means, axis=0)


def percentile_interval(
    means: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of bootstrap means
    (per column for ``(resamples, k)`` means)."""
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail], axis=0)
    return low, high


def bootstrap_ci(
    values: np.ndarray,
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> Interval:
    """Mean of ``values`` with a percentile bootstrap interval (NaN values are dropped).

    Example:
        >>> ci = bootstrap_ci(np.arange(10.0), seed=0)
        >>> ci.low < ci.mean == 4.5 < ci.high
        True
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return Interval(mean=float("nan"), low=float("nan"), high=float("nan"), n=0)
    low, high = percentile_interval(
        bootstrap_means(values, resamples=resamples, seed=seed), confidence
    )
    return Interval(mean=float(values.mean()), low=float(low), high=float(high), n=int(values.size))


def wilcoxon_p(first: np.ndarray, second: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired samples (scipy's defaults).

    Zero differences are dropped (``zero_method='wilcox'``); when every difference is zero there
    is no evidence of a difference and the p-value is 1. Fewer than one pair gives NaN.

    Example:
        >>> round(wilcoxon_p(np.array([1.0, 2, 3, 4]), np.array([0.0, 0, 0, 0])), 3)
        0.125
    """
    from scipy.stats import wilcoxon

    differences = np.asarray(first, dtype=np.float64) - np.asarray(second, dtype=np.float64)
    if differences.size == 0:
        return float("nan")
    if not np.any(differences):
        return 1.0
    return float(wilcoxon(differences).pvalue)


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (NaN values are left out of it).

    With the m finite p-values sorted, ``p(1) <= ... <= p(m)``, the adjusted value of ``p(i)`` is
    ``max_{j <= i} min(1, (m - j + 1) * p(j))``; rejecting where it is below alpha controls the
    family-wise error rate at alpha.

    Example:
        >>> holm(np.array([0.01, 0.04, 0.03])).round(2).tolist()
        [0.03, 0.06, 0.06]
    """
    pvalues = np.asarray(pvalues, dtype=np.float64)
    adjusted = np.full_like(pvalues, np.nan)
    finite = np.flatnonzero(np.isfinite(pvalues))
    order = finite[np.argsort(pvalues[finite], kind="stable")]
    m = order.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * pvalues[order])
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted
