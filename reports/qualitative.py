"""Qualitative grids: rows of images, columns LQ | each restorer | GT, each with a zoomed crop.

Images are chosen in one cell by a per-image metric:

- by percentile: each sample (image and seed) is scored by the mean of the metric over the
  restorers, the samples are ordered from worst to best, and percentile ``p`` picks the one at
  position ``round(p / 100 * (n - 1))``;
- worst failures: the samples whose worst value over the restorers is the worst.

Images come from the run's ``images/`` folder (:class:`bench.run.folder.RunFolder`); an output
that is missing (a failed row) is shown as an empty panel marked "no image".
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.run.folder import RunFolder
from reports.figures import OKABE_ITO, new_figure, styled
from reports.results import Results

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

PANEL_INCHES = 1.1
CAPTION_INCHES = 1.2
TITLE_INCHES = 0.3
ZOOM = 0.45  # side of the zoomed inset, relative to the panel
CROP = (0.28, 0.36, 0.22)  # (left, top, side) of the zoomed region, relative to the image
SELECTION_METRICS = ("lpips", "psnr", "niqe")
MAX_SIDE = 512


@dataclass(frozen=True)
class GridRow:
    """One row of a grid: an image of a cell, and why it was chosen."""

    seed: int
    image_id: str
    caption: str


def selection_metric(cell: pd.DataFrame, run: Results) -> str | None:
    """The metric that chooses images in a cell: LPIPS, else PSNR, else NIQE, else the first."""
    with_values = [name for name in run.image_metrics if cell[name].notna().any()]
    preferred = [name for name in SELECTION_METRICS if name in with_values]
    return next(iter(preferred or with_values), None)


def by_percentile(
    cell: pd.DataFrame, metric: str, higher_is_better: bool, percentiles: tuple[int, ...]
) -> list[GridRow]:
    """Samples at the given percentiles of the per-sample mean, worst first (see module doc)."""
    scores = cell.groupby(["seed", "image_id"])[metric].mean().dropna()
    scores = scores.sort_values(ascending=higher_is_better, kind="stable")
    samples, seen = [], set()
    for percentile in percentiles:
        position = round(percentile / 100 * (len(scores) - 1))
        (seed, image_id), value = scores.index[position], scores.iloc[position]
        if (seed, image_id) not in seen:
            seen.add((seed, image_id))
            caption = f"p{percentile}: {image_id} (seed {seed}), mean {metric} {value:.3g}"
            samples.append(GridRow(int(seed), str(image_id), caption))
    return samples


def worst_failures(
    cell: pd.DataFrame, metric: str, higher_is_better: bool, count: int
) -> list[GridRow]:
    """The ``count`` samples with the worst single value over the restorers."""
    values = cell.dropna(subset=[metric])
    order = values.sort_values(metric, ascending=higher_is_better, kind="stable")
    worst = order.drop_duplicates(["seed", "image_id"]).head(count)
    return [
        GridRow(
            int(row.seed),
            str(row.image_id),
            f"{row.image_id} (seed {row.seed}): {row.restorer} {metric} {getattr(row, metric):.3g}",
        )
        for row in worst.itertuples(index=False)
    ]


def _panel(path: Path, side: int, crop: tuple[float, float, float]) -> np.ndarray:
    """The image resized to ``side``, a box around the crop and the zoomed crop in a corner."""
    from PIL import Image, ImageDraw

    from bench.images import read_image, to_pil

    if not path.exists():
        return np.full((side, side, 3), 0.92, dtype=np.float32)
    image = to_pil(read_image(path))
    if image.size != (side, side):
        image = image.resize((side, side), Image.Resampling.BICUBIC)
    left, top, size = (round(value * side) for value in crop)
    zoom_side = round(ZOOM * side)
    zoom = image.crop((left, top, left + size, top + size))
    zoom = zoom.resize((zoom_side, zoom_side), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(image)
    width = max(1, side // 128)
    draw.rectangle((left, top, left + size, top + size), outline=OKABE_ITO[1], width=width)
    image.paste(zoom, (side - zoom_side, side - zoom_side))
    draw.rectangle(
        (side - zoom_side, side - zoom_side, side - 1, side - 1), outline=OKABE_ITO[1], width=width
    )
    return np.asarray(image)


@dataclass(frozen=True)
class GridSpec:
    """What one grid shows: a cell, its samples, and the columns."""

    dataset: str
    chain: str
    severity: int
    samples: tuple[GridRow, ...]
    restorers: tuple[str, ...]
    with_gt: bool


def missing_inputs(run: Results, spec: GridSpec) -> list[Path]:
    """The LQ (and GT) images of the grid that are not in the run folder."""
    folder = RunFolder(run.folder)
    paths = []
    for sample in spec.samples:
        setting = (spec.dataset, spec.chain, spec.severity, sample.seed)
        paths.append(folder.lq(*setting, sample.image_id))
        if spec.with_gt:
            paths.append(folder.gt(spec.dataset, sample.image_id))
    return [path for path in paths if not path.exists()]


@styled
def grid_figure(run: Results, spec: GridSpec, crop: tuple[float, float, float] = CROP) -> Figure:
    """The grid of ``spec``: one row per sample, LQ | restorers | GT, as one mosaic image.

    Panels keep the resolution of the largest image of the grid (at most ``MAX_SIDE`` pixels),
    so the PDF holds the pixels at full resolution.
    """
    titles = ["LQ", *spec.restorers, *(["GT"] if spec.with_gt else [])]
    rows = [_row_paths(run, spec, sample) for sample in spec.samples]
    side = _panel_side([path for paths in rows for path in paths])
    step = side + max(2, side // 32)
    mosaic = np.ones((step * len(rows) - step + side, step * len(titles) - step + side, 3))
    for row, paths in enumerate(rows):
        for col, path in enumerate(paths):
            panel = _panel(path, side, crop).astype(np.float64) / 255.0
            mosaic[row * step : row * step + side, col * step : col * step + side] = panel
    width = PANEL_INCHES * len(titles)
    height = PANEL_INCHES * len(rows)
    figure = new_figure(width + CAPTION_INCHES, height + TITLE_INCHES, layout=None)
    ax = figure.add_axes(
        (
            CAPTION_INCHES / (width + CAPTION_INCHES),
            0,
            width / (width + CAPTION_INCHES),
            height / (height + TITLE_INCHES),
        )
    )
    ax.imshow(mosaic, interpolation="none")
    ax.set_axis_off()
    for col, title in enumerate(titles):
        ax.text(
            col * step + side / 2,
            -side / 20,
            textwrap.fill(title, 18),
            ha="center",
            va="bottom",
            fontsize=6,
        )
    for row, (sample, paths) in enumerate(zip(spec.samples, rows, strict=True)):
        ax.text(
            -side / 20,
            row * step + side / 2,
            textwrap.fill(sample.caption, 24),
            ha="right",
            va="center",
            fontsize=5,
        )
        for col, path in enumerate(paths):
            if not path.exists():
                ax.text(
                    col * step + side / 2,
                    row * step + side / 2,
                    "no image",
                    ha="center",
                    va="center",
                    fontsize=6,
                )
    return figure


def _panel_side(paths: list[Path]) -> int:
    from PIL import Image

    sides = []
    for path in paths:
        if path.exists():
            with Image.open(path) as image:
                sides.append(max(image.size))
    return min(MAX_SIDE, max(sides, default=MAX_SIDE))


def _row_paths(run: Results, spec: GridSpec, sample: GridRow) -> list[Path]:
    folder = RunFolder(run.folder)
    cell = (spec.dataset, spec.chain, spec.severity, sample.seed, sample.image_id)
    paths = [folder.lq(*cell)]
    paths += [folder.output(label, *cell) for label in spec.restorers]
    if spec.with_gt:
        paths.append(folder.gt(spec.dataset, sample.image_id))
    return paths
