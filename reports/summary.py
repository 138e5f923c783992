"""The summary table: one row per cell x restorer x metric with the mean and its bootstrap interval.

A cell is a ``(dataset, chain, severity)``. For a per-image metric the values are the ``ok`` rows
of ``records.parquet`` in the cell (one per image and seed; NaN values dropped), and the interval
is a percentile bootstrap over those rows. For a set metric the value is the mean over seeds of
the ``ok`` rows of ``sets.parquet``; it has no interval, ``n`` counts the seeds and ``images`` the
images in each set (the fewest over seeds; empty for per-image metrics).

A metric whose published mean leaves some values out (VQFR's Deg. leaves out pairs under 1 degree:
``MetricInfo.leaves_out_below``) is summarised the published way; ``left_out`` counts the values
left out and ``mean_all`` is the mean over all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reports.results import CELL, Results
from reports.stats import CONFIDENCE, RESAMPLES, SEED, bootstrap_ci

if TYPE_CHECKING:
    import pandas as pd

GROUP = ("dataset", "dataset_kind", "chain", "severity", "restorer")
SUMMARY_COLUMNS = (
    *GROUP,
    "metric",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "left_out",
    "mean_all",
    "images",
)


def summarize(
    run: Results, *, resamples: int = RESAMPLES, confidence: float = CONFIDENCE, seed: int = SEED
) -> pd.DataFrame:
    """Means and intervals of every metric in every cell, for every restorer.

    Example:
        >>> table = summarize(load_results("runs/demo"))  # doctest: +SKIP
        >>> table.query("metric == 'psnr'")[["restorer", "mean", "ci_low"]]  # doctest: +SKIP
    """
    import pandas as pd

    rows = _image_rows(run, resamples, confidence, seed) + _set_rows(run)
    frame = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    return _sort_rows(frame, run)


def _sort_rows(frame: pd.DataFrame, run: Results) -> pd.DataFrame:
    """Sort by cell, then restorers and metrics in the run's order."""
    order = {
        "restorer": {label: i for i, label in enumerate(run.restorers)},
        "metric": {name: i for i, name in enumerate(run.metrics)},
    }
    return frame.sort_values(
        [*CELL, "restorer", "metric"],
        key=lambda column: column.map(order[column.name]) if column.name in order else column,
        kind="stable",
        ignore_index=True,
    )


def _image_rows(run: Results, resamples: int, confidence: float, seed: int) -> list[dict]:
    rows = []
    for values, group in run.ok_records().groupby(list(GROUP), sort=True):
        cell = dict(zip(GROUP, values, strict=True))
        for metric in run.image_metrics:
            values = group[metric].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            below = run.metrics[metric].leaves_out_below
            kept = values if below is None else values[values >= below]
            interval = bootstrap_ci(kept, resamples=resamples, confidence=confidence, seed=seed)
            if interval.n:
                rows.append(
                    {
                        **cell,
                        "metric": metric,
                        "n": interval.n,
                        "mean": interval.mean,
                        "ci_low": interval.low,
                        "ci_high": interval.high,
                        "left_out": len(values) - len(kept),
                        "mean_all": float(values.mean()),
                        "images": float("nan"),
                    }
                )
    return rows


def _set_rows(run: Results) -> list[dict]:
    sets = run.sets[run.sets["status"] == "ok"].dropna(subset=["value"])
    if sets.empty:
        return []
    grouped = sets.groupby([*GROUP, "metric"], sort=True)
    means = grouped["value"].agg(["mean", "size"]).join(grouped["n"].min().rename("images"))
    return [
        {
            **dict(zip((*GROUP, "metric"), key, strict=True)),
            "n": int(row["size"]),
            "mean": float(row["mean"]),
            "ci_low": float("nan"),
            "ci_high": float("nan"),
            "left_out": 0,
            "mean_all": float(row["mean"]),
            "images": float(row["images"]),
        }
        for key, row in means.iterrows()
    ]
