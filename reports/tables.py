"""Result tables as data: restorers as rows, metrics as columns, best in bold, second underlined.

The tables are built from the summary (:func:`reports.summary.summarize`) and rendered by
:mod:`reports.markdown`, :mod:`reports.latex` and :mod:`reports.html`; every number they show is
a summary value rounded for display.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reports.results import Results

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
PAPER_SYNTHETIC = ("psnr", "ssim", "lpips", "fid", "deg", "lmd")  # metric families, in order
PAPER_REAL = ("fid", "niqe")
MISSING = "–"


def slug(text: str) -> str:
    """``text`` reduced to letters, digits, ``_``, ``.`` and ``-`` (for file names and anchors)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


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
    """

    metric: str
    higher_is_better: bool
    group: str = ""
    title: str = ""

    @property
    def label(self) -> str:
        return self.title or metric_label(self.metric)

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"


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
        note: What the numbers are.
    """

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, tuple[Entry | None, ...]], ...]
    note: str


def format_value(value: object) -> str:
    """A cell of a plain data table: floats to 4 significant digits, NaN and None as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


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
    means: list[float | None], half_widths: list[float], higher_is_better: bool
) -> list[Entry | None]:
    """Format and rank one column (``None`` where a restorer has no value)."""
    places = decimals([value for value in means if value is not None])
    rounded = [round(value, places) if value is not None else None for value in means]
    column_ranks = ranks(rounded, higher_is_better)
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

    ``summary`` must hold one row per restorer and metric within each column group; the group of
    a row is its ``group`` column when it has one.
    """
    lookup = {
        (getattr(row, "group", ""), row.restorer, row.metric): row
        for row in summary.itertuples(index=False)
    }
    restorers = [label for label in run.restorers if label in set(summary["restorer"])]
    cells: list[list[Entry | None]] = []
    notes = [note]
    for column in columns:
        found = [lookup.get((column.group, label, column.metric)) for label in restorers]
        means = [row.mean if row is not None else None for row in found]
        halves = [
            (row.ci_high - row.ci_low) / 2 if row is not None and with_intervals else math.nan
            for row in found
        ]
        cells.append(entries(means, halves, column.higher_is_better))
        below = run.metrics[column.metric].leaves_out_below
        if below is not None and f"{column.label}:" not in " ".join(notes):
            left_out = sum(int(row.left_out) for row in found if row is not None)
            notes.append(
                f"{column.label}: mean over values of at least {below:g}, as published "
                f"({left_out} under {below:g} left out; the mean over all is mean_all in "
                "csv/summary.csv)"
            )
    rows = tuple((label, tuple(column[i] for column in cells)) for i, label in enumerate(restorers))
    return Table(key=key, title=title, columns=tuple(columns), rows=rows, note="; ".join(notes))


def cell_tables(summary: pd.DataFrame, run: Results) -> list[Table]:
    """One table per (dataset, chain, severity): mean ± half-width of the 95% interval."""
    tables = []
    for (dataset, chain, severity), part in summary.groupby(
        ["dataset", "chain", "severity"], sort=False
    ):
        metrics = [name for name in run.metrics if name in set(part["metric"])]
        columns = [Column(name, run.metrics[name].higher_is_better) for name in metrics]
        where = dataset if chain == "none" else f"{dataset}, {chain}, severity {severity}"
        tables.append(
            build_table(
                part,
                run,
                columns,
                key=slug(f"{dataset}-{chain}-{severity}"),
                title=f"Results on {where}",
                note="mean ± half-width of the 95% percentile bootstrap interval over images "
                "(set metrics: mean over seeds); best in bold, second underlined",
            )
        )
    return tables


def headline_severity(severities: set[int]) -> int:
    """The severity a chain is shown at in the paper layout: 0 (its full published ranges, as in
    CelebA-Test) when the run has it, else the highest."""
    return 0 if 0 in severities else max(severities)


def paper_table(summary: pd.DataFrame, run: Results) -> Table | None:
    """The layout of the DR2 and VQFR papers: synthetic sets with PSNR, SSIM, LPIPS, FID, the
    identity angle and the landmark distance, then real sets with FID and NIQE; means only.

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
        wanted = [name for f in families for name in run.metrics if family(name) == f]
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
        note="means; best in bold, second underlined",
        with_intervals=False,
    )
