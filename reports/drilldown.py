"""Drill-down pages: every sample of one cell and restorer, with its images and per-image values.

One page per (dataset, chain, severity, restorer), ``drilldown/<cell>--<restorer>.html``, linked
from that restorer's row of the cell's results table in ``report.html``. A row per sample (image
and seed, failed ones included): thumbnails of the LQ input, the output and the ground truth
(when the dataset has it), the status and every per-image metric. Clicking a metric's header
sorts the rows by it, again to reverse (missing values last): a small inline script that the
page's Content-Security-Policy allows by its hash.

Thumbnails are JPEG, at most ``THUMB_SIDE`` pixels a side, in ``drilldown/thumbs/`` (one file per
image of the run, named by a hash of its path there), and lazy-loaded; the full-size images stay
in the run folder. Every link is relative, so the report folder opens offline anywhere.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.files import atomic_write_bytes, atomic_write_text
from bench.run.folder import RunFolder
from reports.html import escape, page
from reports.results import Results
from reports.tables import MISSING, cell_key, cell_title, format_value, metric_heading, slug

if TYPE_CHECKING:
    import pandas as pd

FOLDER = "drilldown"
THUMB_SIDE = 160
JPEG_QUALITY = 85
SORT_SCRIPT = """
for (const table of document.querySelectorAll("table.sortable")) {
  const headers = [...table.tHead.rows[0].cells];
  headers.forEach((header, column) => {
    const button = header.querySelector("button");
    if (!button) return;
    button.addEventListener("click", () => {
      const ascending = header.getAttribute("aria-sort") !== "ascending";
      headers.forEach((other) => other.removeAttribute("aria-sort"));
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const value = (row) => parseFloat(row.cells[column].dataset.value);
      const rows = [...table.tBodies[0].rows];
      rows.sort((a, b) => {
        const [x, y] = [value(a), value(b)];
        if (isNaN(x) || isNaN(y)) return isNaN(x) - isNaN(y);
        return ascending ? x - y : y - x;
      });
      table.tBodies[0].append(...rows);
    });
  });
}
"""


@dataclass(frozen=True)
class DrillDown:
    """The drill-down pages written for a report.

    Attributes:
        links: (results table key, restorer) -> its page, relative to the report folder.
        files: Every page and thumbnail written.
    """

    links: dict[tuple[str, str], str]
    files: tuple[Path, ...]


def write_drilldown(run: Results, folder: Path) -> DrillDown:
    """Write a page per cell and restorer of ``run`` (and their thumbnails) under ``folder``.

    Example:
        >>> pages = write_drilldown(load_results("runs/demo"), Path("out"))  # doctest: +SKIP
        >>> pages.links["demo-classic-4", "identity"]  # doctest: +SKIP
        'drilldown/demo-classic-4--identity.html'
    """
    thumbnails = Thumbnails(RunFolder(run.folder), folder / FOLDER)
    links: dict[tuple[str, str], str] = {}
    pages: list[Path] = []
    for (dataset, chain, severity), cell in run.records.groupby(
        ["dataset", "chain", "severity"], sort=False
    ):
        key = cell_key(dataset, chain, severity)
        restorers = [label for label in run.restorers if label in set(cell["restorer"])]
        names = {label: f"{slug(f'{key}--{label}')}.html" for label in restorers}
        nav = " ".join(
            f'<a href="{name}">{escape(run.display(label))}</a>' for label, name in names.items()
        )
        where = cell_title(dataset, chain, severity)
        for label, name in names.items():
            rows = cell[cell["restorer"] == label]
            body = _body(run, rows, thumbnails, key)
            title = f"{run.display(label)} on {where}"
            subtitle = f"{len(rows)} samples of run {run.manifest.get('name', run.folder.name)}"
            path = folder / FOLDER / name
            atomic_write_text(path, page(title, subtitle, nav, body, SORT_SCRIPT))
            links[(key, label)] = f"{FOLDER}/{name}"
            pages.append(path)
    return DrillDown(links=links, files=(*pages, *thumbnails.files))


def _body(run: Results, rows: pd.DataFrame, thumbnails: Thumbnails, key: str) -> str:
    folder = thumbnails.run
    metrics = [name for name in run.image_metrics if rows[name].notna().any()]
    with_gt = (rows["dataset_kind"] != "real").any()
    images = ["LQ", "output", *(["GT"] if with_gt else [])]
    header = "".join(f"<th>{name}</th>" for name in ["image", "seed", *images, "status"])
    for name in metrics:
        header += f'<th><button type="button">{escape(metric_heading(run, name))}</button></th>'
    lines = []
    for row in rows.to_dict("records"):
        cell = (row["dataset"], row["chain"], row["severity"], row["seed"], row["image_id"])
        paths = [folder.lq(*cell), folder.output(row["restorer"], *cell)]
        paths += [folder.gt(row["dataset"], row["image_id"])] if with_gt else []
        status = "ok" if row["status"] == "ok" else f"{row['status']}: {row['error']}"
        cells = [escape(row["image_id"]), escape(row["seed"])]
        cells += [thumbnails.img(path, image) for path, image in zip(paths, images, strict=True)]
        cells.append(escape(status))
        values = "".join(_value(row[name]) for name in metrics)
        lines.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + values + "</tr>")
    return (
        f'<p><a href="../report.html#{escape(key)}">Back to the report</a></p>'
        f'<p class="note">Thumbnails at most {THUMB_SIDE} px (the full images are in the run '
        "folder's images/). Click a metric's header to sort by it, again to reverse; missing "
        "values go last.</p>"
        f'<div class="scroll"><table class="sortable"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(lines)}</tbody></table></div>"
    )


def _value(value: float) -> str:
    """A metric's cell: its exact value in ``data-value``, for sorting."""
    value = float(value)
    if math.isnan(value):
        return f'<td data-value="">{MISSING}</td>'
    return f'<td data-value="{value!r}">{escape(format_value(value))}</td>'


class Thumbnails:
    """JPEG thumbnails of a run's images, each written once, in ``folder/thumbs``.

    Args:
        run: The run folder.
        folder: The drill-down folder.
    """

    def __init__(self, run: RunFolder, folder: Path) -> None:
        self.run = run
        self.folder = folder
        self.written: dict[Path, str] = {}  # image -> the <img> of its thumbnail
        self.files: list[Path] = []

    def img(self, path: Path, alt: str) -> str:
        """An ``<img>`` of the thumbnail of ``path`` (written on first use), or a dash when the
        run has no such image."""
        if not path.exists():
            return MISSING
        if path not in self.written:
            self.written[path] = self._write(path, alt)
        return self.written[path]

    def _write(self, path: Path, alt: str) -> str:
        from PIL import Image

        from bench.images import read_image, to_pil

        relative = path.relative_to(self.run.path).as_posix()
        name = hashlib.sha256(relative.encode()).hexdigest()[:20] + ".jpg"
        image = to_pil(read_image(path))
        image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BICUBIC)
        data = io.BytesIO()
        image.convert("RGB").save(data, format="JPEG", quality=JPEG_QUALITY)
        atomic_write_bytes(self.folder / "thumbs" / name, data.getvalue())
        self.files.append(self.folder / "thumbs" / name)
        width, height = image.size
        return (
            f'<img loading="lazy" src="thumbs/{name}" alt="{alt}" '
            f'width="{width}" height="{height}">'
        )
