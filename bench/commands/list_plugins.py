"""``dr2bench list {degradations,restorers,metrics,datasets} [--json]``."""

from __future__ import annotations

import argparse
import json

from bench.registry import REGISTRIES, PluginInfo, Registry, RegistryError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=sorted(REGISTRIES), help="which registry to list")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def describe(registry: Registry) -> list[dict]:
    """One dict per plugin; a plugin that fails to load is listed with its error."""
    rows = []
    for name in registry.names():
        try:
            info = registry.info(name)
        except RegistryError as exc:
            info = PluginInfo(name=name, version=0, description=f"BROKEN: {exc}", source="?")
        rows.append(
            {
                "name": info.name,
                "version": info.version,
                "description": info.description,
                "source": info.source,
                "tags": list(info.tags),
            }
        )
    return rows


def main(args: argparse.Namespace) -> int:
    rows = describe(REGISTRIES[args.kind])
    if args.kind == "degradations":
        from bench.catalog import table_lines, with_ladders  # ladders and chains; no torch

        rows = with_ladders(rows)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no {args.kind} registered")
        return 0
    if args.kind == "degradations":
        print("\n".join(table_lines(rows)))
        return 0
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        tags = f" [tags: {', '.join(row['tags'])}]" if row["tags"] else ""
        print(f"{row['name']:<{width}}  v{row['version']}  {row['description']}{tags}")
    return 0
