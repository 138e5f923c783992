"""The report as HTML pages in one self-contained folder: inline CSS, figures linked relatively.

A page loads nothing but images of its own folder: no external URLs, no scripts but the
drill-down pages' sorting script (allowed by its hash), and a Content-Security-Policy that
forbids anything else, so the folder opens offline and a hostile string could not run even if it
slipped through. Every string from the data (file names, labels, config values, errors) goes
through :func:`html.escape`.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Mapping
from typing import TYPE_CHECKING

from reports.document import Code, FrameBlock, Section, Text
from reports.figures import SavedFigure
from reports.tables import MISSING, Entry, Table, column_groups, format_value, show_entry

if TYPE_CHECKING:
    import pandas as pd

# file: for browsers in which 'self' does not match the page's own folder when opened offline
POLICY = "default-src 'none'; img-src 'self' file:; style-src 'unsafe-inline'"
CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       color: #1b1b1b; background: #fff; }
header { background: #0b3c5d; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; opacity: .85; }
nav { padding: 10px 32px; border-bottom: 1px solid #ddd; background: #f6f8fa; }
nav a { margin-right: 16px; color: #0b3c5d; text-decoration: none; }
main { padding: 8px 32px 48px; max-width: 1400px; }
h2 { border-bottom: 2px solid #0b3c5d; padding-bottom: 4px; margin-top: 36px; }
table { border-collapse: collapse; margin: 8px 0 4px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e1e4e8; text-align: right;
         white-space: nowrap; }
th { background: #f6f8fa; }
td:first-child, th:first-child { text-align: left; }
tr:nth-child(even) td { background: #fbfbfc; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 0; }
p.note { margin: 0 0 18px; color: #555; font-size: 12px; }
figure { margin: 18px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: 13px; }
pre { background: #f6f8fa; padding: 8px; overflow: auto; font-size: 12px; }
details { margin: 8px 0; }
.scroll { overflow-x: auto; }
td img { display: block; }
th button { font: inherit; border: 0; background: none; padding: 0; cursor: pointer; }
th[aria-sort="ascending"] button::after { content: " ▲"; }
th[aria-sort="descending"] button::after { content: " ▼"; }
"""


def escape(text: object) -> str:
    """HTML-escaped text (quotes included)."""
    return html.escape(str(text), quote=True)


def render(
    title: str,
    subtitle: str,
    sections: list[Section],
    links: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """The whole report as one HTML document; ``links`` maps (table key, restorer) to the page
    its row of that table links to (:mod:`reports.drilldown`)."""
    shown = [section for section in sections if section.blocks]
    nav = " ".join(f'<a href="#{escape(s.anchor)}">{escape(s.title)}</a>' for s in shown)
    parts = []
    for section in shown:
        parts += [f'<section id="{escape(section.anchor)}">', f"<h2>{escape(section.title)}</h2>"]
        parts += [_block(block, links or {}) for block in section.blocks]
        parts.append("</section>")
    return page(title, subtitle, nav, "\n".join(parts))


def page(title: str, subtitle: str, nav: str, body: str, script: str = "") -> str:
    """An HTML document: ``nav`` and ``body`` are HTML; ``script`` (trusted, not data) runs at the
    end of the body, allowed by its hash."""
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = f"{POLICY}; script-src 'sha256-{digest}'" if script else POLICY
    ending = f"<script>{script}</script>\n" if script else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>
<nav>{nav}</nav>
<main>
{body}
</main>
{ending}</body>
</html>
"""


def _block(block: object, links: Mapping[tuple[str, str], str]) -> str:
    match block:
        case Text(text=text):
            return f"<p>{escape(text)}</p>"
        case Code(title=title, text=text):
            return _details(title, f"<pre>{escape(text)}</pre>")
        case Table() as table:
            return render_table(table, links)
        case FrameBlock(title=title, frame=frame, collapsed=collapsed):
            rendered = render_frame(frame, title)
            return _details(f"{title} ({len(frame)} rows)", rendered) if collapsed else rendered
        case SavedFigure() as figure:
            return (
                f'<figure id="{escape(figure.name)}"><img alt="{escape(figure.title)}" '
                f'loading="lazy" src="figures/{escape(figure.files[0].name)}">'
                f"<figcaption>{escape(figure.title)} "
                f"(files: {escape(', '.join(path.name for path in figure.files))})"
                "</figcaption></figure>"
            )
    raise TypeError(f"unknown block {block!r}")


def _details(summary: str, body: str) -> str:
    """``body`` (HTML) folded away under ``summary`` (text) until opened."""
    return f"<details><summary>{escape(summary)}</summary>{body}</details>"


def render_table(table: Table, links: Mapping[tuple[str, str], str] | None = None) -> str:
    """A result table: bold best, underlined second, arrows in the header; a row whose
    (table key, restorer) is in ``links`` links its label and values to that page."""
    links = links or {}
    rows = []
    if any(column.group for column in table.columns):
        groups = "".join(
            f'<th colspan="{span}">{escape(name)}</th>' for name, span in column_groups(table)
        )
        rows.append(f"<tr><th></th>{groups}</tr>")
    header = "".join(f"<th>{escape(column.label)} {column.arrow}</th>" for column in table.columns)
    rows.append(f"<tr><th>Restorer</th>{header}</tr>")
    linked = False
    for label, entries in table.rows:
        href = links.get((table.key, label))
        linked |= href is not None
        cells = "".join(f"<td>{_link(_entry(entry), href)}</td>" for entry in entries)
        rows.append(f"<tr><td>{_link(escape(table.row_title(label)), href)}</td>{cells}</tr>")
    note = table.note + ("; each row links to its images and per-image values" if linked else "")
    return (
        f'<div class="scroll" id="{escape(table.key)}"><table><caption>{escape(table.title)}'
        f'</caption>{"".join(rows)}</table></div><p class="note">{escape(note)}</p>'
    )


def _link(text: str, href: str | None) -> str:
    return text if href is None else f'<a href="{escape(href)}">{text}</a>'


def _entry(entry: Entry | None) -> str:
    return show_entry(entry, escape, MISSING, "<strong>{}</strong>", "<u>{}</u>")


def render_frame(frame: pd.DataFrame, title: str) -> str:
    """A plain data table."""
    header = "".join(f"<th>{escape(column)}</th>" for column in frame.columns)
    rows = [
        "<tr>" + "".join(f"<td>{escape(format_value(value))}</td>" for value in values) + "</tr>"
        for values in frame.itertuples(index=False)
    ]
    return (
        f'<div class="scroll"><table><caption>{escape(title)}</caption>'
        f"<tr>{header}</tr>{''.join(rows)}</table></div>"
    )
