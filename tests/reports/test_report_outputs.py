"""The files of `dr2bench report`: HTML escaped and self-contained, LaTeX well-formed, CSV exact."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from reports import latex
from reports.summary import summarize
from reports.tables import Column, Entry, Table

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


def check_latex(text: str) -> None:
    """Balanced braces and environments; ``&`` only as a column separator."""
    unescaped = re.sub(r"\\[{}&%$#_]", "", text)
    depth = 0
    for char in unescaped:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, "a } closes nothing"
    assert depth == 0, "unclosed {"
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{(\w+)\}", text):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"\\end{{{name}}} does not match"
    assert not stack
    for block in re.findall(r"\\begin\{tabular\}\{([lrc]+)\}(.*?)\\end\{tabular\}", text, re.S):
        spec, body = block
        for line in body.splitlines():
            line = line.strip()
            if not line.endswith(r"\\") or "multicolumn" in line:
                continue
            separators = len(re.findall(r"(?<!\\)&", line))
            assert separators == len(spec) - 1, line
    body = "\n".join(line for line in text.splitlines() if not line.startswith("%"))
    body = re.sub(r"\$\\(pm|uparrow|downarrow|tau)\$", "", body)  # the only math we write
    assert not re.search(r"(?<!\\)[_%$#]", body), "an unescaped special character"


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
    folder = built_report[0]
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"https?:|<link|url\(|@import", text)
    sources = re.findall(r'src="([^"]*)"', text)
    assert sources and all(src.startswith("data:image/png;base64,") for src in sources)
    assert len(sources) == len(list((folder / "figures").glob("*.png")))
    for src in sources:
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image:
            image.verify()
    checker = TagChecker()
    checker.feed(text)
    assert not checker.errors and checker.stack == []


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
    assert r"\toprule" in text and r"\cmidrule(lr){2-7}" in text
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


def test_charts_come_in_png_and_pdf_and_image_grids_in_png(built_report):
    figures = built_report[0] / "figures"
    stems = {path.stem for path in figures.iterdir()}
    kinds = {"severity", "heatmap", "tradeoff", "qualitative"}
    assert {stem.split("-")[0] for stem in stems} == kinds
    for stem in stems:
        pdf = figures / f"{stem}.pdf"
        if stem.startswith("qualitative"):
            assert not pdf.exists()  # a grid of photos is raster: PNG only
        else:
            assert pdf.read_bytes().startswith(b"%PDF")
        assert not (figures / f"{stem}.svg").exists()
        with Image.open(figures / f"{stem}.png") as image:
            assert round(image.info["dpi"][0]) == 300


def test_relative_robustness_headers_say_relative(built_report):
    """Relative errors are lower-is-better for every metric: 'PSNR ↓' alone read as a mistake."""
    text = (built_report[0] / "report.md").read_text(encoding="utf-8")
    section = text[text.index("Relative robustness") :]
    assert "PSNR rel. ↓" in section
    assert "| PSNR ↓" not in text
