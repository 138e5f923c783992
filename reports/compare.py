"""Comparing runs: the images two runs share, their paired differences, and what only one has.

A researcher compares a run before and after a change (of a method, its parameters, or
dr2bench itself). Rows are paired by (dataset, chain, severity, seed, restorer, image id); when
the two runs were made with different seeds (as many of them), the seeds are paired in sorted
order and the pairing is stated. For each cell, restorer and per-image metric the comparison
gives both means, the mean paired difference (second minus first) with a bootstrap interval, the
Wilcoxon signed-rank p-value and which run is better at ``alpha``; set metrics (FID, KID) are
listed side by side; rows only one run has are counted; differences of configuration (metric
conventions, restorer versions and parameters, dr2bench version) are notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from reports.pairwise import ALPHA, pairs_needed
from reports.stats import CONFIDENCE, RESAMPLES, SEED, bootstrap_ci, wilcoxon_p

if TYPE_CHECKING:
    import pandas as pd

    from reports.document import Section
    from reports.results import Results

CELL = ["dataset", "chain", "severity", "seed", "restorer"]
KEYS = [*CELL, "image_id"]


@dataclass(frozen=True)
class Comparison:
    """Two runs compared (``second`` minus ``first``).

    Attributes:
        names: The two run folders' names.
        differences: One row per cell, restorer and per-image metric: ``n`` pairs, both means,
            ``difference`` with ``low`` and ``high`` (bootstrap interval), ``p`` and ``better``.
        sets: Set metric values of the cells both runs have, side by side.
        only: Cells (with their restorer) only one run has, and how many rows.
        notes: What differs in the two runs' configurations, and how seeds were paired.
    """

    names: tuple[str, str]
    differences: pd.DataFrame
    sets: pd.DataFrame
    only: pd.DataFrame
    notes: list[str]


def compare_runs(
    first: Results,
    second: Results,
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> Comparison:
    """Compare ``second`` with ``first`` (see the module's docstring)."""
    import pandas as pd

    notes = config_notes(first.manifest, second.manifest)
    a, b = first.ok_records(), second.ok_records()
    b, note = _pair_seeds(a, b)
    notes += [note] if note else []
    metrics = [m for m in first.image_metrics if m in second.image_metrics]
    joined = a.merge(b, on=KEYS, suffixes=("_a", "_b"))
    rows = []
    for cell, group in joined.groupby(CELL, sort=True):
        for metric in metrics:
            pairs = group[[f"{metric}_a", f"{metric}_b"]].dropna().to_numpy(dtype=np.float64)
            if len(pairs) == 0:
                continue
            interval = bootstrap_ci(
                pairs[:, 1] - pairs[:, 0], resamples=resamples, confidence=confidence, seed=seed
            )
            p = wilcoxon_p(pairs[:, 1], pairs[:, 0])
            higher = first.metrics[metric].higher_is_better
            rows.append(
                dict(zip(CELL, cell, strict=True))
                | {
                    "metric": metric,
                    "n": len(pairs),
                    "first": float(pairs[:, 0].mean()),
                    "second": float(pairs[:, 1].mean()),
                    "difference": interval.mean,
                    "low": interval.low,
                    "high": interval.high,
                    "p": p,
                    "better": _better(interval.mean, p, higher, len(pairs)),
                }
            )
    columns = [*CELL, "metric", "n", "first", "second", "difference", "low", "high", "p", "better"]
    differences = pd.DataFrame(rows, columns=columns)
    return Comparison(
        (first.folder.name, second.folder.name),
        differences,
        _sets(first.sets, _pair_seeds(first.sets, second.sets)[0]),
        _only(a, b),
        notes,
    )


def _better(difference: float, p: float, higher_is_better: bool, pairs: int) -> str:
    if pairs < pairs_needed(1):  # the test cannot reach ALPHA with so few pairs
        return "too few"
    if not np.isfinite(p) or p >= ALPHA:
        return "no evidence"
    return "second" if (difference > 0) == higher_is_better else "first"


def _pair_seeds(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """``b`` with its seeds renamed to ``a``'s in sorted order, when the runs used different
    seeds, as many of them; else ``b`` unchanged."""
    seeds_a, seeds_b = sorted(set(a["seed"])), sorted(set(b["seed"]))
    if seeds_a == seeds_b or len(seeds_a) != len(seeds_b) or not seeds_a:
        return b, None
    mapping = dict(zip(seeds_b, seeds_a, strict=True))
    paired = ", ".join(f"{x} (first) with {y} (second)" for y, x in mapping.items())
    return b.assign(seed=b["seed"].map(mapping)), f"seeds paired in sorted order: {paired}"


def _sets(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    keys = [*CELL, "metric"]
    merged = a[[*keys, "value"]].merge(b[[*keys, "value"]], on=keys, suffixes=("_a", "_b"))
    merged = merged.rename(columns={"value_a": "first", "value_b": "second"})
    return merged.assign(difference=merged["second"] - merged["first"])


def _only(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    counts_a = a.groupby(CELL).size().rename("rows_a")
    counts_b = b.groupby(CELL).size().rename("rows_b")
    both = counts_a.to_frame().join(counts_b, how="outer").fillna(0).astype(int).reset_index()
    alone = both[(both["rows_a"] == 0) | (both["rows_b"] == 0)]
    return alone.assign(run=np.where(alone["rows_a"] > 0, "first", "second")).reset_index(drop=True)


def config_notes(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    """What differs between two manifests that changes what the numbers mean."""
    notes = []
    for key in ("dr2bench_version", "git_commit"):
        if first.get(key) != second.get(key):
            notes.append(f"{key}: {first.get(key)} -> {second.get(key)}")
    checked = (("metrics", ("version", "config")), ("restorers", ("version", "params")))
    for section, fields in checked:
        ours, theirs = first.get(section, {}), second.get(section, {})
        for name in sorted(set(ours) & set(theirs)):
            for field in fields:
                if ours[name].get(field) != theirs[name].get(field):
                    notes.append(f"{section[:-1]} {name}: different {field}")
    return notes


def sections(comparison: Comparison) -> list[Section]:
    """The comparison as report sections (rendered as Markdown and HTML)."""
    from reports.document import FrameBlock, Section, Text

    first, second = comparison.names
    intro = (
        f"Differences are {second} minus {first}: the mean paired difference with its "
        f"{CONFIDENCE:.0%} bootstrap interval (low, high), the Wilcoxon signed-rank p-value, and "
        f"the better run where p < {ALPHA} ('no evidence' otherwise; 'too few' under "
        f"{pairs_needed(1)} pairs, where the test cannot reach p < {ALPHA} whatever the data)."
    )
    blocks: list[Any] = [Text(intro), *(Text(f"Note: {note}.") for note in comparison.notes)]
    blocks += [FrameBlock(title, frame) for title, frame in _frames(comparison)]
    return [Section(f"{second} against {first}", tuple(blocks))]


def markdown(comparison: Comparison) -> str:
    """The comparison as a Markdown document."""
    from reports.markdown import render

    return render(_title(comparison), sections(comparison))


def html(comparison: Comparison) -> str:
    """The comparison as one self-contained HTML page."""
    from reports.html import render

    return render(_title(comparison), "dr2bench compare", sections(comparison))


def _title(comparison: Comparison) -> str:
    return f"dr2bench comparison: {' vs '.join(reversed(comparison.names))}"


def latex(comparison: Comparison) -> str:
    """The comparison's tables as LaTeX (booktabs)."""
    from reports.latex import render

    frames = [
        (title, f"compare-{i}", frame) for i, (title, frame) in enumerate(_frames(comparison))
    ]
    return render([], frames)


def _frames(comparison: Comparison) -> list[tuple[str, pd.DataFrame]]:
    frames = [("Per-image metrics", comparison.differences)]
    if len(comparison.sets):
        frames.append(("Set metrics", comparison.sets))
    if len(comparison.only):
        frames.append(("Cells only one run has", comparison.only))
    return frames
