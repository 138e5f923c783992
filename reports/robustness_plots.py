"""Robustness figures: metric against severity with interval bands; restorer x chain heatmaps."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from reports.figures import HEATMAP, new_figure, restorer_styles, styled
from reports.results import Results
from reports.tables import decimals, metric_heading, metric_label

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PANEL_WIDTH = 2.4
PANEL_HEIGHT = 2.0
HEATMAPS_PER_ROW = 5


@styled
def severity_figure(curves: pd.DataFrame, run: Results, metric: str) -> Figure:
    """One panel per chain: the metric's mean against severity, one line per restorer, with the
    95% interval as a band (set metrics have no band).

    Args:
        curves: Severity-curve rows of one dataset and metric (see
            :func:`reports.robustness.severity_curves`).
        run: The run (restorer order and metric direction).
        metric: The metric.
    """
    chains = list(dict.fromkeys(curves["chain"]))
    columns = min(3, len(chains))
    rows = math.ceil(len(chains) / columns)
    figure = new_figure(PANEL_WIDTH * columns + 1.4, PANEL_HEIGHT * rows)
    axes = figure.subplots(rows, columns, squeeze=False, sharey=True).ravel()
    styles = restorer_styles(run.restorers)
    for ax, chain in zip(axes, chains, strict=False):
        part = curves[curves["chain"] == chain]
        for label in run.restorers:
            line = part[part["restorer"] == label].sort_values("severity")
            if not line.empty:
                _draw_curve(ax, line, label, styles[label])
        ax.set_title(chain)
        ax.set_xlabel("severity")
        ax.set_xticks(sorted(set(part["severity"])))
    for ax in axes[len(chains) :]:
        ax.set_visible(False)
    axes[0].set_ylabel(metric_heading(run, metric))
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right upper", frameon=False)
    return figure


def _draw_curve(ax: Axes, line: pd.DataFrame, label: str, style: dict) -> None:
    severity = line["severity"].to_numpy()
    ax.plot(severity, line["mean"].to_numpy(), label=label, **style)
    low, high = line["ci_low"].to_numpy(), line["ci_high"].to_numpy()
    if np.isfinite(low).any():
        ax.fill_between(severity, low, high, color=style["color"], alpha=0.15, linewidth=0)


@styled
def heatmap_figure(
    values: pd.DataFrame, run: Results, column: str, lower_is_better: dict[str, bool]
) -> Figure:
    """One panel per metric: restorers x chains coloured by ``column``, brighter is better.

    Args:
        values: Rows of one dataset with ``restorer``, ``chain``, ``metric`` and ``column``.
        run: The run (restorer order).
        column: The value to show (``auc`` or ``relative``).
        lower_is_better: Per metric, whether a lower value of ``column`` is better.
    """
    metrics = [name for name in run.metrics if name in set(values["metric"])]
    chains = list(dict.fromkeys(values["chain"]))
    restorers = [label for label in run.restorers if label in set(values["restorer"])]
    columns = min(HEATMAPS_PER_ROW, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    figure = new_figure(
        (0.55 * len(chains) + 0.6) * columns + 1.4, (0.28 * len(restorers) + 1.0) * rows
    )
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    places = 2 if column == "relative" else None
    for i, (ax, metric) in enumerate(zip(axes, metrics, strict=False)):
        grid = (
            values[values["metric"] == metric]
            .pivot(index="restorer", columns="chain", values=column)
            .reindex(index=restorers, columns=chains)
        )
        _draw_heatmap(ax, grid.to_numpy(dtype=float), lower_is_better[metric], places)
        ax.set_title(metric_label(metric))
        ax.set_xticks(range(len(chains)), chains, rotation=45, ha="right")
        ax.set_yticks(range(len(restorers)), restorers if i % columns == 0 else [])
        ax.grid(False)
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    return figure


def _draw_heatmap(ax: Axes, grid: np.ndarray, lower_is_better: bool, places: int | None) -> None:
    finite = grid[np.isfinite(grid)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    span = high - low or 1.0
    cmap = f"{HEATMAP}_r" if lower_is_better else HEATMAP
    ax.imshow(grid, cmap=cmap, vmin=low, vmax=low + span, aspect="auto")
    places = decimals(list(finite)) if places is None else places
    for (row, col), value in np.ndenumerate(grid):
        if not np.isfinite(value):
            continue
        brightness = (value - low) / span
        bright = brightness < 0.5 if lower_is_better else brightness >= 0.5
        color = "black" if bright else "white"
        ax.text(col, row, f"{value:.{places}f}", ha="center", va="center", fontsize=6, color=color)
