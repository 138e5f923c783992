"""Qualitative grids: rows of images, columns LQ | each restorer | GT, each with its eyes zoomed.

Images are chosen in one cell by a per-image metric:

- by percentile: each sample (image and seed) is scored by the mean of the metric over the
  restorers, the samples are ordered from worst to best, and percentile ``p`` picks the one at
  position ``round(p / 100 * (n - 1))``;
- lowest-scoring: the samples whose worst value over the restorers is the worst (low scores,
  not necessarily failures).

Images come from the run's ``images/`` folder (:class:`bench.run.folder.RunFolder`); an output
that is missing (a failed row) is shown as an empty panel marked "no image". Under each image, a
strip zooms into the boxed eye region, so the zoom hides no part of the face.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.run.folder import RunFolder
from reports.figures import OKABE_ITO, PRINT_DPI, new_figure, styled
from reports.results import Results

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

PANEL_INCHES = 0.65  # width of one image in the figure
PANEL_PIXELS = round(PANEL_INCHES * PRINT_DPI)  # the most pixels an image keeps in a grid
CAPTION_INCHES = 1.5
TITLE_INCHES = 0.35
TITLE_POINTS = 7
CAPTION_POINTS = 6.5
# (left, top, right, bottom) of the zoomed region, relative to the image: both eyes of an
# FFHQ-aligned face (eye centres near x = 0.38 and 0.62, y = 0.47)
EYES = (0.3, 0.36, 0.7, 0.56)
SELECTION_METRICS = ("lpips", "psnr", "niqe")


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


def lowest_scoring(
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


def _panel(path: Path, side: int) -> np.ndarray:
    """The image resized to ``side`` with a box around the eyes, and under it (outside the face)
    the boxed region zoomed from the full-resolution image; a grey panel when ``path`` is missing.
    """
    from PIL import Image, ImageDraw

    from bench.images import read_image, to_pil

    left, top, right, bottom = EYES
    zoom_height = round(side * (bottom - top) / (right - left))
    gap = max(1, side // 64)
    if not path.exists():
        return np.full((side + gap + zoom_height, side, 3), 235, dtype=np.uint8)
    image = to_pil(read_image(path))
    width, height = image.size
    panel = Image.new("RGB", (side, side + gap + zoom_height), "white")
    panel.paste(image.resize((side, side), Image.Resampling.BICUBIC))
    source = (left * width, top * height, right * width, bottom * height)
    zoom = image.resize((side, zoom_height), Image.Resampling.BICUBIC, box=source)
    panel.paste(zoom, (0, side + gap))
    draw = ImageDraw.Draw(panel)
    line = max(1, side // 128)
    draw.rectangle([round(value * side) for value in EYES], outline=OKABE_ITO[1], width=line)
    draw.rectangle((0, side + gap, side - 1, side + gap + zoom_height - 1), outline=OKABE_ITO[1])
    return np.asarray(panel)


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
    rows = [_row_paths(run, spec, sample) for sample in spec.samples]
    # each row is LQ, the outputs, then GT (when the grid shows it)
    inputs = [path for paths in rows for path in (paths[0], *paths[1 + len(spec.restorers) :])]
    return [path for path in inputs if not path.exists()]


@styled
def grid_figure(run: Results, spec: GridSpec) -> Figure:
    """The grid of ``spec``: one row per sample, LQ | restorers | GT, as one mosaic image.

    Each image keeps at most ``PANEL_PIXELS`` pixels a side (its width in the figure at print
    resolution), so the PNG holds the grid at print resolution with no resampling by matplotlib.
    """
    titles = ["LQ", *spec.restorers, *(["GT"] if spec.with_gt else [])]
    rows = [_row_paths(run, spec, sample) for sample in spec.samples]
    side = _panel_side([path for paths in rows for path in paths])
    panels = [[_panel(path, side) for path in paths] for paths in rows]
    height = panels[0][0].shape[0]
    gap = max(2, side // 32)
    mosaic = np.full(
        ((height + gap) * len(rows) - gap, (side + gap) * len(titles) - gap, 3), 255, np.uint8
    )
    for row, line in enumerate(panels):
        for col, panel in enumerate(line):
            top, left = row * (height + gap), col * (side + gap)
            mosaic[top : top + height, left : left + side] = panel
    inches = PANEL_INCHES / side
    width, tall = mosaic.shape[1] * inches, mosaic.shape[0] * inches
    full_width, full_height = width + CAPTION_INCHES, tall + TITLE_INCHES
    figure = new_figure(full_width, full_height, layout=None)
    ax = figure.add_axes((CAPTION_INCHES / full_width, 0, width / full_width, tall / full_height))
    ax.imshow(mosaic, interpolation="none")
    ax.set_axis_off()
    for col, title in enumerate(titles):
        x = col * (side + gap) + side / 2
        label = textwrap.fill(title.replace(",", ", "), 12)  # dr2[N=4, / tau=20]
        ax.text(x, -side / 20, label, ha="center", va="bottom", fontsize=TITLE_POINTS)
    for row, (sample, paths) in enumerate(zip(spec.samples, rows, strict=True)):
        y = row * (height + gap) + side / 2
        caption = textwrap.fill(sample.caption, 24)
        ax.text(-side / 20, y, caption, ha="right", va="center", fontsize=CAPTION_POINTS)
        for col, path in enumerate(paths):
            if not path.exists():
                x = col * (side + gap) + side / 2
                ax.text(x, y, "no image", ha="center", va="center", fontsize=CAPTION_POINTS)
    return figure


def _panel_side(paths: list[Path]) -> int:
    from PIL import Image

    sides = []
    for path in paths:
        if path.exists():
            with Image.open(path) as image:
                sides.append(max(image.size))
    return min(PANEL_PIXELS, max(sides, default=PANEL_PIXELS))


def _row_paths(run: Results, spec: GridSpec, sample: GridRow) -> list[Path]:
    folder = RunFolder(run.folder)
    cell = (spec.dataset, spec.chain, spec.severity, sample.seed, sample.image_id)
    paths = [folder.lq(*cell)]
    paths += [folder.output(label, *cell) for label in spec.restorers]
    if spec.with_gt:
        paths.append(folder.gt(spec.dataset, sample.image_id))
    return paths
