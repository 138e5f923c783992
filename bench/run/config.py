"""The run config: datasets x chains x severities x restorers (with grids) x metrics x seeds.

Example ``configs/robustness.yaml``::

    name: robustness
    seed: 0
    datasets:
      - {name: hq, kind: folder, path: ../shared/data/hq}
      - {name: wider, kind: folder, path: ../shared/data/real/wider, paired: false}
    degradations:
      - {chain: classic, severities: [1, 3, 5]}
    restorers: [identity, nlmeans, {name: dr2, grid: {N: [4, 8], tau: [20, 35]}}]
    metrics: [psnr, ssim, {name: fid, params: {mode: legacy}}]
    output: runs/robustness

``protocol: NAME`` puts a published protocol's metrics first (:mod:`bench.protocols`); a metric
may appear twice under different ``label``s (FID against the GT and against FFHQ); a dataset's
``reference`` (a folder or statistics file) is what its set metrics compare with, unless a metric
sets its own ``reference``.

Relative paths are relative to the working directory. Every plugin name and parameter is checked
when the config is loaded, so a typo fails before any work starts, naming the file and the key.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.config import ConfigError, build, load_yaml
from bench.files import hash_value
from bench.protocols import expand, load_protocol, metric_entry
from bench.registry import DATASETS, METRICS, RESTORERS, RegistryError

DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")
SAFE_LABEL = re.compile(r"^[A-Za-z0-9_+\-.,=\[\]]+$")


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its name in the run, its plugin kind, the plugin's parameters, and the reference
    set (a folder or statistics file) its set metrics compare with instead of its ground truth."""

    name: str
    kind: str = "folder"
    params: dict[str, Any] = field(default_factory=dict)
    reference: str | None = None


@dataclass(frozen=True)
class DegradationSpec:
    """A degradation chain and the severities to run it at (0 = its full published ranges).

    ``chain`` is a built-in chain's name or the path of a chain YAML file; the run names a file's
    chain (folders, records) by the file's own ``name:``.
    """

    chain: str
    severities: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class RestorerSpec:
    """A restorer, fixed parameters, and a grid of parameters expanded as a product.

    ``label`` names its outputs in the run folder (letters, digits and ``_+-.,=[]``); ``display``
    is its row title in the report's tables, any text, with the grid values filled in by name
    (``"DR2 (N={N}, τ={tau})"``); by default a point's label.
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    label: str | None = None
    display: str | None = None


@dataclass(frozen=True)
class MetricSpec:
    """A metric, its parameters and its column name (``label``, by default the name)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str | None = None

    @property
    def column(self) -> str:
        """The name of its values in records and tables."""
        return self.label or self.name


@dataclass(frozen=True)
class RunConfig:
    """A whole study."""

    name: str
    output: Path
    datasets: tuple[DatasetSpec, ...]
    restorers: tuple[RestorerSpec, ...]
    metrics: tuple[MetricSpec, ...] = ()
    protocol: str | None = None
    degradations: tuple[DegradationSpec, ...] = ()
    seed: int = 0
    seeds: tuple[int, ...] = ()
    batch_size: int = 8
    device: str = "cpu"
    keep_images: Literal["none", "outputs", "all"] = "all"
    limit: int | None = None
    timeout_s: float | None = None
    baseline: str | None = None

    def all_seeds(self) -> tuple[int, ...]:
        """``seeds`` if given, else ``(seed,)``."""
        return self.seeds or (self.seed,)


@dataclass(frozen=True)
class GridPoint:
    """One point of a restorer grid, with what identifies its outputs.

    Attributes:
        label: Its unique name in the run (the restorer, grid values in brackets).
        display: Its row title in the report's tables (its spec's ``display``, else ``label``).
        name: The registered restorer.
        params: The parameters given (what a worker creates the restorer with).
        config: The restorer's full, validated parameters (``Restorer.config()``).
        version: The restorer's version.
        stochastic: Whether its outputs depend on the per-image seeds.
        whole_set: Whether it takes a whole cell in one call.
        weights: sha256 of the files whose bytes decide its outputs, by path.
        keeps_input: Whether its output is its input (``Restorer.keeps_input``).
    """

    label: str
    display: str
    name: str
    params: dict[str, Any]
    config: dict[str, Any]
    version: int
    stochastic: bool
    whole_set: bool
    weights: dict[str, str]
    keeps_input: bool

    @property
    def params_json(self) -> str:
        return json.dumps(self.params, sort_keys=True)

    def restore_key(self, lq_key: str, image_seed: int) -> str:
        """The cache key of its output for one LQ image (and seed, when stochastic)."""
        return hash_value(
            {
                "stage": "out",
                "lq": lq_key,
                "label": self.label,
                "restorer": self.name,
                "version": self.version,
                "params": self.config,
                "weights": self.weights,
                "seed": image_seed if self.stochastic else None,
            }
        )


