"""Result tables as data: restorers as rows, metrics as columns, best in bold, second underlined.

The tables are built from the summary (:func:`reports.summary.summarize`) and rendered by
:mod:`reports.markdown`, :mod:`reports.latex` and :mod:`reports.html`; every number they show is
a summary value rounded for display.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from reports.results import Results
from reports.stats import PLUS_MINUS

if TYPE_CHECKING:
    import pandas as pd

LABELS = {
    "psnr": "PSNR",
    "ssim": "SSIM",
    "lpips": "LPIPS",
    "fid": "FID",
    "kid": "KID",
    "niqe": "NIQE",
    "deg": "ID angle",
    "lmd": "Landmark dist.",
    "ids": "IDS",
    "st_lpips": "ST-LPIPS",
}
# a paper's column title only over the metric of that paper's script (docs/metrics.md)
PROTOCOL_LABELS = {"deg.vqfr": "Deg.", "lmd.fan": "LMD"}
# the paper layout's metric families first, in the papers' order, then every other metric
PAPER_SYNTHETIC = ("psnr", "ssim", "lpips", "fid", "deg", "lmd")
PAPER_REAL = ("fid", "niqe")
# decimals per metric family, as the papers print them: the same in every table
DECIMALS = {
    "psnr": 2,
    "ssim": 4,
    "lpips": 4,
    "st_lpips": 4,
    "fid": 2,
    "kid": 4,
    "niqe": 3,
    "deg": 2,
    "lmd": 2,
    "ids": 4,
    "ids_input": 4,
}
RATIO_DECIMALS = 3  # relative robustness, a ratio around 1
# Fewest images for a usable FID: below its 2048 Inception features the covariance is
# rank-deficient and FID is biased upward (pytorch-fid's README; above it the bias still depends
# on N, Chong & Forsyth, CVPR 2020); metrics/fid.py warns under it (docs/metrics.md).
RELIABLE_IMAGES = {"fid": 2048}
MISSING = "–"


def slug(text: str) -> str:
    """``text`` reduced to letters, digits, ``_``, ``.`` and ``-`` (for file names and anchors)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def cell_key(dataset: str, chain: str, severity: object) -> str:
    """The anchor of a cell's results table (the drill-down pages link back to it)."""
    return slug(f"{dataset}-{chain}-{severity}")


def cell_title(dataset: str, chain: str, severity: object) -> str:
    """A cell as titles name it: the dataset, then its chain and severity when degraded."""
    return dataset if chain == "none" else f"{dataset}, {chain}, severity {severity}"


def metric_label(metric: str) -> str:
    """The conventional name of a metric: ``psnr`` -> ``PSNR``, ``ids.sface`` -> ``IDS (sface)``.

    A published column title (``Deg.``, ``LMD``) labels only the metric of that paper's script.
    """
    if metric in PROTOCOL_LABELS:
        return PROTOCOL_LABELS[metric]
    base, _, tag = metric.partition(".")
    label = LABELS.get(base, base)
    return f"{label} ({tag})" if tag else label


def family(metric: str) -> str:
    """The metric family of a name: ``deg.vqfr`` -> ``deg``."""
    return metric.partition(".")[0]


@dataclass(frozen=True)
class Column:
    """One metric column.

    Attributes:
        metric: Metric name.
        higher_is_better: Direction, shown as an arrow.
        group: Column group (a dataset in the paper layout), ``""`` for none.
        title: The header, when a protocol gives one (else :func:`metric_label`).
        decimals: Decimals shown, when not the metric's own (:func:`metric_decimals`).
    """

    metric: str
    higher_is_better: bool
    group: str = ""
    title: str = ""
    decimals: int | None = None

    @property
    def label(self) -> str:
        return self.title or metric_label(self.metric)

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"


def metric_heading(run: Results, metric: str) -> str:
    """A metric's label and direction, on figure axes and drill-down headers: ``PSNR ↑``."""
    return f"{metric_label(metric)} {Column(metric, run.metrics[metric].higher_is_better).arrow}"


