"""Protocol presets: the metrics, parameters, references and table layout of a published evaluation.

A preset is data, one YAML file per protocol in ``bench/metrics/protocols/``. ``protocol: NAME``
in a run config (or ``dr2bench score --protocol NAME``) expands to its metrics; entries of the
config's own ``metrics`` with the same label update a preset entry's parameters (for example a
local path for the FID statistics) and other entries are added after it. The run manifest records
the preset and its expansion. ``dr2bench protocols`` lists them with the script or paper each one
follows.

Example:
    >>> protocol = load_protocol("vqfr")  # doctest: +SKIP
    >>> [entry["name"] for entry in protocol.metrics][:3]
    ['psnr.vqfr', 'ssim.vqfr', 'lpips.vgg']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import ConfigError, build, load_yaml
from bench.registry import suggest

PRESETS = Path(__file__).parent / "metrics" / "protocols"


@dataclass(frozen=True)
class Protocol:
    """A published evaluation protocol.

    Attributes:
        name: The preset's name (its file name).
        title: One line: whose tables it reproduces.
        follows: The scripts or paper sections it follows, precisely enough to find them.
        notes: What a user must know to compare with the published numbers.
        metrics: Metric entries as in a run config (``name``, optional ``params`` and ``label``).
        table: Column labels of the paper table, by dataset kind (``synthetic``, ``real``).
        titles: Column titles of the paper table, by metric label.
    """

    name: str
    title: str
    follows: str
    notes: str
    metrics: tuple[dict[str, Any], ...]
    table: dict[str, tuple[str, ...]] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The preset as JSON-ready data (what the manifest records)."""
        return {
            "name": self.name,
            "title": self.title,
            "follows": self.follows,
            "metrics": [dict(entry) for entry in self.metrics],
            "table": {kind: list(labels) for kind, labels in self.table.items()},
            "titles": dict(self.titles),
        }


def protocol_names() -> list[str]:
    """Every preset's name, sorted."""
    return sorted(path.stem for path in PRESETS.glob("*.yaml"))


def load_protocol(name: str) -> Protocol:
    """The preset ``name``.

    Raises:
        ConfigError: no such preset (with the closest name), or a malformed preset file.
    """
    names = protocol_names()
    if name not in names:
        raise ConfigError(
            f"unknown protocol '{name}'{suggest(name, names)} (known: {', '.join(names)})"
        )
    path = PRESETS / f"{name}.yaml"
    data = load_yaml(path)
    if not isinstance(data, Mapping) or data.get("name") != name:
        raise ConfigError(f"{path}: a protocol preset is a mapping whose 'name' is '{name}'")
    data = dict(data)
    data["metrics"] = [
        metric_entry(m, f"{path}: metrics[{i}]") for i, m in enumerate(data["metrics"])
    ]
    data["table"] = {kind: tuple(labels) for kind, labels in data.get("table", {}).items()}
    protocol = build(Protocol, data, where=str(path))
    _check_table(protocol, path)
    return protocol


def metric_entry(entry: Any, where: str) -> dict[str, Any]:
    """A metric entry as a mapping: ``"psnr"`` becomes ``{"name": "psnr"}``."""
    if isinstance(entry, str):
        return {"name": entry}
    if isinstance(entry, Mapping) and "name" in entry:
        return dict(entry)
    raise ConfigError(f"{where}: expected a metric name or a mapping with 'name', got {entry!r}")


def label_of(entry: Mapping[str, Any]) -> str:
    """The column name of a metric entry: its ``label``, else its ``name``."""
    return str(entry.get("label") or entry["name"])


def expand(protocol: Protocol, own: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The preset's metric entries, updated and extended by the config's ``own`` entries.

    An own entry with a preset entry's label updates that entry's ``params`` (and may rename its
    plugin); any other own entry is added after the preset's.
    """
    merged = {label_of(entry): dict(entry) for entry in protocol.metrics}
    for entry in own:
        label = label_of(entry)
        if label not in merged:
            merged[label] = dict(entry)
            continue
        preset = merged[label]
        params = dict(preset.get("params") or {}) | dict(entry.get("params") or {})
        merged[label] = preset | dict(entry) | ({"params": params} if params else {})
    return list(merged.values())


def _check_table(protocol: Protocol, path: Path) -> None:
    labels = {label_of(entry) for entry in protocol.metrics}
    for kind, columns in protocol.table.items():
        if kind not in ("synthetic", "real"):
            raise ConfigError(f"{path}: table kind '{kind}' is not 'synthetic' or 'real'")
        unknown = [column for column in columns if column not in labels]
        if unknown:
            raise ConfigError(f"{path}: table.{kind} names '{unknown[0]}', not one of its metrics")
