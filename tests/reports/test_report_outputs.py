"""The files of `dr2bench report`: HTML escaped and self-contained, LaTeX well-formed, CSV exact."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from reports import latex
from reports.summary import summarize
from reports.tables import Column, Entry, Table
from tests.reports.test_report_latex import check_latex

pytestmark = pytest.mark.slow  # the session builds one full report (~15 s on two cores)

VOID = {"meta", "img", "br", "hr", "link", "input"}


class TagChecker(HTMLParser):
    """Records mismatched and unclosed tags."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_command_prints_the_html_path_last(built_report):
    folder, lines = built_report
    assert lines[-1] == str(folder / "report.html")
    assert (folder / "report.html").is_file()


def test_html_escapes_every_data_string(built_report):
    text = (built_report[0] / "report.html").read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert "b&lt;script&gt;&amp;c.jpg" in text  # a failed image, listed under Failures
    assert "fixture &lt;script&gt;alert(1)&lt;/script&gt;" in text  # the run's name
    assert "a&amp;b&lt;c&gt;" in text  # a config value


def test_html_is_self_contained_and_well_formed(built_report):
    """Every page links only files of the report folder, by relative paths, and shows every
    figure's PNG."""
    folder = built_report[0]
    pages = [folder / "report.html", *sorted((folder / "drilldown").glob("*.html"))]
    assert len(pages) > 1
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"https?:|<link|url\(|@import|data:", text)
        for link in re.findall(r'(?:src|href)="([^"#][^"#]*)', text):
            target = (page.parent / html.unescape(link)).resolve()
            assert not link.startswith("/") and target.is_file(), link
            assert folder.resolve() in target.parents
        checker = TagChecker()
        checker.feed(text)
        assert not checker.errors and checker.stack == [], page
    text = pages[0].read_text(encoding="utf-8")
    shown = set(re.findall(r'<img [^>]*src="figures/([^"]+)"', text))
    assert shown == {path.name for path in (folder / "figures").glob("*.png")}
    for name in shown:
        with Image.open(folder / "figures" / name) as image:
            image.verify()


def test_markdown_escapes_and_links_existing_figures(built_report):
    folder = built_report[0]
    text = (folder / "report.md").read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert "b&lt;script&gt;&amp;c.jpg" in text
    links = re.findall(r"\]\((figures/[^)]+\.png)\)", text)
    assert links and all((folder / link).is_file() for link in links)


def test_latex_is_compiles_shaped(built_report):
    text = (built_report[0] / "tables.tex").read_text(encoding="utf-8")
    check_latex(text)
    assert r"\toprule" in text and r"\cmidrule(lr){2-10}" in text  # 9 metrics per group
    assert "dr2{[}N=4,tau=20{]}" in text


def test_latex_escapes_hostile_strings():
    hostile = "a_b&c%d$e#f{g}h~i^j\\k<script>[x]"
    table = Table(
        key="hostile",
        title=hostile,
        columns=(Column("psnr", True, group=hostile), Column("lpips", False, group=hostile)),
        rows=((hostile, (Entry(1.0, 0.1, "1.00 ± 0.10", 1), None)),),
        note=hostile,
    )
    text = latex.render([table], [("frame " + hostile, "f", pd.DataFrame({hostile: [hostile]}))])
    check_latex(text)
    expected = (
        r"a\_b\&c\%d\$e\#f\{g\}h\textasciitilde{}i\textasciicircum{}j\textbackslash{}k"
        r"\textless{}script\textgreater{}{[}x{]}"
    )
    # caption title and note, group, row label, frame caption, frame header and cell
    assert text.count(expected) == 7


