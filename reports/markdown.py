r"""The report as GitHub-flavoured Markdown; figures are linked as ``figures/<name>.png``.

Every string from the data is escaped: HTML special characters become entities and inline
Markdown markup (``\ ` * _ [ ] | ~``) is backslash-escaped, so a file name cannot inject markup.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from reports.document import Code, FrameBlock, Section, Text
from reports.figures import SavedFigure
from reports.tables import MISSING, Entry, Table, format_value, show_entry

if TYPE_CHECKING:
    import pandas as pd

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")  # inline markup; nothing here starts a line


def escape(text: object) -> str:
    """Text that Markdown shows literally.

    Example:
        >>> escape("a_b <script> | c")
        'a\\\\_b &lt;script&gt; \\\\| c'
    """
    return _SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


def render(title: str, sections: list[Section]) -> str:
    """The whole report."""
    lines = [f"# {escape(title)}", ""]
    for section in sections:
        if not section.blocks:
            continue
        lines += [f"## {escape(section.title)}", ""]
        for block in section.blocks:
            lines += [*_block(block), ""]
    return "\n".join(lines).rstrip() + "\n"


def _block(block: object) -> list[str]:
    match block:
        case Text(text=text):
            return [escape(text)]
        case Code(title=title, text=text):
            longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
            fence = "`" * max(3, longest + 1)  # longer than any run of backticks in the text
            return _details(title, [fence, text, fence])
        case Table() as table:
            return render_table(table)
        case FrameBlock(title=title, frame=frame, collapsed=collapsed):
            lines = [f"**{escape(title)}**", "", *render_frame(frame)]
            return _details(title, lines) if collapsed else lines
        case SavedFigure() as figure:
            return [
                f"![{escape(figure.title)}](figures/{figure.name}.png)",
                "",
                f"*{escape(figure.title)}*",
            ]
    raise TypeError(f"unknown block {block!r}")


def _details(title: str, lines: list[str]) -> list[str]:
    """``lines`` folded away under ``title`` until opened."""
    return [f"<details><summary>{escape(title)}</summary>", "", *lines, "", "</details>"]


def render_table(table: Table) -> list[str]:
    """A result table: bold best, underlined second, arrows in the header."""
    header = ["Restorer"]
    for column in table.columns:
        prefix = f"{column.group} " if column.group else ""
        header.append(escape(f"{prefix}{column.label} {column.arrow}"))
    lines = [
        f"**{escape(table.title)}**",
        "",
        _row(header),
        _row(["---"] + ["---:"] * len(table.columns)),
    ]
    for label, entries in table.rows:
        lines.append(_row([escape(table.row_title(label)), *map(_entry, entries)]))
    return [*lines, "", f"*{escape(table.note)}*"]


def _entry(entry: Entry | None) -> str:
    return show_entry(entry, escape, MISSING, "**{}**", "<u>{}</u>")


def render_frame(frame: pd.DataFrame) -> list[str]:
    """A plain data table."""
    lines = [_row([escape(column) for column in frame.columns])]
    lines.append(_row(["---"] * len(frame.columns)))
    for values in frame.itertuples(index=False):
        lines.append(_row([escape(format_value(value)) for value in values]))
    return lines


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
