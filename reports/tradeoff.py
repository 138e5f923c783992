"""The DR2 trade-off: fidelity against quality over the grid of N and tau, with its Pareto front.

The grid is every restorer whose parameters (in the manifest) include both ``N`` and ``tau``.
Fidelity is PSNR, else identity similarity (an ``ids`` metric); quality is FID, else NIQE: the
first the cell has. A grid point is on the Pareto front when no other grid point is at least as
good on both axes and better on one (by the metrics' directions). Other restorers are drawn for
context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reports.figures import new_figure, restorer_styles, styled
from reports.results import CELL, Results
from reports.tables import family, metric_heading

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FIDELITY = ("psnr", "ids")
QUALITY = ("fid", "niqe")
GRID = ("N", "tau")
POINT_COLUMNS = (*CELL, "restorer", "grid", "N", "tau", "fidelity", "quality", "pareto")


def pareto_front(x: np.ndarray, y: np.ndarray, x_higher: bool, y_higher: bool) -> np.ndarray:
    """Mask of the points that no other point dominates.

    Example:
        >>> pareto_front(np.array([1.0, 2, 3]), np.array([3.0, 1, 2]), True, True).tolist()
        [True, False, True]
    """
    x = np.asarray(x, dtype=np.float64) * (1 if x_higher else -1)
    y = np.asarray(y, dtype=np.float64) * (1 if y_higher else -1)
    at_least = (x[None, :] >= x[:, None]) & (y[None, :] >= y[:, None])
    better = (x[None, :] > x[:, None]) | (y[None, :] > y[:, None])
    # numpy types ndarray.any(axis=...) as "array or scalar"; on these 2-D masks it is an array
    return np.asarray(~(at_least & better).any(axis=1))


def tradeoff_points(summary: pd.DataFrame, run: Results) -> tuple[pd.DataFrame, str, str]:
    """Fidelity and quality of every restorer in each cell with a grid; and the two metrics.

    Returns an empty frame when the run has no N x tau grid or lacks the metrics.
    """
    import pandas as pd

    grid = {label for label in run.restorers if set(GRID) <= set(run.restorer_params(label))}
    present = set(summary["metric"])
    fidelity = next((n for f in FIDELITY for n in sorted(present) if family(n) == f), "")
    quality = next((n for f in QUALITY for n in sorted(present) if family(n) == f), "")
    if not grid or not fidelity or not quality:
        return pd.DataFrame(columns=list(POINT_COLUMNS)), fidelity, quality
    means = summary.pivot_table(
        index=[*CELL, "restorer"], columns="metric", values="mean", aggfunc="first"
    )
    points = means[[fidelity, quality]].dropna().reset_index()
    points = points.rename(columns={fidelity: "fidelity", quality: "quality"})
    points["grid"] = points["restorer"].isin(grid)
    points = points[points.groupby(list(CELL))["grid"].transform("any")]
    params = points["restorer"].map(run.restorer_params)
    points["N"] = params.map(lambda p: p.get("N"))
    points["tau"] = params.map(lambda p: p.get("tau"))
    points["pareto"] = False
    higher = (run.metrics[fidelity].higher_is_better, run.metrics[quality].higher_is_better)
    for _, cell in points[points["grid"]].groupby(list(CELL)):
        front = pareto_front(cell["fidelity"].to_numpy(), cell["quality"].to_numpy(), *higher)
        points.loc[cell.index[front], "pareto"] = True
    return points[list(POINT_COLUMNS)].reset_index(drop=True), fidelity, quality


@styled
def tradeoff_figure(points: pd.DataFrame, run: Results, fidelity: str, quality: str) -> Figure:
    """One panel per severity of one (dataset, chain): quality (x) against fidelity (y)."""
    severities = sorted(set(points["severity"]))
    figure = new_figure(2.5 * len(severities) + 1.4, 2.4)
    axes = figure.subplots(1, len(severities), squeeze=False).ravel()
    styles = restorer_styles(run.restorers)
    for ax, severity in zip(axes, severities, strict=True):
        _draw_panel(ax, points[points["severity"] == severity], styles)
        ax.set_title(f"severity {severity}")
        ax.set_xlabel(metric_heading(run, quality))
    axes[0].set_ylabel(metric_heading(run, fidelity))
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right upper", frameon=False)
    return figure


def _draw_panel(ax: Axes, cell: pd.DataFrame, styles: dict) -> None:
    grid = cell[cell["grid"]]
    front = grid[grid["pareto"]].sort_values("quality")
    ax.plot(front["quality"], front["fidelity"], color="0.5", linewidth=1, label="Pareto front")
    ax.scatter(
        grid["quality"],
        grid["fidelity"],
        c=grid["tau"].astype(float),
        cmap="cividis",
        s=np.where(grid["pareto"], 30, 14),
        edgecolors=np.where(grid["pareto"], "black", "0.6").tolist(),
        linewidths=0.8,
        zorder=3,
        label="DR2 grid (colour: tau)",
    )
    for row in grid.itertuples(index=False):
        ax.annotate(
            f"N={row.N:g}, τ={row.tau:g}",
            (row.quality, row.fidelity),
            fontsize=5,
            xytext=(3, 3),
            textcoords="offset points",
        )
    for row in cell[~cell["grid"]].itertuples(index=False):
        style = styles[row.restorer]
        ax.scatter(
            [row.quality],
            [row.fidelity],
            color=style["color"],
            marker=style["marker"],
            s=18,
            label=row.restorer,
        )
