"""The report as a sequence of sections of blocks, rendered by :mod:`reports.markdown` and
:mod:`reports.html` (the two formats show the same content in the same order).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.run.records import KEY_COLUMNS, SET_KEY_COLUMNS, count_failures
from reports.contents import Report
from reports.figure_set import FigureSet
from reports.figures import SavedFigure
from reports.tables import Table, slug

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Text:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Code:
    """Preformatted text (JSON) under a title; folded away until opened."""

    title: str
    text: str


@dataclass(frozen=True)
class FrameBlock:
    """A plain data table; ``collapsed`` ones are folded away until opened."""

    title: str
    frame: pd.DataFrame
    collapsed: bool = False


Block = Text | Code | Table | FrameBlock | SavedFigure  # a result table, a saved figure


@dataclass(frozen=True)
class Section:
    """A heading (level 2) and its blocks."""

    title: str
    blocks: tuple[Block, ...]

    @property
    def anchor(self) -> str:
        return slug(self.title.lower())


def build_document(report: Report, figures: FigureSet) -> list[Section]:
    """The sections of the report, in order."""
    return [
        *_tables(report),
        *_comparisons(report),
        *_robustness(report, figures),
        Section("Trade-off", tuple(figures.tradeoff)),
        Section("Qualitative results", tuple(figures.qualitative)),
        Section("Failures", tuple(_failures(report))),
        Section("Notes", tuple(Text(note) for note in [*report.notes, *figures.notes])),
        Section("Provenance", tuple(_provenance(report.run.manifest))),
    ]


def _tables(report: Report) -> list[Section]:
    sections = []
    if report.paper is not None:
        sections.append(Section("Paper layout", (report.paper,)))
    if report.protocol_score is not None:
        protocol = report.run.manifest["protocol"]
        explain = Text(
            f"{(protocol.get('score') or {}).get('title', 'Score')} of the {protocol['name']} "
            "protocol: each term from the metric's overall value, and their total; a row with a "
            "missing term has no total, and says which terms are missing and why. low_identity: "
            "images under their test set's identity threshold / images scored."
        )
        frame = FrameBlock("Protocol score", report.protocol_score)
        sections.append(Section("Protocol score", (explain, frame)))
    sections.append(Section("Results", tuple(report.tables)))
    return sections


def _comparisons(report: Report) -> list[Section]:
    explain = Text(
        "Row restorer against column restorer, over every cell and per-image metric: wins / ties "
        "/ losses, where a win is a Holm-adjusted Wilcoxon p-value below 0.05 with the mean "
        "paired difference in the row restorer's favour."
    )
    few = report.comparisons[report.comparisons["outcome"] == "too few"]
    power = Text(
        f"{len(few)} of {len(report.comparisons)} comparisons have too few images for the test "
        "to reach 0.05 after Holm's adjustment (with m comparisons per cell and metric, at "
        "least the n with m * 2 / 2^n < 0.05: 6 for one, 8 for six); they are not counted as "
        "ties. Add images or seeds to compare them."
    )
    trivial = report.comparisons[report.comparisons["outcome"] == "trivial"]
    run = report.run
    which = [
        f"{metric} for {run.display(label)}"
        for metric in dict.fromkeys(trivial["metric"])
        for label in run.restorers
        if run.trivial(label, metric)
    ]
    same = Text(
        f"Left out of the counts ({len(trivial)} comparisons): {'; '.join(which)}. These "
        "metrics compare an output with the restorer's input, and these restorers return their "
        "input, so they would win by construction."
    )
    blocks = (
        explain,
        *((power,) if len(few) else ()),
        *((same,) if len(trivial) else ()),
        FrameBlock("Wins / ties / losses", report.wins.rename_axis("restorer").reset_index()),
        FrameBlock("Every paired comparison", report.comparisons, collapsed=True),
    )
    return [Section("Paired comparisons", blocks)]


def _robustness(report: Report, figures: FigureSet) -> list[Section]:
    blocks: list[Block] = [*report.auc_tables, *report.robustness_tables]
    if not report.worst.empty:
        blocks.append(FrameBlock("Worst case over degradation types (by area)", report.worst))
    blocks += figures.robustness
    return [Section("Robustness", tuple(blocks))]


def _failures(report: Report) -> list[Block]:
    records = report.run.records
    failed = records[records["status"] != "ok"]
    sets = report.run.sets
    failed_sets = sets[sets["status"] != "ok"]
    skipped = _skipped(report.run.manifest)
    counts = count_failures(records.to_dict("records"), sets.to_dict("records"), len(skipped))
    summary = "; ".join(counts.lines()) or "nothing failed"
    blocks: list[Block] = [Text(f"Of {len(records)} records and {len(sets)} set values: {summary}")]
    if len(failed):
        blocks.append(FrameBlock("Failed records", failed[[*KEY_COLUMNS, "error"]]))
    if len(failed_sets):
        blocks.append(FrameBlock("Failed set values", failed_sets[[*SET_KEY_COLUMNS, "error"]]))
    reasons = _metric_errors(records)
    if len(reasons):
        blocks.append(FrameBlock("Metric values that could not be computed", reasons))
    if len(skipped):
        blocks.append(FrameBlock("Files and faces the datasets left out, with the reason", skipped))
    return blocks


def _skipped(manifest: dict[str, Any]) -> pd.DataFrame:
    """The files the datasets left out (not images, ground truth without an input)."""
    import pandas as pd

    files = (manifest.get("skipped") or {}).get("files") or {}
    rows = [{"dataset": d, "file": note} for d, notes in sorted(files.items()) for note in notes]
    return pd.DataFrame(rows, columns=["dataset", "file"])


def _metric_errors(records: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    counts = Counter(
        (metric, str(reason))
        for row in records[records["status"] == "ok"].to_dict("records")
        for metric, reason in json.loads(row["metric_errors"] or "{}").items()
        if pd.isna(row.get(metric))  # missing, as count_failures counts it
    )
    rows = [{"metric": m, "reason": r, "rows": n} for (m, r), n in sorted(counts.items())]
    return pd.DataFrame(rows, columns=["metric", "reason", "rows"])


def _provenance(manifest: dict[str, Any]) -> list[Block]:
    import pandas as pd

    fields = ["name", "dr2bench_version", "git_commit", "started", "finished"]
    facts = pd.DataFrame([{"field": name, "value": str(manifest.get(name, ""))} for name in fields])
    blocks: list[Block] = [FrameBlock("Run", facts)]
    packages = manifest.get("packages", {})
    if packages:
        rows = [{"package": name, "version": str(v)} for name, v in sorted(packages.items())]
        blocks.append(FrameBlock("Packages", pd.DataFrame(rows), collapsed=True))
    for key in ("hardware", "metrics", "restorers", "config"):
        if key in manifest:
            blocks.append(Code(key, json.dumps(manifest[key], indent=2, sort_keys=True)))
    return blocks
