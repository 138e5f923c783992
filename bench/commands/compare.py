"""``dr2bench compare RUN_A RUN_B [RUN_C ...]``: each later run against the first.

For the images the runs share: both means, the paired difference with its bootstrap interval and
the Wilcoxon test per cell, restorer and metric; set metrics side by side; the cells only one run
has; what differs in their configurations. Written as Markdown, LaTeX, HTML and CSV.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, help="run folders; the first is the base")
    parser.add_argument(
        "--out", type=Path, default=Path("compare"), help="folder for the files (default compare/)"
    )


def main(args: argparse.Namespace) -> int:
    from bench.config import ConfigError
    from bench.files import atomic_write_text
    from reports.compare import compare_runs, html, latex, markdown
    from reports.results import load_results

    if len(args.runs) < 2:
        raise ConfigError("compare needs at least two run folders")
    base = load_results(args.runs[0])
    for other in args.runs[1:]:
        comparison = compare_runs(base, load_results(other))
        stem = args.out / f"{other.name}-vs-{args.runs[0].name}"
        for suffix, render in ((".md", markdown), (".tex", latex), (".html", html)):
            atomic_write_text(stem.with_suffix(suffix), render(comparison))
        atomic_write_text(stem.with_suffix(".csv"), comparison.differences.to_csv(index=False))
        better = comparison.differences["better"].value_counts().to_dict()
        print(
            f"{other} against {args.runs[0]}: {len(comparison.differences)} comparisons "
            f"({better.get('second', 0)} better, {better.get('first', 0)} worse, "
            f"{better.get('no evidence', 0)} without evidence, {better.get('too few', 0)} with "
            f"too few images to tell); {len(comparison.only)} cells "
            f"in one run only -> {stem}.md/.tex/.html/.csv"
        )
        for note in comparison.notes:
            print(f"  note: {note}")
    return 0
