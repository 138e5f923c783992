"""Everything a report shows, computed from a run: summary, tables, comparisons, robustness.

:func:`analyse` is the one place that decides what goes into a report; the renderers
(:mod:`reports.markdown`, :mod:`reports.latex`, :mod:`reports.html`) only format it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from reports.pairwise import compare_restorers, wins_ties_losses
from reports.protocol_score import protocol_scores
from reports.results import ReportError, Results
from reports.robustness import (
    area_under_curves,
    mean_relative,
    relative_robustness,
    worst_case,
)
from reports.stats import RESAMPLES, SEED
from reports.summary import summarize
from reports.tables import (
    RATIO_DECIMALS,
    Column,
    Table,
    build_table,
    cell_tables,
    metric_label,
    paper_table,
    slug,
)
from reports.tradeoff import tradeoff_points

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_BASELINE = "identity"


@dataclass(frozen=True)
class Report:
    """The numbers of a report.

    Attributes:
        run: The run.
        summary: :func:`reports.summary.summarize`.
        paper: The paper-layout table (``None`` without the metrics it needs).
        protocol_score: The protocol's weighted score and identity check per restorer
            (:mod:`reports.protocol_score`), ``None`` when its protocol has none.
        tables: One result table per cell.
        comparisons: :func:`reports.pairwise.compare_restorers`.
        wins: :func:`reports.pairwise.wins_ties_losses`.
        auc: Area under the severity curves.
        auc_tables: Per dataset, restorers x (chain, metric) of ``auc``.
        relative: Relative robustness per chain (empty without a baseline).
        robustness_tables: Per dataset, restorers x metrics of the mCE-style score.
        worst: Worst chain per (dataset, restorer, metric).
        tradeoff: Fidelity and quality of the N x tau grid (empty without one).
        fidelity: The fidelity metric of the trade-off.
        quality: The quality metric of the trade-off.
        baseline: Baseline of the relative robustness, ``None`` when there is none.
        notes: What was left out, and why.
    """

    run: Results
    summary: pd.DataFrame
    paper: Table | None
    protocol_score: pd.DataFrame | None
    tables: list[Table]
    comparisons: pd.DataFrame
    wins: pd.DataFrame
    auc: pd.DataFrame
    auc_tables: list[Table]
    relative: pd.DataFrame
    robustness_tables: list[Table]
    worst: pd.DataFrame
    tradeoff: pd.DataFrame
    fidelity: str
    quality: str
    baseline: str | None
    notes: list[str] = field(default_factory=list)


def analyse(
    run: Results, *, baseline: str | None = None, resamples: int = RESAMPLES, seed: int = SEED
) -> Report:
    """Compute every number of the report.

    Args:
        run: The loaded run.
        baseline: Restorer of the relative robustness and the first row of every table (default:
            the run config's ``baseline``, else ``identity`` when the run has it).
        resamples: Bootstrap resamples.
        seed: Bootstrap seed.

    Raises:
        ReportError: ``baseline`` is not a restorer of the run.
    """
    import pandas as pd

    notes: list[str] = []
    baseline = _baseline(run, baseline, notes)
    run = replace(run, baseline=baseline)  # the baseline's row comes first
    summary = summarize(run, resamples=resamples, seed=seed)
    comparisons = compare_restorers(run, resamples=resamples, seed=seed)
    auc = area_under_curves(summary)
    relative = (
        relative_robustness(summary, run, baseline)
        if baseline
        else pd.DataFrame(columns=["dataset", "chain", "restorer", "metric", "relative"])
    )
    tradeoff, fidelity, quality = tradeoff_points(summary, run)
    if tradeoff.empty:
        notes.append(
            "No trade-off figure: the run has no restorer grid over N and tau "
            "with a fidelity (PSNR, IDS) and a quality (FID, NIQE) metric."
        )
    return Report(
        run=run,
        summary=summary,
        paper=paper_table(summary, run),
        protocol_score=protocol_scores(run),
        tables=cell_tables(summary, run),
        comparisons=comparisons,
        wins=wins_ties_losses(comparisons, run.restorers),
        auc=auc,
        auc_tables=_auc_tables(auc, run),
        relative=relative,
        robustness_tables=_robustness_tables(relative, run, baseline),
        worst=worst_case(auc, run),
        tradeoff=tradeoff,
        fidelity=fidelity,
        quality=quality,
        baseline=baseline,
        notes=notes,
    )


def _baseline(run: Results, baseline: str | None, notes: list[str]) -> str | None:
    from bench.registry import suggest

    baseline = baseline or run.manifest.get("config", {}).get("baseline")
    if baseline is None:
        if DEFAULT_BASELINE in run.restorers:
            return DEFAULT_BASELINE
        notes.append(
            f"No relative robustness: no --baseline given, no 'baseline' in the run config and "
            f"no '{DEFAULT_BASELINE}' restorer."
        )
        return None
    if baseline not in run.restorers:
        raise ReportError(
            f"{run.folder}: baseline '{baseline}' is not a restorer of the run"
            f"{suggest(baseline, run.restorers)} (restorers: {', '.join(run.restorers)})"
        )
    return baseline


def _auc_tables(auc: pd.DataFrame, run: Results) -> list[Table]:
    tables = []
    for dataset, part in auc.groupby("dataset", sort=False):
        part = part.rename(columns={"auc": "mean"}).assign(group=part["chain"])
        columns = [
            Column(metric, run.metrics[metric].higher_is_better, chain)
            for chain in dict.fromkeys(part["chain"])
            for metric in run.metrics
            if ((part["chain"] == chain) & (part["metric"] == metric)).any()
        ]
        tables.append(
            build_table(
                part,
                run,
                columns,
                key=slug(f"auc-{dataset}"),
                title=f"Area under the severity curve on {dataset}",
                note="trapezoidal area over severities divided by their range (the curve's "
                "average level, in the metric's units); best in bold, second underlined",
                with_intervals=False,
            )
        )
    return tables


def _robustness_tables(relative: pd.DataFrame, run: Results, baseline: str | None) -> list[Table]:
    tables = []
    for dataset, part in mean_relative(relative).groupby("dataset", sort=False):
        part = part.rename(columns={"mean_relative": "mean"})
        metrics = [name for name in run.metrics if name in set(part["metric"])]
        tables.append(
            build_table(
                part,
                run,
                # relative errors are lower-is-better whatever the metric: the header says so
                [
                    Column(name, False, title=f"{metric_label(name)} rel.", decimals=RATIO_DECIMALS)
                    for name in metrics
                ],
                key=slug(f"relative-{dataset}"),
                title=f"Relative robustness on {dataset} (baseline {run.display(str(baseline))} "
                "= 1.0)",
                note="mCE-style, lower is better: per chain, the restorer's summed metric over "
                "severities divided by the baseline's (the inverse for higher-is-better "
                "metrics), averaged over chains",
                with_intervals=False,
            )
        )
    return tables
