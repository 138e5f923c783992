"""``dr2bench list [{degradations,restorers,metrics,datasets}] [--json]``: every kind if none."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from bench.registry import REGISTRIES, PluginInfo, Registry, RegistryError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "kind", nargs="?", choices=sorted(REGISTRIES), help="which registry to list (default: all)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def describe(registry: Registry) -> list[dict]:
    """One dict per plugin; a plugin that fails to load is listed with its error."""
    rows = []
    for name in registry.names():
        try:
            info = registry.info(name)
        except RegistryError as exc:
            info = PluginInfo(name=name, version=0, description=f"BROKEN: {exc}", source="?")
        rows.append(asdict(info) | {"tags": list(info.tags)})
    return rows


def main(args: argparse.Namespace) -> int:
    kinds = [args.kind] if args.kind else sorted(REGISTRIES)
    listed = {kind: rows_of(kind) for kind in kinds}
    if args.json:
        print(json.dumps(listed[args.kind] if args.kind else listed, indent=2))
        return 0
    for kind, rows in listed.items():
        if not args.kind:
            print(f"{kind}:")
        print("\n".join(lines(kind, rows)))
    return 0


def rows_of(kind: str) -> list[dict]:
    rows = describe(REGISTRIES[kind])
    if kind == "degradations":
        from bench.catalog import with_ladders  # ladders and chains; no torch

        rows = with_ladders(rows)
    return rows


def lines(kind: str, rows: list[dict]) -> list[str]:
    """The table of one registry."""
    if not rows:
        return [f"no {kind} registered"]
    if kind == "degradations":
        from bench.catalog import table_lines

        return table_lines(rows)
    width = max(len(row["name"]) for row in rows)
    return [
        f"{row['name']:<{width}}  v{row['version']}  {row['description']}"
        + (f" [tags: {', '.join(row['tags'])}]" if row["tags"] else "")
        for row in rows
    ]
