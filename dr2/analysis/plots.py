"""Figures of the invariance experiment, in the reports' style (:mod:`reports.figures`).

- ``closed_form``: the signal ratio r(t) of every degradation against the respaced step, one
  panel per band, with the threshold;
- ``set_distances``: the probe's held-out accuracy (clean against each degradation; chance 0.5)
  and MMD against t, one column per band;
- ``embedding``: PCA of the features of clean and degraded faces, one row per band, one column
  per step: the degradation types drift together as t grows (the title gives the between-type
  share of the variance, 0 when merged).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dr2.analysis.embedding import pca_2d, separation
from reports.figures import new_figure, restorer_styles, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dr2.analysis.invariance import InvarianceResult

EMBEDDING_COLUMNS = 5
RATIO_FLOOR = 1e-4


def _power_of_ten(value: float, _position: int) -> str:
    """Log-axis tick text without mathtext (the report style turns mathtext off)."""
    return f"1e{round(np.log10(value))}" if value > 0 else "0"


def band_name(n: int) -> str:
    """``full band`` or ``Phi_N, N = n``."""
    return "full band" if n == 1 else f"low-pass Φ_N, N = {n}"


@styled
def closed_form_figure(result: InvarianceResult) -> Figure:
    """Signal ratio against t, per degradation, one panel per band (log scale)."""
    from matplotlib.ticker import FuncFormatter

    bands = result.config.bands
    figure = new_figure(2.3 * len(bands) + 1.3, 2.4)
    axes = figure.subplots(1, len(bands), squeeze=False, sharey=True).ravel()
    labels = [spec.label for spec in result.degradations]
    styles = restorer_styles(labels)
    table = result.closed_form
    for ax, n in zip(axes, bands, strict=True):
        for label in labels:
            curve = table[(table["degradation"] == label) & (table["N"] == n)]
            style = {"color": styles[label]["color"], "linestyle": styles[label]["linestyle"]}
            ax.plot(curve["t"], curve["ratio_mean"].clip(lower=1e-6), label=label, **style)
        ax.axhline(result.config.threshold, color="0.3", linewidth=0.8, linestyle=":")
        ax.set_yscale("log")
        ax.set_ylim(bottom=RATIO_FLOOR)
        ax.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
        ax.set_title(band_name(n))
        ax.set_xlabel("respaced step t")
    axes[0].set_ylabel("signal ratio r(t)  (threshold dotted)")
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", frameon=False)
    return figure


@styled
def set_distance_figure(result: InvarianceResult) -> Figure:
    """Probe accuracy (top) and MMD (bottom) against t, one column per band."""
    bands = result.config.bands
    figure = new_figure(2.3 * len(bands) + 1.3, 4.2)
    axes = figure.subplots(2, len(bands), squeeze=False, sharex=True)
    labels = [spec.label for spec in result.degradations]
    styles = restorer_styles(labels)
    table = result.set_distances
    for column, n in enumerate(bands):
        top, bottom = axes[0, column], axes[1, column]
        for label in labels:
            rows = table[(table["degradation"] == label) & (table["N"] == n)].sort_values("t")
            style = styles[label]
            kwargs = {"color": style["color"], "marker": style["marker"], "label": label}
            top.plot(rows["t"], rows["probe_accuracy"], **kwargs)
            bottom.plot(rows["t"], rows["mmd"], **kwargs)
        top.axhline(0.5, color="0.3", linewidth=0.8, linestyle=":")
        top.set_ylim(0.0, 1.02)
        top.set_title(band_name(n))
        bottom.axhline(0.0, color="0.3", linewidth=0.8, linestyle=":")
        bottom.set_xlabel("respaced step t")
    axes[0, 0].set_ylabel("probe accuracy, held-out faces\n(clean vs degraded; chance dotted)")
    axes[1, 0].set_ylabel("MMD² (cubic kernel)")
    figure.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside right upper", frameon=False)
    return figure


def embedding_steps(steps: tuple[int, ...], columns: int = EMBEDDING_COLUMNS) -> list[int]:
    """Up to ``columns`` of the measured steps, evenly spread, first and last included.

    Example:
        >>> embedding_steps((0, 10, 20, 30, 40, 60, 80), 4)
        [0, 20, 40, 80]
    """
    ordered = sorted(steps)
    if len(ordered) <= columns:
        return ordered
    picks = np.linspace(0, len(ordered) - 1, columns).round().astype(int)
    return [ordered[i] for i in picks]


@styled
def embedding_figure(result: InvarianceResult) -> Figure:
    """PCA scatter of clean and degraded faces per band (rows) and step (columns)."""
    bands = result.config.bands
    steps = embedding_steps(result.config.steps)
    figure = new_figure(1.7 * len(steps) + 1.3, 1.7 * len(bands) + 0.3)
    axes = figure.subplots(len(bands), len(steps), squeeze=False)
    names = ["clean", *(spec.label for spec in result.degradations)]
    styles = restorer_styles(names)
    for row, n in enumerate(bands):
        for column, t in enumerate(steps):
            ax = axes[row, column]
            features, labels = result.embedding[(n, t)]
            points = pca_2d(features)
            for group, name in enumerate(names):
                x, y = points[labels == group].T
                style = {"color": styles[name]["color"], "marker": styles[name]["marker"]}
                ax.scatter(x, y, s=5, label=name, linewidths=0, **style)
            ax.set_title(f"t = {t}, between {separation(points, labels):.2f}", fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
            if column == 0:
                ax.set_ylabel(band_name(n), fontsize=7)
    handles, labels_ = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels_, loc="outside right upper", frameon=False, markerscale=2)
    return figure