@dataclass(frozen=True)
class Entry:
    """One number of a table.

    Attributes:
        mean: The value.
        half_width: Half the width of its confidence interval (NaN when it has none).
        text: The value as displayed.
        rank: 1 for the best of its column, 2 for the second, 0 otherwise.
    """

    mean: float
    half_width: float
    text: str
    rank: int


@dataclass(frozen=True)
class Table:
    """A rendered-agnostic table.

    Attributes:
        key: Short identifier, usable in file names and anchors.
        title: Caption.
        columns: Metric columns.
        rows: ``(restorer, entries)``; an entry is ``None`` where there is no value.
        note: What the numbers are (and what ``±`` means).
        titles: The rows' titles by restorer label (:meth:`row_title`).
    """

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, tuple[Entry | None, ...]], ...]
    note: str
    titles: dict[str, str] = field(default_factory=dict)

    def row_title(self, label: str) -> str:
        """What a restorer's row is called: its config's ``display``, else its label."""
        return self.titles.get(label, label)


def format_value(value: object) -> str:
    """A cell of a plain data table: floats to 4 significant digits, NaN and None as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def show_entry(
    entry: Entry | None, escape: Callable[[object], str], missing: str, best: str, second: str
) -> str:
    """An entry as a renderer shows it: ``missing`` where there is none, else its escaped text
    put into the format string ``best`` (rank 1) or ``second`` (rank 2), or alone."""
    if entry is None:
        return missing
    text = escape(entry.text)
    return (
        best.format(text) if entry.rank == 1 else second.format(text) if entry.rank == 2 else text
    )


def column_groups(table: Table) -> list[tuple[str, int]]:
    """Runs of adjacent columns with the same group: ``(group, span)``."""
    groups: list[tuple[str, int]] = []
    for column in table.columns:
        if groups and groups[-1][0] == column.group:
            groups[-1] = (column.group, groups[-1][1] + 1)
        else:
            groups.append((column.group, 1))
    return groups


def decimals(values: list[float]) -> int:
    """Decimals that show values of this magnitude with 3 to 4 significant digits."""
    finite = sorted(abs(value) for value in values if math.isfinite(value))
    if not finite:
        return 2
    typical = finite[len(finite) // 2]
    return 1 if typical >= 100 else 2 if typical >= 10 else 3 if typical >= 1 else 4


def metric_decimals(run: Results, metric: str) -> int:
    """The decimals of a metric in every table: its family's (:data:`DECIMALS`), else those of
    the magnitude of all its values in the run.

    Example:
        >>> metric_decimals(run, "fid_ffhq")  # a FID under its own label  # doctest: +SKIP
        2
    """
    places = DECIMALS.get(family(run.metrics[metric].plugin))
    if places is not None:
        return places
    if metric in run.records:
        return decimals(run.records[metric].tolist())
    return decimals(run.sets.loc[run.sets["metric"] == metric, "value"].tolist())


def ranks(rounded: list[float | None], higher_is_better: bool) -> list[int]:
    """1 for the best distinct value, 2 for the second, 0 for the rest (and for ``None``).

    Ties share a rank. A column with fewer than two values is not ranked.

    Example:
        >>> ranks([1.0, 3.0, 2.0, 3.0], higher_is_better=True)
        [0, 1, 2, 1]
    """
    distinct = sorted({value for value in rounded if value is not None}, reverse=higher_is_better)
    if sum(value is not None for value in rounded) < 2:
        return [0] * len(rounded)
    podium = {value: place + 1 for place, value in enumerate(distinct[:2])}
    return [podium.get(value, 0) if value is not None else 0 for value in rounded]


def entries(
    means: list[float | None],
    half_widths: list[float],
    higher_is_better: bool,
    places: int,
    unranked: list[bool],
) -> list[Entry | None]:
    """Format one column with ``places`` decimals and rank it (``None`` where a restorer has no
    value; ``unranked`` values are shown but not ranked)."""
    rounded = [round(value, places) if value is not None else None for value in means]
    ranked = [None if skip else value for value, skip in zip(rounded, unranked, strict=True)]
    column_ranks = ranks(ranked, higher_is_better)
    column: list[Entry | None] = []
    for value, half, rank in zip(rounded, half_widths, column_ranks, strict=True):
        if value is None:
            column.append(None)
            continue
        text = f"{value:.{places}f}"
        if math.isfinite(half):
            text += f" ± {half:.{places}f}"
        column.append(Entry(mean=value, half_width=half, text=text, rank=rank))
    return column


def build_table(
    summary: pd.DataFrame,
    run: Results,
    columns: list[Column],
    *,
    key: str,
    title: str,
    note: str,
    with_intervals: bool = True,
) -> Table:
    """A table of ``summary`` rows: ``columns`` select them by (group, metric).

    ``summary`` must hold one row per restorer and metric within each column group (its ``mean``,
    and ``ci_low`` and ``ci_high`` ``with_intervals``); the group of a row is its ``group``
    column when it has one. Rows follow ``run.restorers`` (the baseline first, then the config's
    order) under their display titles; a set metric's header gives its N (images per set). A
    value that is trivial for its restorer (:meth:`Results.trivial`) is not ranked. The note
    says what ``±`` means, and adds what a reader must know of a column.
    """
    lookup = {
        (getattr(row, "group", ""), row.restorer, row.metric): row
        for row in summary.itertuples(index=False)
    }
    restorers = [label for label in run.restorers if label in set(summary["restorer"])]
    cells: list[list[Entry | None]] = []
    notes = [note, PLUS_MINUS if with_intervals else "means, no interval"]
    shown = []
    for column in columns:
        found = [lookup.get((column.group, label, column.metric)) for label in restorers]
        means = [row.mean if row is not None else None for row in found]
        halves = [
            (row.ci_high - row.ci_low) / 2 if row is not None and with_intervals else math.nan
            for row in found
        ]
        places = (
            column.decimals if column.decimals is not None else metric_decimals(run, column.metric)
        )
        trivial = [run.trivial(label, column.metric) for label in restorers]
        cells.append(entries(means, halves, column.higher_is_better, places, trivial))
        notes += [text for text in column_notes(run, column, found, restorers) if text not in notes]
        images = set_images(found)
        if images:  # "N=6", or "N=5–6" when the sets differ
            low, high = min(images), max(images)
            span = f"{low}" if low == high else f"{low}–{high}"
            column = replace(column, title=f"{column.label} (N={span})")
        shown.append(column)
    rows = tuple((label, tuple(column[i] for column in cells)) for i, label in enumerate(restorers))
    return Table(
        key=key,
        title=title,
        columns=tuple(shown),
        rows=rows,
        note="; ".join(notes),
        titles={label: run.display(label) for label in restorers},
    )


def set_images(found: list[Any]) -> list[int]:
    """The images per set behind a column's set-metric values (summary rows' ``images``)."""
    return [int(row.images) for row in found if getattr(row, "images", 0) > 0]


def column_notes(run: Results, column: Column, found: list[Any], restorers: list[str]) -> list[str]:
    """What a reader must know to read one column: the published mean of a metric that leaves
    values out, the N of a set metric under its documented minimum, KID's subsets and sign, and
    values that are trivial for their restorer.

    ``found`` holds the column's summary rows (``None`` where missing), in the order of
    ``restorers``.
    """
    info = run.metrics[column.metric]
    rows = [row for row in found if row is not None]
    notes = []
    below = info.leaves_out_below
    if below is not None:
        left_out = sum(int(getattr(row, "left_out", 0)) for row in rows)
        notes.append(
            f"{column.label}: mean over values of at least {below:g}, as published ({left_out} "
            f"under {below:g} left out here; the mean over all is mean_all in csv/summary.csv)"
        )
    images = set_images(found)
    kind = family(info.plugin)
    minimum = RELIABLE_IMAGES.get(kind)
    if images and minimum is not None and min(images) < minimum:
        notes.append(
            f"{column.label}: N (images per set, in the header) is under the {minimum} it needs, "
            "so it is biased upward; FIDs are comparable only between equal N"
        )
    subset = info.config.get("subset_size")
    if kind == "kid" and images and isinstance(subset, int) and min(images) <= subset:
        notes.append(
            f"{column.label}: N is at most its subset size ({subset}), so every subset holds the "
            "whole set and the spread over subsets says nothing of its uncertainty (KID is "
            "unbiased at any N, but noisier at small N)"
        )
    if kind == "kid" and any(row.mean < 0 for row in rows):
        notes.append(
            f"{column.label}: KID is an unbiased estimate of MMD^2, so for near-identical sets "
            "it scatters around 0 and can be negative; read a negative value as 0"
        )
    trivial = [run.display(label) for label in restorers if run.trivial(label, column.metric)]
    if trivial and rows:
        notes.append(
            f"{column.label} compares an output with its input, which {', '.join(trivial)} "
            "returns: its value there is trivially perfect and not ranked"
        )
    return notes


def cell_tables(summary: pd.DataFrame, run: Results) -> list[Table]:
    """One table per (dataset, chain, severity): mean ± half-width of the 95% interval."""
    tables = []
    for (dataset, chain, severity), part in summary.groupby(
        ["dataset", "chain", "severity"], sort=False
    ):
        metrics = [name for name in run.metrics if name in set(part["metric"])]
        columns = [Column(name, run.metrics[name].higher_is_better) for name in metrics]
        where = cell_title(dataset, chain, severity)
        tables.append(
            build_table(
                part,
                run,
                columns,
                key=cell_key(dataset, chain, severity),
                title=f"Results on {where}",
                note="mean over images and seeds (set metrics: over seeds); best in bold, "
                "second underlined",
            )
        )
    return tables


def headline_severity(severities: set[int]) -> int:
    """The severity a chain is shown at in the paper layout: 0 (its full published ranges, as in
    CelebA-Test) when the run has it, else the highest."""
    return 0 if 0 in severities else max(severities)


def paper_table(summary: pd.DataFrame, run: Results) -> Table | None:
    """The layout of the DR2 and VQFR papers: synthetic sets with PSNR, SSIM, LPIPS, FID, the
    identity angle and the landmark distance, then real sets with FID and NIQE, each followed
    by the run's other metrics (IDS, KID, ...); means only.

    Each family's columns are the run's metrics of that family (``deg.vqfr``, ``deg.sface``),
    each labelled by :func:`metric_label`, so a column says which number it is. A run of a
    protocol (``protocol: vqfr``) uses the protocol's columns and titles instead. Each synthetic
    or paired (dataset, chain) appears at its :func:`headline_severity`.
    """
    import pandas as pd

    layout, titles = run.paper_layout
    groups = summary.groupby(["dataset", "dataset_kind", "chain"], sort=False)
    parts, columns = [], []
    for (dataset, kind, chain), part in sorted(groups, key=lambda item: item[0][1] == "real"):
        families = PAPER_REAL if kind == "real" else PAPER_SYNTHETIC
        first = [n for f in families for n in run.metrics if family(run.metrics[n].plugin) == f]
        wanted = first + [name for name in run.metrics if name not in first]
        if layout:
            wanted = layout.get("real" if kind == "real" else "synthetic", [])
        severity = headline_severity(set(part["severity"]))
        part = part[(part["severity"] == severity) & part["metric"].isin(wanted)]
        if part.empty:
            continue
        group = dataset if chain == "none" else f"{dataset} ({chain}, s{severity})"
        parts.append(part.assign(group=group))
        present = set(part["metric"])
        columns += [
            Column(name, run.metrics[name].higher_is_better, group, titles.get(name, ""))
            for name in wanted
            if name in present
        ]
    if not parts:
        return None
    return build_table(
        pd.concat(parts, ignore_index=True),
        run,
        columns,
        key="paper",
        title=f"Restorers as in the {protocol} protocol ({run.manifest['protocol']['title']})"
        if (protocol := (run.manifest.get("protocol") or {}).get("name"))
        else "Restorers in the layout of the DR2 and VQFR papers",
        note="best in bold, second underlined",
        with_intervals=False,
    )
