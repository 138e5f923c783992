"""Build a report folder from a run folder: figures, then HTML, Markdown, LaTeX and CSV.

Layout of the report folder (default ``RUN_DIR/report``)::

    report.html     one self-contained file (figures inlined)
    report.md       the same content as Markdown, linking figures/*.png
    tables.tex      the tables as booktabs LaTeX
    csv/            every number: summary, pairwise, wins, auc, relative, worst_case, tradeoff
    figures/        every figure as PNG (300 dpi), PDF and SVG
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.files import atomic_write_text
from reports import html, latex, markdown
from reports.contents import Report, analyse
from reports.document import build_document
from reports.figure_set import draw_figures
from reports.results import ReportError, load_results
from reports.robustness import mean_relative
from reports.stats import RESAMPLES, SEED

FORMATS = ("html", "md", "latex", "csv")


@dataclass(frozen=True)
class ReportFiles:
    """What a report build wrote.

    Attributes:
        folder: The report folder.
        files: Every file written, figures included.
        html: The HTML report, ``None`` when not asked for.
    """

    folder: Path
    files: tuple[Path, ...]
    html: Path | None


def parse_formats(text: str) -> tuple[str, ...]:
    """``"html,md"`` -> ``("html", "md")``, checking each name.

    Example:
        >>> parse_formats("csv, html")
        ('csv', 'html')
    """
    formats = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in formats if name not in FORMATS]
    if unknown or not formats:
        raise ReportError(f"unknown format {unknown or text!r} (choose from {', '.join(FORMATS)})")
    return formats


def build_report(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    formats: Sequence[str] = FORMATS,
    baseline: str | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> ReportFiles:
    """Write the report of a run folder.

    Example:
        >>> build_report("runs/demo", formats=("html",)).html  # doctest: +SKIP
        PosixPath('runs/demo/report/report.html')

    Raises:
        ReportError: The run folder cannot be read, a format or the baseline is unknown.
    """
    formats = parse_formats(",".join(formats))
    run = load_results(run_dir)
    folder = Path(out_dir) if out_dir is not None else run.folder / "report"
    report = analyse(run, baseline=baseline, resamples=resamples, seed=seed)
    figures = draw_figures(report, folder / "figures")
    sections = build_document(report, figures)
    title = f"dr2bench report: {run.manifest.get('name', run.folder.name)}"
    subtitle = f"run folder {run.folder}"
    files = [path for figure in figures.all() for path in figure.files]
    html_path = None
    for name in formats:
        if name == "html":
            html_path = _write(folder / "report.html", html.render(title, subtitle, sections))
            files.append(html_path)
        elif name == "md":
            files.append(_write(folder / "report.md", markdown.render(title, sections)))
        elif name == "latex":
            files.append(_write(folder / "tables.tex", _latex(report)))
        else:
            files += _write_csv(report, folder / "csv")
    return ReportFiles(folder=folder, files=tuple(files), html=html_path)


def _write(path: Path, text: str) -> Path:
    atomic_write_text(path, text)
    return path


def _latex(report: Report) -> str:
    tables = [
        *([report.paper] if report.paper is not None else []),
        *report.tables,
        *report.auc_tables,
        *report.robustness_tables,
    ]
    wins = report.wins.rename_axis("restorer").reset_index()
    return latex.render(tables, [("Wins / ties / losses of the row restorer", "wins", wins)])


def _write_csv(report: Report, folder: Path) -> list[Path]:
    frames = {
        "summary": report.summary,
        "pairwise": report.comparisons,
        "wins": report.wins.rename_axis("restorer").reset_index(),
        "auc": report.auc,
        "relative": report.relative,
        "mean_relative": mean_relative(report.relative),
        "worst_case": report.worst,
        "tradeoff": report.tradeoff,
    }
    return [
        _write(folder / f"{name}.csv", frame.to_csv(index=False)) for name, frame in frames.items()
    ]