def load_run_config(
    path: str | Path, only: Sequence[str] | None = None, **overrides: Any
) -> RunConfig:
    """Load and check a run config; ``overrides`` (from the CLI) replace top-level keys and
    ``only`` keeps the restorers of those names or labels (a quick check of a few)."""
    data = load_yaml(path)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: a run config is a mapping of keys (name, datasets, ...)")
    data = dict(data) | {k: v for k, v in overrides.items() if v is not None}
    if only:
        data["restorers"] = _only(_list(data, "restorers", str(path)), only, str(path))
    return run_config(data, str(path))


def _only(restorers: list[Any], names: Sequence[str], where: str) -> list[Any]:
    def called(entry: Any) -> set[str]:
        if isinstance(entry, Mapping):
            return {str(entry.get("name")), str(entry.get("label") or entry.get("name"))}
        return {str(entry)}

    known = sorted(set().union(*(called(entry) for entry in restorers)))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            f"{where}: --only {unknown[0]}: no such restorer in the config (it has: "
            f"{', '.join(known)})"
        )
    return [entry for entry in restorers if called(entry) & set(names)]


def run_config(data: Mapping[str, Any], where: str) -> RunConfig:
    """Check a run config given as a mapping (a YAML file's, or a front door's own);
    ``where`` starts every error message."""
    data = dict(data)
    data["datasets"] = [
        _dataset(d, f"{where}: datasets[{i}]") for i, d in enumerate(_list(data, "datasets", where))
    ]
    data["restorers"] = [
        _named(r, f"{where}: restorers[{i}]") for i, r in enumerate(_list(data, "restorers", where))
    ]
    metrics = data.get("metrics") or []
    if not isinstance(metrics, list):
        raise ConfigError(f"{where}: 'metrics' must be a list, got {type(metrics).__name__}")
    data["metrics"] = [metric_entry(m, f"{where}: metrics[{i}]") for i, m in enumerate(metrics)]
    if data.get("protocol") is not None:
        data["metrics"] = expand(load_protocol(str(data["protocol"])), data["metrics"])
    config = build(RunConfig, data, where=where)
    check(config, where)
    return config


def _list(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: '{key}' must be a non-empty list")
    return value


def _dataset(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, Mapping) or "name" not in entry:
        raise ConfigError(f"{where}: a dataset is a mapping with at least 'name' and 'path'")
    entry = dict(entry)
    fixed = {"name": entry.pop("name"), "kind": entry.pop("kind", "folder")}
    return fixed | {"reference": entry.pop("reference", None), "params": entry}


def _named(entry: Any, where: str) -> Any:
    if isinstance(entry, str):
        return {"name": entry}
    if isinstance(entry, Mapping):
        return dict(entry)
    raise ConfigError(f"{where}: expected a name or a mapping with 'name', got {entry!r}")


def check(config: RunConfig, where: str) -> None:
    """Check every plugin name and parameter set of ``config``; raise :class:`ConfigError`."""
    names = [d.name for d in config.datasets]
    _unique(names, "dataset name", where)
    for i, dataset in enumerate(config.datasets):
        _safe_label(dataset.name, f"{where}: datasets[{i}].name")
        _plugin_params(DATASETS, dataset.kind, dataset.params, f"{where}: datasets[{i}]")
    for i, metric in enumerate(config.metrics):
        _plugin_params(METRICS, metric.name, metric.params, f"{where}: metrics[{i}]")
        _safe_label(metric.column, f"{where}: metrics[{i}].label")
    _unique([m.column for m in config.metrics], "metric label", where)
    points = grid_points(config, where)
    _unique([p.label for p in points], "restorer label", where)
    _unique([p.display for p in points], "restorer display title", where)
    if config.baseline is not None and config.baseline not in [p.label for p in points]:
        raise ConfigError(
            f"{where}: baseline '{config.baseline}' is not a restorer label of the run "
            f"(labels: {', '.join(p.label for p in points)})"
        )
    settings = [(_check_chain(d, where), s) for d in config.degradations for s in d.severities]
    twice = next((x for i, x in enumerate(settings) if x in settings[:i]), None)
    if twice:
        raise ConfigError(
            f"{where}: chain '{twice[0]}' at severity {twice[1]} is listed twice; list each "
            "severity of a chain once (its rows would be counted twice)"
        )
    _check_seeds(config, where)
    for dataset in config.datasets:
        _check_output_outside(config.output, dataset, where)
    if config.limit is not None and config.limit < 1:
        raise ConfigError(
            f"{where}: limit must be a positive number of images per dataset, got {config.limit} "
            "(leave it out to use every image)"
        )
    if not DEVICE.match(config.device):
        raise ConfigError(
            f"{where}: device '{config.device}' is not one of cpu, cuda, cuda:N or mps"
        )
    if config.batch_size < 1:
        raise ConfigError(f"{where}: batch_size must be at least 1")
    if config.timeout_s is not None and config.timeout_s <= 0:
        raise ConfigError(f"{where}: timeout_s must be positive")


def grid_points(config: RunConfig, where: str = "config") -> list[GridPoint]:
    """Expand every restorer's grid into labelled points, building each restorer once."""
    points = []
    for i, spec in enumerate(config.restorers):
        keys = list(spec.grid)
        empty = [key for key in keys if not spec.grid[key]]
        if empty:  # the product would be empty: the restorer would silently not run
            raise ConfigError(f"{where}: restorers[{i}]: grid '{empty[0]}' has no values")
        for values in itertools.product(*(spec.grid[k] for k in keys)):
            point = dict(zip(keys, values, strict=True))
            params = dict(spec.params) | point
            here = f"{where}: restorers[{i}]"
            restorer = _plugin_params(RESTORERS, spec.name, params, here)
            suffix = ",".join(f"{k}={v}" for k, v in point.items())
            label = spec.label or spec.name
            label = f"{label}[{suffix}]" if suffix else label
            _safe_label(label, f"{here}.label")
            points.append(
                GridPoint(
                    label=label,
                    display=_display(spec.display, point, f"{here}.display") or label,
                    name=spec.name,
                    params=params,
                    config=restorer.config(),
                    version=int(restorer.version),
                    stochastic=bool(restorer.stochastic),
                    whole_set=bool(restorer.whole_set),
                    weights=restorer.fingerprint(),
                    keeps_input=bool(restorer.keeps_input),
                )
            )
    return points


def _display(template: str | None, point: dict[str, Any], where: str) -> str | None:
    """``template`` with a grid point's values filled in by name (``{N}``, ``{tau}``)."""
    if template is None:
        return None
    try:
        return template.format_map(point)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"{where}: cannot fill in '{template}' ({type(exc).__name__}: {exc}); name grid "
            f"keys in braces (the grid has: {', '.join(point) or 'none'}) and write a literal "
            "brace twice"
        ) from exc


