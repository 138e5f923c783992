"""The report's tables as LaTeX (booktabs), ready to ``\\input`` into a paper.

Every string from the data is escaped (the ten LaTeX special characters, ``<``, ``>``, square
brackets as ``{[}`` and ``{]}`` so that none is read as an optional argument, and Greek letters
and the symbols the report writes as math), so a restorer or dataset name cannot break the
document; the file compiles with pdflatex and booktabs alone (test:
``tests/reports/test_report_latex.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.tables import Entry, Table, column_groups, format_value, show_entry

if TYPE_CHECKING:
    import pandas as pd

_REPLACEMENTS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "[": "{[}",
    "]": "{]}",
    "±": r"$\pm$",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "–": "--",
    "×": r"$\times$",
    "≤": r"$\leq$",
    "≥": r"$\geq$",
    # Greek letters of parameter names, in labels such as "DR2 (N=4, τ=20)"
    "α": r"$\alpha$",
    "β": r"$\beta$",
    "γ": r"$\gamma$",
    "δ": r"$\delta$",
    "ε": r"$\epsilon$",
    "η": r"$\eta$",
    "θ": r"$\theta$",
    "λ": r"$\lambda$",
    "μ": r"$\mu$",
    "σ": r"$\sigma$",
    "τ": r"$\tau$",
    "ω": r"$\omega$",
}
PREAMBLE = (
    "% Tables of a dr2bench report. Needs \\usepackage{booktabs} in the preamble.\n"
    "% Best in bold, second underlined.\n"
)


def escape(text: object) -> str:
    """Text that LaTeX typesets literally.

    Example:
        >>> escape("a_b & 50%")
        'a\\\\_b \\\\& 50\\\\%'
    """
    return "".join(_REPLACEMENTS.get(char, char) for char in str(text))


def render_table(table: Table) -> str:
    """One ``table`` environment with a booktabs ``tabular``."""
    lines = [
        r"\begin{table}[t]",
        r"  \centering",
        f"  \\caption{{{escape(table.title)}: {escape(table.note)}.}}",
        f"  \\label{{tab:{table.key}}}",
        f"  \\begin{{tabular}}{{l{'r' * len(table.columns)}}}",
        r"    \toprule",
        *_group_header(table),
        "    Method & "
        + " & ".join(escape(f"{column.label} {column.arrow}") for column in table.columns)
        + r" \\",
        r"    \midrule",
    ]
    for label, entries in table.rows:
        lines.append(
            "    " + " & ".join([escape(table.row_title(label)), *map(_entry, entries)]) + r" \\"
        )
    lines += [r"    \bottomrule", r"  \end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _group_header(table: Table) -> list[str]:
    groups = column_groups(table)
    if all(not name for name, _ in groups):
        return []
    cells, rules, start = [""], [], 2
    for name, span in groups:
        cells.append(f"\\multicolumn{{{span}}}{{c}}{{{escape(name)}}}")
        if name:
            rules.append(f"\\cmidrule(lr){{{start}-{start + span - 1}}}")
        start += span
    return ["    " + " & ".join(cells) + r" \\", "    " + " ".join(rules)]


def _entry(entry: Entry | None) -> str:
    return show_entry(entry, escape, "--", "\\textbf{{{}}}", "\\underline{{{}}}")


def render_frame(frame: pd.DataFrame, title: str, key: str) -> str:
    """A plain data table (all columns left-aligned)."""
    lines = [
        r"\begin{table}[t]",
        r"  \centering",
        f"  \\caption{{{escape(title)}.}}",
        f"  \\label{{tab:{key}}}",
        f"  \\begin{{tabular}}{{{'l' * len(frame.columns)}}}",
        r"    \toprule",
        "    " + " & ".join(escape(column) for column in frame.columns) + r" \\",
        r"    \midrule",
    ]
    for values in frame.itertuples(index=False):
        lines.append("    " + " & ".join(escape(format_value(value)) for value in values) + r" \\")
    lines += [r"    \bottomrule", r"  \end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def render(tables: list[Table], frames: list[tuple[str, str, pd.DataFrame]]) -> str:
    """All tables, then the plain ``(title, key, frame)`` tables, in one file."""
    parts = [PREAMBLE, *(render_table(table) for table in tables)]
    parts += [render_frame(frame, title, key) for title, key, frame in frames]
    return "\n".join(parts)
