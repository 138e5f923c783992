"""What ``dr2bench list degradations`` shows: every degradation and chain with its ladder.

Imports no torch and no OpenCV: it reads class attributes and chain files only.
"""

from __future__ import annotations

from typing import Any

from bench.chains import available_chains, chains_folder, load_chain
from bench.registry import DEGRADATIONS


def _visible(plugin: Any, level: int | None) -> dict[str, Any]:
    """A sampled degradation's ``specs(level)`` without noise seeds (always drawn from the full
    32-bit range)."""
    specs: dict[str, Any] = plugin.specs(level)
    return {key: spec for key, spec in specs.items() if plugin.fields[key].unit != "seed"}


def degradation_ladder(name: str) -> dict[str, Any]:
    """Ladder (severity -> specs), continuous ranges and units of one degradation."""
    cls = DEGRADATIONS.get(name)
    if not (hasattr(cls, "fields") and hasattr(cls, "specs")):  # its ladder as declared
        return {"ladder": {str(level): specs for level, specs in cls.severities.items()}}
    plugin = DEGRADATIONS.create(name)
    return {
        "units": {key: field.unit for key, field in plugin.fields.items()},
        "ranges": _visible(plugin, None),
        "ladder": {str(level): _visible(plugin, level) for level in plugin.severities},
    }


def chain_rows() -> list[dict[str, Any]]:
    """One row per built-in chain, with each step's specs at every severity it is used at."""
    rows = []
    for name in available_chains():
        chain = load_chain(name)
        ladder = {
            str(severity): [
                {"name": plugin.name, "params": _visible(plugin, level)}
                for plugin, level in chain.plugins(severity)
            ]
            for severity in chain.severities
        }
        rows.append(
            {
                "kind": "chain",
                "name": chain.name,
                "version": chain.version,
                "description": chain.description,
                "source": str(chains_folder() / f"{name}.yaml"),
                "tags": [],
                "sizes": chain.sizes,
                "resize_back": chain.resize_back,
                "ladder": ladder,
            }
        )
    return rows


def with_ladders(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The registry's degradation rows with their ladders, followed by the chain rows."""
    described = []
    for row in rows:
        extra = {} if row["version"] == 0 else degradation_ladder(row["name"])
        described.append({"kind": "degradation", **row, **extra})
    return described + chain_rows()


def table_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The table view: one line per degradation and chain, then its ladder, indented."""
    width = max(len(row["name"]) for row in rows)
    lines = []
    for row in rows:
        lines.append(
            f"{row['kind']:<11} {row['name']:<{width}}  v{row['version']}  {row['description']}"
        )
        if "ranges" in row:
            lines.append(f"    ranges: {_format(row['ranges'])}")
        for level, specs in row.get("ladder", {}).items():
            if row["kind"] == "chain":
                text = " > ".join(f"{step['name']}({_format(step['params'])})" for step in specs)
            else:
                text = _format(specs)
            lines.append(f"    {level}: {text}")
    return lines


def _format(specs: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in specs.items())
