"""Draw and save every figure of a report: robustness, trade-off and qualitative grids."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reports.contents import Report
from reports.figures import SavedFigure, save_figure
from reports.qualitative import (
    GridSpec,
    by_percentile,
    grid_figure,
    lowest_scoring,
    missing_inputs,
    selection_metric,
)
from reports.results import Results
from reports.robustness import severity_curves
from reports.robustness_plots import heatmap_figure, severity_figure
from reports.tables import cell_title, headline_severity, metric_label, slug
from reports.tradeoff import tradeoff_figure

PERCENTILES = (10, 50, 90)
LOWEST = 3


@dataclass(frozen=True)
class FigureSet:
    """Saved figures by report section, and notes on what was left out."""

    robustness: list[SavedFigure]
    tradeoff: list[SavedFigure]
    qualitative: list[SavedFigure]
    notes: list[str]

    def all(self) -> list[SavedFigure]:
        return [*self.robustness, *self.tradeoff, *self.qualitative]


def draw_figures(report: Report, folder: Path, vector: tuple[str, ...] = ()) -> FigureSet:
    """Every figure of ``report`` under ``folder`` as PNG, and in each ``vector`` format."""
    notes: list[str] = []
    return FigureSet(
        robustness=robustness_figures(report, folder, vector),
        tradeoff=tradeoff_figures(report, folder, vector),
        qualitative=qualitative_figures(report.run, folder, notes, vector),
        notes=notes,
    )


def robustness_figures(
    report: Report, folder: Path, vector: tuple[str, ...] = ()
) -> list[SavedFigure]:
    """Metric against severity per (dataset, metric), and a heatmap per dataset."""
    curves = severity_curves(report.summary)
    run = report.run
    saved = []
    for (dataset, metric), part in curves.groupby(["dataset", "metric"], sort=False):
        bands = (
            "means over seeds; a set metric has no interval"
            if run.metrics[metric].kind == "set"
            else "bands: 95% bootstrap intervals over images"
        )
        title = f"{metric_label(metric)} against severity on {dataset} ({bands})"
        figure = severity_figure(part, run, metric)
        stem = slug(f"severity-{dataset}-{metric}")
        saved.append(save_figure(figure, folder, stem, title, vector))
    if report.baseline:
        values, column = report.relative, "relative"
        lower = dict.fromkeys(run.metrics, True)
        what = f"relative robustness (baseline {report.baseline} = 1.0, lower is better)"
    else:
        values, column = report.auc, "auc"
        lower = {name: not info.higher_is_better for name, info in run.metrics.items()}
        what = "area under the severity curve"
    for dataset, part in values.dropna(subset=[column]).groupby("dataset", sort=False):
        title = f"Restorer x degradation on {dataset}: {what}; brighter is better"
        figure = heatmap_figure(part, run, column, lower)
        saved.append(save_figure(figure, folder, slug(f"heatmap-{dataset}"), title, vector))
    return saved


def tradeoff_figures(
    report: Report, folder: Path, vector: tuple[str, ...] = ()
) -> list[SavedFigure]:
    """The DR2 trade-off per (dataset, chain) with an N x tau grid."""
    saved = []
    for (dataset, chain), part in report.tradeoff.groupby(["dataset", "chain"], sort=False):
        where = dataset if chain == "none" else f"{dataset}, {chain}"
        title = (
            f"DR2 trade-off on {where}: {metric_label(report.fidelity)} against "
            f"{metric_label(report.quality)} over N and tau, Pareto front in grey"
        )
        figure = tradeoff_figure(part, report.run, report.fidelity, report.quality)
        stem = slug(f"tradeoff-{dataset}-{chain}")
        saved.append(save_figure(figure, folder, stem, title, vector))
    return saved


def qualitative_figures(
    run: Results, folder: Path, notes: list[str], vector: tuple[str, ...] = ()
) -> list[SavedFigure]:
    """Per (dataset, chain) at its headline severity: samples by percentile, and the
    lowest-scoring samples; a note in ``notes`` for each grid left out for want of images."""
    if not (run.folder / "images").is_dir():
        notes.append("No qualitative grids: the run kept no images (run with --keep-images).")
        return []
    saved = []
    records = run.ok_records()
    for (dataset, kind, chain), part in records.groupby(
        ["dataset", "dataset_kind", "chain"], sort=False
    ):
        severity = headline_severity(set(part["severity"]))
        cell = part[part["severity"] == severity]
        metric = selection_metric(cell, run)
        if metric is None:
            continue
        higher = run.metrics[metric].higher_is_better
        where = cell_title(dataset, chain, severity)
        label = metric_label(metric)
        choices = {
            "percentiles": (
                by_percentile(cell, metric, higher, PERCENTILES),
                f"{where}: samples at the {', '.join(map(str, PERCENTILES))}th percentiles "
                f"of {label} (mean over the restorers), worst first",
            ),
            "lowest": (
                lowest_scoring(cell, metric, higher, LOWEST),
                f"{where}: the {LOWEST} lowest-scoring samples by {label} "
                "(the worst value of any restorer)",
            ),
        }
        restorers = tuple(label for label in run.restorers if label in set(cell["restorer"]))
        for name, (samples, title) in choices.items():
            spec = GridSpec(
                dataset, chain, int(severity), tuple(samples), restorers, kind != "real"
            )
            missing = missing_inputs(run, spec)
            if missing:
                notes.append(f"No qualitative grid for {where}: {missing[0]} is missing.")
                break
            figure = grid_figure(run, spec)
            stem = slug(f"qualitative-{dataset}-{chain}-{severity}-{name}")
            saved.append(save_figure(figure, folder, stem, title, vector))
    return saved
