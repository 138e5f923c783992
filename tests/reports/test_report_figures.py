"""Figure style and files, qualitative selection and grids, escaping in Markdown and HTML."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.run.folder import RunFolder
from reports import html, markdown
from reports.figure_set import qualitative_figures
from reports.figures import OKABE_ITO, new_figure, restorer_styles, save_figure, styled
from reports.qualitative import (
    EYES,
    PANEL_INCHES,
    GridRow,
    GridSpec,
    _panel,
    by_percentile,
    grid_figure,
    lowest_scoring,
)
from reports.results import load_results
from reports.robustness import severity_curves
from reports.robustness_plots import severity_figure
from reports.tables import Column, Entry, Table

HOSTILE = "x<script>alert('&')</script>|*_[y]"


@styled
def _line_figure():
    figure = new_figure(3, 2)
    ax = figure.subplots()
    ax.plot([1, 2, 3], [2, 1, 3], label="a $not math$ label")
    ax.legend()
    return figure


def test_saved_figures_are_reproducible_byte_for_byte(tmp_path):
    first = save_figure(_line_figure(), tmp_path / "a", "line", "A line", ("pdf", "svg"))
    second = save_figure(_line_figure(), tmp_path / "b", "line", "A line", ("pdf", "svg"))
    assert [one.suffix for one in first.files] == [".png", ".pdf", ".svg"]
    for one, two in zip(first.files, second.files, strict=True):
        assert one.read_bytes() == two.read_bytes()
    assert b"not math" in first.files[2].read_bytes()  # no mathtext: the dollars stay text


def test_restorer_styles_stay_distinct_beyond_the_palette():
    labels = [f"r{i}" for i in range(12)]
    styles = restorer_styles(labels)
    assert styles["r0"]["color"] == OKABE_ITO[0]
    keys = {(s["color"], s["marker"], s["linestyle"]) for s in styles.values()}
    assert len(keys) == 12


def cell_of(values: dict[str, list[float]]) -> pd.DataFrame:
    """Records of one cell: restorer -> values for images i0, i1, ..."""
    rows = [
        {"seed": 0, "image_id": f"i{k}", "restorer": restorer, "psnr": value}
        for restorer, column in values.items()
        for k, value in enumerate(column)
    ]
    return pd.DataFrame(rows)


def test_selection_by_percentile_orders_from_worst():
    # per-image means: i0 25, i1 20, i2 30, i3 22.5, i4 27.5 -> worst first: i1 i3 i0 i4 i2
    cell = cell_of({"a": [24, 19, 31, 22, 27], "b": [26, 21, 29, 23, 28]})
    picked = by_percentile(cell, "psnr", True, (0, 50, 100, 75))
    assert [s.image_id for s in picked] == ["i1", "i0", "i2", "i4"]
    lower_better = by_percentile(cell, "psnr", False, (0,))
    assert lower_better[0].image_id == "i2"


def test_lowest_scoring_are_the_worst_single_values():
    cell = cell_of({"a": [24, 19, 31, 22], "b": [18, 21, 29, 23]})
    picked = lowest_scoring(cell, "psnr", True, 2)
    assert [s.image_id for s in picked] == ["i0", "i1"]  # b on i0 (18), then a on i1 (19)
    assert "b psnr 18" in picked[0].caption


def test_grid_is_one_mosaic_with_a_panel_per_column(run_dir):
    run = load_results(run_dir)
    samples = (GridRow(0, "002.png", "failed for gfpgan"), GridRow(1, "000.png", "second"))
    restorers = ("identity", "gfpgan")
    spec = GridSpec("celeba-test", "classic", 5, samples, restorers, with_gt=True)
    figure = grid_figure(run, spec)
    (ax,) = figure.axes
    mosaic = ax.images[0].get_array()
    side, gap = 48, 2  # the fixture's images, and the minimum gap
    height = side + 1 + side // 2  # the image, a 1-pixel gap and the zoom strip (2:1)
    assert mosaic.shape == (2 * height + gap, 4 * side + 3 * gap, 3)
    texts = [text.get_text() for text in ax.texts]
    assert texts[:4] == ["LQ", "identity", "gfpgan", "GT"]
    assert texts.count("no image") == 1  # gfpgan failed on 002.png, seed 0
    blank = mosaic[:height, 2 * (side + gap) : 2 * (side + gap) + side]
    assert np.ptp(blank) == 0
    # labels at least a tenth of an image's width (they were 6 pt over 1.1 inches)
    assert min(text.get_fontsize() for text in ax.texts) >= 0.1 * PANEL_INCHES * 72


def test_the_zoom_is_beside_the_face_not_over_it(run_dir):
    """The image part of a panel is the image itself but for the box's outline: the zoom is in
    a strip under it, and shows the boxed eye region."""
    from PIL import Image

    path = RunFolder(run_dir).gt("celeba-test", "000.png")
    side = 48
    panel = _panel(path, side).astype(int)
    with Image.open(path) as image:
        plain = np.asarray(image.convert("RGB").resize((side, side), Image.Resampling.BICUBIC))
    changed = np.argwhere(np.abs(panel[:side] - plain).sum(axis=2) > 0)
    left, top, right, bottom = (round(value * side) for value in EYES)
    on_outline = (np.isin(changed[:, 0], [top, bottom]) & (changed[:, 1] >= left)) | np.isin(
        changed[:, 1], [left, right]
    )
    assert len(changed) and on_outline.all()
    assert panel.shape == (side + 1 + side // 2, side, 3)
    strip = panel[side + 2 : -1, 1:-1]  # inside its frame

    def distance(box: tuple[int, int, int, int]) -> float:
        with Image.open(path) as image:
            region = image.convert("RGB").crop(box).resize((side, side // 2))
        return float(np.abs(strip - np.asarray(region)[1:-1, 1:-1]).mean())

    assert distance((14, 17, 34, 27)) < distance((14, 34, 34, 44)) / 2  # eyes, not the mouth


def test_a_set_metric_is_drawn_without_bands(run, summary):
    """KID has one value per seed and no interval: no band (its caption says so, see
    test_report_outputs.py); PSNR has a band in every panel."""
    curves = severity_curves(summary)
    kid = severity_figure(curves[curves["metric"] == "kid"], run, "kid")
    psnr = severity_figure(curves[curves["metric"] == "psnr"], run, "psnr")
    assert not any(ax.collections for ax in kid.axes)
    assert all(ax.collections for ax in psnr.axes if ax.get_visible())


@pytest.mark.slow
def test_grids_come_as_pdf_only_when_asked(run, tmp_path):
    saved = qualitative_figures(run, tmp_path, [], ("pdf",))
    assert saved and all([path.suffix for path in one.files] == [".png", ".pdf"] for one in saved)
    assert saved[0].files[1].read_bytes().startswith(b"%PDF")


def test_no_grids_without_images(run_dir_without_images, tmp_path):
    notes: list[str] = []
    run = load_results(run_dir_without_images)
    assert qualitative_figures(run, tmp_path, notes) == []
    assert notes == ["No qualitative grids: the run kept no images (run with --keep-images)."]


def hostile_table() -> Table:
    return Table(
        key="k",
        title=HOSTILE,
        columns=(Column("psnr", True, group=HOSTILE),),
        rows=((HOSTILE, (Entry(1.0, 0.1, "1.00 ± 0.10", 1),)),),
        note=HOSTILE,
    )


def test_html_table_escapes_every_string():
    text = html.render_table(hostile_table())
    assert "<script>" not in text
    assert text.count("x&lt;script&gt;alert(&#x27;&amp;&#x27;)&lt;/script&gt;") == 4
    frame = html.render_frame(pd.DataFrame({HOSTILE: [HOSTILE, 0.5, None]}), HOSTILE)
    assert "<script>" not in frame and frame.count("&lt;script&gt;") == 3


def test_markdown_table_escapes_every_string():
    lines = markdown.render_table(hostile_table())
    text = "\n".join(lines)
    assert "<script>" not in text
    escaped = r"x&lt;script&gt;alert('&amp;')&lt;/script&gt;\|\*\_\[y\]"
    assert text.count(escaped) == 4  # title, header group, row label, note
    assert all(line.count("|") - line.count(r"\|") == 3 for line in lines if line.startswith("|"))
