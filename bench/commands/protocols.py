"""``dr2bench protocols [NAME] [--json]``: the published evaluation protocols dr2bench reproduces.

Without a name, one line per preset (its name and whose tables it reproduces); with a name, the
whole preset: the scripts or paper it follows, its metrics with their parameters, the table layout
and the notes a user needs before comparing with published numbers.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.protocols import ScoreTerm


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="show one preset in full")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def main(args: argparse.Namespace) -> int:
    from bench.protocols import load_protocol, protocol_names

    names = [args.name] if args.name else protocol_names()
    presets = [load_protocol(name) for name in names]
    if args.json:
        print(json.dumps([p.describe() | {"notes": p.notes} for p in presets], indent=2))
        return 0
    if not args.name:
        width = max(len(p.name) for p in presets)
        for preset in presets:
            print(f"{preset.name:<{width}}  {preset.title}")
        print("\n`dr2bench protocols NAME` shows one in full; `protocol: NAME` in a run config or")
        print("`dr2bench score --protocol NAME` uses it.")
        return 0
    preset = presets[0]
    print(f"{preset.name}: {preset.title}\n")
    print(textwrap.fill(f"Follows: {preset.follows}", 100, subsequent_indent="  "))
    print("\nMetrics:")
    for entry in preset.metrics:
        params = entry.get("params")
        print(f"  {entry['name']}" + (f"  {json.dumps(params)}" if params else ""))
    for kind, columns in preset.table.items():
        titles = [f"{preset.titles.get(c, c)} ({c})" for c in columns]
        print(f"\nPaper table, {kind} sets: {', '.join(titles)}")
    if preset.score is not None:
        print(f"\n{preset.score.title} = sum of:")
        for term in preset.score.terms:
            print(f"  {_term_text(term)}")
        sets = ", ".join(f"{name} {weight:g}" for name, weight in preset.score.test_sets.items())
        print(f"  (per-image metrics: test-set means weighted by {sets})")
    if preset.gate is not None:
        limits = ", ".join(f"{name} {value:g}" for name, value in preset.gate.thresholds.items())
        print(f"\nIdentity check: {preset.gate.metric} below {limits}")
    print("\n" + textwrap.fill(f"Notes: {preset.notes}", 100, subsequent_indent="  "))
    return 0


def _term_text(term: ScoreTerm) -> str:
    """``max(0, (100 - fid) / 100)`` for a term."""
    x = term.metric if term.minus_from is None else f"({term.minus_from:g} - {term.metric})"
    text = x if term.divide_by == 1 else f"{x} / {term.divide_by:g}"
    return text if term.at_least is None else f"max({term.at_least:g}, {text})"
