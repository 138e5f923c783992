"""Build a report folder from a run folder: figures, then HTML, Markdown, LaTeX and CSV.

Layout of the report folder (default ``RUN_DIR/report``)::

    report.html     the report, showing figures/*.png and linking the drill-down pages
    drilldown/      per cell and restorer: every sample's thumbnails and per-image values
    report.md       the same content as Markdown, linking figures/*.png
    tables.tex      the tables as booktabs LaTeX
    csv/            every number: summary, pairwise, wins, auc, relative, worst_case, tradeoff
    figures/        every figure as PNG (300 dpi); as PDF and SVG when asked for

The folder is self-contained: every link in it is relative, so it opens offline anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.files import atomic_write_text
from reports import html, latex, markdown
from reports.contents import Report, analyse
from reports.document import build_document
from reports.drilldown import FOLDER, write_drilldown
from reports.figure_set import draw_figures
from reports.figures import VECTOR_FORMATS
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


def parse_formats(text: str, choices: tuple[str, ...] = FORMATS) -> tuple[str, ...]:
    """``"html,md"`` -> ``("html", "md")``, checking each name against ``choices``.

    Example:
        >>> parse_formats("csv, html")
        ('csv', 'html')
        >>> parse_formats("pdf", VECTOR_FORMATS)
        ('pdf',)
    """
    formats = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in formats if name not in choices]
    if unknown or not formats:
        raise ReportError(f"unknown format {unknown or text!r} (choose from {', '.join(choices)})")
    return formats


def build_report(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    formats: Sequence[str] = FORMATS,
    baseline: str | None = None,
    figure_formats: Sequence[str] = (),
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> ReportFiles:
    """Write the report of a run folder.

    Every figure is written as PNG; ``figure_formats`` (``pdf``, ``svg``) adds copies for papers.

    Example:
        >>> build_report("runs/demo", formats=("html",)).html  # doctest: +SKIP
        PosixPath('runs/demo/report/report.html')
        >>> build_report("runs/demo", figure_formats=("pdf",))  # doctest: +SKIP

    Raises:
        ReportError: The run folder cannot be read, a format or the baseline is unknown.
    """
    formats = parse_formats(",".join(formats))
    vector = parse_formats(",".join(figure_formats), VECTOR_FORMATS) if figure_formats else ()
    run = load_results(run_dir)
    folder = Path(out_dir) if out_dir is not None else run.folder / "report"
    report = analyse(run, baseline=baseline, resamples=resamples, seed=seed)
    figures = draw_figures(report, folder / "figures", vector)
    sections = build_document(report, figures)
    title = f"dr2bench report: {run.manifest.get('name', run.folder.name)}"
    subtitle = f"run folder {run.folder}"
    files = [path for figure in figures.all() for path in figure.files]
    html_path = None
    for name in formats:
        if name == "html":
            pages = write_drilldown(report.run, folder)
            text = html.render(title, subtitle, sections, pages.links)
            html_path = _write(folder / "report.html", text)
            files += [*pages.files, html_path]
        elif name == "md":
            files.append(_write(folder / "report.md", markdown.render(title, sections)))
        elif name == "latex":
            files.append(_write(folder / "tables.tex", _latex(report)))
        else:
            files += _write_csv(report, folder / "csv")
    _remove_stale([folder / "figures", *([folder / FOLDER] if html_path else [])], set(files))
    return ReportFiles(folder=folder, files=tuple(files), html=html_path)


def _remove_stale(folders: list[Path], written: set[Path]) -> None:
    """Delete the files of ``folders`` that this build did not write: an earlier build's figures
    (renamed, or a PDF no longer asked for) and drill-down pages, so the folder holds one report."""
    for path in [path for folder in folders for path in folder.rglob("*")]:
        if path.is_file() and path not in written:
            path.unlink()


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
