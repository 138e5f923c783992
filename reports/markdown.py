r"""The report as GitHub-flavoured Markdown; figures are linked as ``figures/<name>.png``.

Every string from the data is escaped: HTML special characters become entities and inline
Markdown markup (``\ ` * _ [ ] | ~``) is backslash-escaped, so a file name cannot inject markup.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from reports.document import Code, FigureBlock, FrameBlock, Section, TableBlock, Text
from reports.tables import MISSING, Entry, Table, format_value

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
        lines += ["#" * section.level + " " + escape(section.title), ""]
        for block in section.blocks:
            lines += [*_block(block), ""]
    return "\n".join(lines).rstrip() + "\n"


def _block(block: object) -> list[str]:
    match block:
        case Text(text=text):
            return [escape(text)]
        case Code(title=title, text=text):
            fence = "`" * max(3, _longest_backtick_run(text) + 1)
            return [
                f"<details><summary>{escape(title)}</summary>",
                "",
                fence,
                text,
                fence,
                "",
                "</details>",
            ]
        case TableBlock(table=table):
            return render_table(table)
        case FrameBlock(title=title, frame=frame, collapsed=collapsed):
            lines = [f"**{escape(title)}**", "", *render_frame(frame)]
            if collapsed:
                return [
                    f"<details><summary>{escape(title)}</summary>",
                    "",
                    *lines,
                    "",
                    "</details>",
                ]
            return lines
        case FigureBlock(figure=figure):
            return [
                f"![{escape(figure.title)}](figures/{figure.name}.png)",
                "",
                f"*{escape(figure.title)}*",
            ]
    raise TypeError(f"unknown block {block!r}")


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


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
    if entry is None:
        return MISSING
    text = escape(entry.text)
    return f"**{text}**" if entry.rank == 1 else f"<u>{text}</u>" if entry.rank == 2 else text


def render_frame(frame: pd.DataFrame) -> list[str]:
    """A plain data table."""
    lines = [_row([escape(column) for column in frame.columns])]
    lines.append(_row(["---"] * len(frame.columns)))
    for values in frame.itertuples(index=False):
        lines.append(_row([escape(format_value(value)) for value in values]))
    return lines


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
