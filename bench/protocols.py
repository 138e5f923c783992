"""Protocol presets: the metrics, parameters, references and table layout of a published evaluation.

A preset is data, one YAML file per protocol in ``metrics/protocols/``. ``protocol: NAME``
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

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import ConfigError, build, load_yaml, to_dict
from bench.registry import suggest


def presets_dir() -> Path:
    """Where the presets live: ``metrics/protocols`` (data; the metrics package is not imported)."""
    from bench.weights import package_dir

    folder = package_dir("metrics")
    if folder is None:
        raise ConfigError(
            "the 'metrics' package of dr2bench is not installed (it holds the presets)"
        )
    return folder / "protocols"


@dataclass(frozen=True)
class ScoreTerm:
    """One term of a weighted score: ``x / divide_by``, or ``(minus_from - x) / divide_by`` for
    a lower-is-better metric, raised to ``at_least`` when given.

    Example:
        >>> ScoreTerm("fid", minus_from=100, divide_by=100, at_least=0).value(35.0)
        0.65
    """

    metric: str
    minus_from: float | None = None
    divide_by: float = 1.0
    at_least: float | None = None

    def value(self, x: float) -> float:
        """The term of the metric value ``x``."""
        term = (x if self.minus_from is None else self.minus_from - x) / self.divide_by
        return term if self.at_least is None else max(self.at_least, term)


@dataclass(frozen=True)
class WeightedScore:
    """A challenge's single number: the sum of its terms, each from a metric's overall value.

    Attributes:
        title: Its name in tables.
        terms: The terms.
        test_sets: The challenge's test sets and their weights (image counts): a per-image
            metric's overall value is the weighted mean of its per-test-set means. An image's
            test set is the first folder of its id (see :func:`test_set_of`).
    """

    title: str
    terms: tuple[ScoreTerm, ...]
    test_sets: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class IdentityGate:
    """An identity check: images whose ``metric`` is below their test set's threshold count as
    low-identity (the challenge's ``low_ID_Sim``)."""

    metric: str
    thresholds: dict[str, float]


@dataclass(frozen=True)
class ScoreResult:
    """A weighted score, or why there is none.

    Attributes:
        total: The sum of the terms, or ``None`` when a term is missing (no score is invented).
        terms: Each term's value by metric (``None`` where missing).
        missing: Why each missing term is missing, by metric.
    """

    total: float | None
    terms: dict[str, float | None]
    missing: dict[str, str]


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
    score: WeightedScore | None = None
    gate: IdentityGate | None = None

    def describe(self) -> dict[str, Any]:
        """The preset as JSON-ready data (what the manifest records)."""
        return {
            "name": self.name,
            "title": self.title,
            "follows": self.follows,
            "metrics": [dict(entry) for entry in self.metrics],
            "table": {kind: list(labels) for kind, labels in self.table.items()},
            "titles": dict(self.titles),
            "score": to_dict(self.score),
            "gate": to_dict(self.gate),
        }


def protocol_names() -> list[str]:
    """Every preset's name, sorted."""
    return sorted(path.stem for path in presets_dir().glob("*.yaml"))


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
    path = presets_dir() / f"{name}.yaml"
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


def test_set_of(image_id: str, names: list[str] | tuple[str, ...]) -> str | None:
    """The test set an image belongs to: the first folder of its id, matched to ``names``
    ignoring case and a ``-test`` suffix (``lfw/x.png`` is in ``LFW-Test``); ``None`` if none.

    Example:
        >>> test_set_of("wider/0012.png", ["CelebA", "Wider-Test"])
        'Wider-Test'
    """
    folder = image_id.split("/", 1)[0] if "/" in image_id else ""
    wanted = _plain(folder)
    return next((name for name in names if _plain(name) == wanted), None)


def _plain(name: str) -> str:
    name = name.casefold()
    return name[: -len("-test")] if name.endswith("-test") else name


def overall_mean(score: WeightedScore, values: dict[str, float]) -> tuple[float | None, str | None]:
    """A per-image metric's overall value: the test-set-weighted mean of ``values`` (by image id).

    Returns ``(value, None)``, or ``(None, why)`` when an image belongs to no test set or a test
    set has no value.
    """
    names = list(score.test_sets)
    groups: dict[str, list[float]] = {name: [] for name in names}
    for image_id, value in values.items():
        name = test_set_of(image_id, names)
        if name is None:
            return None, f"image '{image_id}' is in none of the test sets ({', '.join(names)})"
        if math.isfinite(value):
            groups[name].append(value)
    empty = [name for name, group in groups.items() if not group]
    if empty:
        return None, f"no value on the test set {empty[0]}"
    total = sum(score.test_sets.values())
    weighted = sum(sum(g) / len(g) * score.test_sets[n] for n, g in groups.items())
    return weighted / total, None


def weighted_score(
    score: WeightedScore, overall: dict[str, float | None], why: dict[str, str]
) -> ScoreResult:
    """The score from each metric's overall value; a missing value leaves the total out.

    ``why`` gives the reason for metrics without a value (unavailable weights, failures).
    """
    terms: dict[str, float | None] = {}
    missing: dict[str, str] = {}
    for term in score.terms:
        value = overall.get(term.metric)
        if value is None or not math.isfinite(value):
            terms[term.metric] = None
            missing[term.metric] = why.get(term.metric, "no value")
        else:
            terms[term.metric] = term.value(value)
    total = None if missing else sum(v for v in terms.values() if v is not None)
    return ScoreResult(total, terms, missing)


def gate_counts(gate: IdentityGate, values: dict[str, float]) -> dict[str, tuple[int, int]]:
    """Images under their test set's threshold, and images scored, per test set and ``All``.

    Images of no test set, and images without a value, are not counted.
    """
    names = list(gate.thresholds)
    counts = {name: [0, 0] for name in [*names, "All"]}
    for image_id, value in values.items():
        name = test_set_of(image_id, names)
        if name is None or not math.isfinite(value):
            continue
        low = int(value < gate.thresholds[name])
        for key in (name, "All"):
            counts[key][0] += low
            counts[key][1] += 1
    return {name: (low, n) for name, (low, n) in counts.items()}


def _check_table(protocol: Protocol, path: Path) -> None:
    labels = {label_of(entry) for entry in protocol.metrics}
    for kind, columns in protocol.table.items():
        if kind not in ("synthetic", "real"):
            raise ConfigError(f"{path}: table kind '{kind}' is not 'synthetic' or 'real'")
        unknown = [column for column in columns if column not in labels]
        if unknown:
            raise ConfigError(f"{path}: table.{kind} names '{unknown[0]}', not one of its metrics")
    named = [t.metric for t in protocol.score.terms] if protocol.score else []
    named += [protocol.gate.metric] if protocol.gate else []
    unknown = [name for name in named if name not in labels]
    if unknown:
        raise ConfigError(f"{path}: score or gate names '{unknown[0]}', not one of its metrics")
