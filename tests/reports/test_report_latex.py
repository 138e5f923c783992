"""The report's LaTeX goes into a paper unedited: its source is well-formed booktabs (always
checked), and it compiles with pdflatex and booktabs alone (where pdflatex is installed)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess

import pytest

from reports import latex
from reports.contents import analyse
from tests.reports.synthetic_run import only_cells

HOSTILE = "my_restorer 50% & co #1"
DOCUMENT = r"""\documentclass{article}
\usepackage{booktabs}
\begin{document}
\input{tables}
\end{document}
"""


def check_latex(text: str) -> None:
    """Balanced braces and environments; each tabular with booktabs rules and as many cells per
    row as its column spec; ``&`` only between cells; special characters and square brackets
    only escaped (``{[}``), apart from the placement ``[t]``."""
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
    tabulars = re.findall(r"\\begin\{tabular\}\{([lrc]+)\}(.*?)\\end\{tabular\}", text, re.S)
    assert tabulars
    for spec, body in tabulars:
        rules = [rule for rule in re.findall(r"\\(toprule|midrule|bottomrule)", body)]
        assert rules == ["toprule", "midrule", "bottomrule"], rules
        for line in body.splitlines():
            line = line.strip()
            if not line.endswith(r"\\"):
                continue
            spans = [int(n) for n in re.findall(r"\\multicolumn\{(\d+)\}", line)]
            cells = len(re.findall(r"(?<!\\)&", line)) + 1 - len(spans) + sum(spans)
            assert cells == len(spec), line
    body = "\n".join(line for line in text.splitlines() if not line.startswith("%"))
    body = re.sub(r"\$\\[a-z]+\$", "", body)  # the only math we write: one symbol
    body = body.replace(r"\begin{table}[t]", "").replace("{[}", "").replace("{]}", "")
    assert not re.search(r"(?<!\\)[_%$#\[\]]", body), "an unescaped special character"
    assert not re.search(r"[^\x00-\x7f]", body), "a character pdflatex may not know"


@pytest.fixture(scope="module")
def tables_tex(run) -> str:
    """The LaTeX of a report (one chain at three severities and the real set) whose restorers
    have display titles with a Greek letter, brackets and LaTeX's special characters."""
    manifest = json.loads(json.dumps(run.manifest))
    titles = {"dr2[N=4,tau=20]": "DR2 (N=4, τ=20)", "gfpgan": HOSTILE}
    for label, title in titles.items():
        manifest["restorers"][label]["display"] = title
    small = only_cells(
        dataclasses.replace(run, manifest=manifest), ("blur", 1), ("blur", 3), ("none", 0)
    )
    report = analyse(small, resamples=20)
    tables = [report.paper, *report.tables, *report.auc_tables, *report.robustness_tables]
    wins = report.wins.rename_axis("restorer").reset_index()
    return latex.render(tables, [("Wins / ties / losses", "wins", wins)])


def test_the_source_is_well_formed_booktabs(tables_tex):
    check_latex(tables_tex)
    assert r"DR2 (N=4, $\tau$=20)" in tables_tex
    assert r"my\_restorer 50\% \& co \#1" in tables_tex
    assert "dr2{[}N=8,tau=35{]}" in tables_tex  # a label without a title: brackets escaped


def test_the_checker_catches_broken_latex(tables_tex):
    broken = {
        "raw underscore": tables_tex.replace(r"my\_restorer", "my_restorer"),
        "raw bracket": tables_tex.replace("dr2{[}N=8", "dr2[N=8"),
        "missing cell": tables_tex.replace(r"\textbf{", r"\textbf{x} \\ %", 1),
        "no rule": tables_tex.replace(r"\bottomrule", "", 1),
        "unicode": tables_tex.replace(r"$\tau$", "τ"),
    }
    for what, text in broken.items():
        with pytest.raises(AssertionError):
            check_latex(text)
            pytest.fail(what)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_it_compiles_with_booktabs_alone(tables_tex, tmp_path):
    (tmp_path / "tables.tex").write_text(tables_tex, encoding="utf-8")
    (tmp_path / "paper.tex").write_text(DOCUMENT)
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert (tmp_path / "paper.pdf").read_bytes().startswith(b"%PDF")