def test_csv_files_hold_the_exact_numbers(built_report, run):
    folder = built_report[0] / "csv"
    written = pd.read_csv(folder / "summary.csv")
    expected = summarize(run)
    assert list(written.columns) == list(expected.columns)
    np.testing.assert_array_equal(written["mean"].to_numpy(), expected["mean"].to_numpy())
    np.testing.assert_array_equal(written["ci_low"].to_numpy(), expected["ci_low"].to_numpy())
    names = {path.stem for path in folder.glob("*.csv")}
    assert names == {
        "summary", "pairwise", "wins", "auc", "relative", "mean_relative", "worst_case", "tradeoff"
    }  # fmt: skip
    pairwise = pd.read_csv(folder / "pairwise.csv")
    assert set(pairwise["outcome"]) <= {"win", "tie", "loss", "too few"} and len(pairwise) > 0


def test_figures_are_one_png_each_by_default(built_report):
    figures = built_report[0] / "figures"
    assert not (built_report[0] / "drilldown" / "thumbs" / "stale.jpg").exists()  # conftest
    kinds = {"severity", "heatmap", "tradeoff", "qualitative"}
    assert {path.stem.split("-")[0] for path in figures.iterdir()} == kinds
    assert {path.suffix for path in figures.iterdir()} == {".png"}
    for path in figures.iterdir():
        with Image.open(path) as image:
            assert round(image.info["dpi"][0]) == 300 and image.mode == "RGB"


def test_captions_say_what_the_figures_show(built_report):
    text = (built_report[0] / "report.html").read_text(encoding="utf-8")
    captions = {
        name: html.unescape(caption)
        for name, caption in re.findall(
            r'<figure id="([^"]+)">.*?<figcaption>(.*?)</figcaption>', text, re.S
        )
    }
    kid = captions["severity-celeba-test-kid"]
    assert "95%" not in kid and "a set metric has no interval" in kid  # no bands drawn
    assert "bands: 95% bootstrap intervals" in captions["severity-celeba-test-psnr"]
    lowest = captions["qualitative-celeba-test-blur-5-lowest"]
    assert "the 3 lowest-scoring samples by LPIPS" in lowest
    assert not any("failure" in caption for caption in captions.values())


def test_results_tables_link_each_restorer_to_its_samples(built_report, run):
    folder = built_report[0]
    text = (folder / "report.html").read_text(encoding="utf-8")
    table = text[text.index('id="celeba-test-classic-5"') :]
    table = table[: table.index("</table>")]
    href = "drilldown/celeba-test-classic-5--gfpgan.html"
    assert f'<a href="{href}">' in table
    page = (folder / href).read_text(encoding="utf-8")
    rows = re.findall(r"<tr><td>(.*?)</td><td>(\d+)</td>(.*?)</tr>", page)
    records = run.records.query(
        "dataset == 'celeba-test' and chain == 'classic' and severity == 5 and restorer == 'gfpgan'"
    )
    pairs = zip(records.image_id, records.seed, strict=True)
    expected = {(image_id, str(seed)) for image_id, seed in pairs}
    assert {(html.unescape(image), seed) for image, seed, _ in rows} == expected
    failed = [cells for image, seed, cells in rows if image == "002.png" and seed == "0"]
    assert "out of memory" in failed[0] and failed[0].count("<img ") == 2  # LQ and GT
    values = [float(value) for value in re.findall(r'data-value="([^"]+)"', page)]
    assert records["psnr"].dropna().iloc[0] in values  # exact, for sorting
    thumbnails = sorted((folder / "drilldown" / "thumbs").iterdir())
    assert thumbnails and all(path.suffix == ".jpg" for path in thumbnails)
    with Image.open(thumbnails[0]) as image:
        assert image.format == "JPEG" and max(image.size) <= 160


def test_relative_robustness_headers_say_relative(built_report):
    """Relative errors are lower-is-better for every metric: 'PSNR ↓' alone read as a mistake."""
    text = (built_report[0] / "report.md").read_text(encoding="utf-8")
    section = text[text.index("Relative robustness") :]
    assert "PSNR rel. ↓" in section
    assert "| PSNR ↓" not in text