def _plugin_params(registry: Any, name: str, params: dict[str, Any], where: str) -> Any:
    """The plugin ``name`` created with ``params``; a bad name or parameter names ``where``."""
    try:
        return registry.create(name, **params)
    except RegistryError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    except ConfigError as exc:
        message = str(exc)
        raise ConfigError(message if message.startswith(where) else f"{where}: {message}") from exc


def _check_output_outside(output: Path, dataset: DatasetSpec, where: str) -> None:
    """A run folder inside a dataset's folder would feed the run's own images back to it."""
    inside = output.resolve()
    for key in ("path", "lq", "gt"):
        folder = dataset.params.get(key)
        if isinstance(folder, str | Path) and inside.is_relative_to(Path(folder).resolve()):
            raise ConfigError(
                f"{where}: the output folder {output} is inside the folder of dataset "
                f"'{dataset.name}' ({folder}): its images would be read as the dataset's on the "
                "next run; choose an output folder outside it"
            )


def _check_seeds(config: RunConfig, where: str) -> None:
    if config.seeds and config.seed != 0:
        raise ConfigError(f"{where}: give 'seed' or 'seeds', not both")
    _unique([str(seed) for seed in config.all_seeds()], "seed", where)
    negative = [seed for seed in config.all_seeds() if seed < 0]
    if negative:
        raise ConfigError(f"{where}: seeds must be 0 or more, got {negative[0]}")


def _check_chain(spec: DegradationSpec, where: str) -> str:
    """Check a chain and its severities; the chain's name in the run."""
    from bench.chains import available_chains, is_chain_file, load_chain

    chains = available_chains()
    if not is_chain_file(spec.chain) and spec.chain not in chains:
        from bench.registry import suggest

        raise ConfigError(
            f"{where}: unknown chain '{spec.chain}'{suggest(spec.chain, chains)} (a chain of "
            "your own: the path of its .yaml file)"
        )
    chain = load_chain(spec.chain)
    if is_chain_file(spec.chain):
        _safe_label(chain.name, f"{where}: {spec.chain}: the chain's name")
        if chain.name in chains and load_chain(chain.name) != chain:
            raise ConfigError(
                f"{where}: {spec.chain} names its chain '{chain.name}' like a built-in chain "
                "with other steps; give it a name of its own (it names the run's folders)"
            )
    for severity in spec.severities:
        try:
            chain.check_severity(severity)
        except ValueError as exc:
            message = str(exc)
            prefix = f"chain '{chain.name}'"
            message = message if message.startswith(prefix) else f"{prefix}: {message}"
            raise ConfigError(f"{where}: {message}") from exc
    return chain.name


def _unique(values: list[str], what: str, where: str) -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise ConfigError(f"{where}: {what} '{value}' appears twice")
        seen.add(value)


def _safe_label(label: str, where: str) -> None:
    """Labels become folder names inside the run folder: no separators, no traversal."""
    if not SAFE_LABEL.match(label) or label.startswith(".") or ".." in label:
        raise ConfigError(
            f"{where}: '{label}' cannot be used as a name inside the run folder "
            "(letters, digits and _ + - . , = [ ] only; no '..', no leading '.')"
        )
