"""Degradation chains: YAML presets of steps, sampled per image and replayed from records.

A chain is data (``degradations/chains/<name>.yaml``)::

    name: gfpgan
    version: 1
    description: ...
    sizes: what happens at sizes other than 512x512
    resize_back: bilinear        # interpolation back to the input size (if a step changes it)
    steps:
      - name: gaussian_blur
        params: {sigma: [0.1, 10], kernel_size: 41}   # specs (see degradations.base)
        ladder:                  # optional: specs per severity 1..5, over ``params``
          1: {sigma: 1}          # ... or ``ladder: builtin`` for the degradation's own ladder

A chain with a ladder on any step is used at severities 1..5; a chain without one samples the
full published ranges and is used at severity 0 only.

Example:
    >>> chain = load_chain("gfpgan")
    >>> rng = bench.seeding.image_rng(0, "hq", "ffhq_00000.png", "gfpgan", 0)
    >>> steps = chain.sample(rng, 0)
    >>> [step["name"] for step in steps]
    ['gaussian_blur', 'downsample', 'gaussian_noise', 'jpeg']
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bench.config import ConfigError, load_config, to_dict
from bench.contracts import Degradation
from bench.files import canonical_json
from bench.registry import DEGRADATIONS, RegistryError, suggest

Interpolation = Literal["bicubic", "bilinear", "area", "nearest"]
BUILTIN = "builtin"


class DegradationError(ConfigError):
    """A severity, a spec, a parameter set or an image that a degradation cannot use."""


def check_image(image: Any, where: str) -> None:
    """Raise unless ``image`` is a ``H x W x 3`` float32 numpy array."""
    if not isinstance(image, np.ndarray) or image.dtype != np.float32:
        kind = getattr(image, "dtype", type(image).__name__)
        raise DegradationError(f"{where}: expected a float32 numpy image, got {kind}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise DegradationError(f"{where}: expected a H x W x 3 image, got shape {image.shape}")


@dataclass(frozen=True)
class ChainStep:
    """One step: a registered degradation, its specs, and optionally a ladder of specs."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    ladder: dict[int, dict[str, Any]] | str | None = None


@dataclass(frozen=True)
class Chain:
    """A named, versioned sequence of degradation steps.

    Attributes:
        name: The chain's name, recorded with every image.
        version: Bumped whenever the chain's output changes.
        description: One line.
        sizes: What happens at sizes other than 512x512.
        steps: The steps, in order.
        resize_back: Interpolation that returns the result to the input size, needed when a
            step changes the size.
    """

    name: str
    version: int
    description: str
    sizes: str
    steps: tuple[ChainStep, ...]
    resize_back: Interpolation | None = None

    @property
    def severities(self) -> tuple[int, ...]:
        """``(1, 2, 3, 4, 5)`` for a chain with a ladder, ``(0,)`` for published ranges."""
        levels: set[int] = set()
        for step in self.steps:
            if step.ladder == BUILTIN:
                levels |= set(DEGRADATIONS.get(step.name).severities)
            elif isinstance(step.ladder, dict):
                levels |= set(step.ladder)
        return tuple(sorted(levels)) or (0,)

    def check_severity(self, severity: int) -> None:
        """Raise :class:`DegradationError` unless ``severity`` is one this chain is used at."""
        if type(severity) is not int or severity not in self.severities:
            if self.severities == (0,):
                usage = "it samples its published ranges: use severity 0"
            else:
                usage = f"use a severity on its ladder, {', '.join(map(str, self.severities))}"
            raise DegradationError(
                f"chain '{self.name}': severity {severity!r} is invalid; {usage}"
            )

    def plugins(self, severity: int) -> list[tuple[Degradation, int | None]]:
        """Each step's degradation, configured for ``severity``, and the severity to sample at."""
        self.check_severity(severity)
        configured: list[tuple[Degradation, int | None]] = []
        for step in self.steps:
            rung = step.ladder[severity] if isinstance(step.ladder, dict) else {}
            level = severity if step.ladder == BUILTIN else None
            configured.append((DEGRADATIONS.create(step.name, **(step.params | rung)), level))
        return configured

    def sample(self, rng: np.random.Generator, severity: int) -> list[dict[str, Any]]:
        """Draw every step's parameters: ``[{"name", "version", "params"}, ...]``."""
        return [
            {"name": plugin.name, "version": plugin.version, "params": plugin.sample(rng, level)}
            for plugin, level in self.plugins(severity)
        ]

    def apply(self, image: np.ndarray, steps: list[dict[str, Any]]) -> np.ndarray:
        """Apply recorded ``steps`` to a ``H x W x 3`` float32 image; a pure function.

        Raises:
            DegradationError: the records do not fit this chain or its installed degradations.
        """
        check_image(image, f"chain '{self.name}'")
        self.check_records(steps)
        degraded = image
        for record in steps:
            degraded = DEGRADATIONS.create(record["name"]).apply(degraded, record["params"])
        if degraded.shape != image.shape:
            from bench.images import resize

            height, width = image.shape[:2]
            degraded = resize(degraded, width, height, str(self.resize_back))
        return degraded

    def check_records(self, steps: Any) -> None:
        """Raise unless ``steps`` names this chain's degradations, in order, at their versions."""
        if not isinstance(steps, list) or len(steps) != len(self.steps):
            raise DegradationError(
                f"chain '{self.name}' has {len(self.steps)} steps; the record has "
                f"{len(steps) if isinstance(steps, list) else repr(steps)}"
            )
        for index, (step, record) in enumerate(zip(self.steps, steps, strict=True)):
            if not isinstance(record, dict) or set(record) != {"name", "version", "params"}:
                raise DegradationError(
                    f"chain '{self.name}' step {index}: a step record has keys name, version, "
                    f"params; got {record!r}"
                )
            if record["name"] != step.name:
                raise DegradationError(
                    f"chain '{self.name}' step {index} is {step.name}; the record has "
                    f"{record['name']!r}"
                )
            installed = DEGRADATIONS.get(step.name).version
            if record["version"] != installed:
                raise DegradationError(
                    f"chain '{self.name}' step {index}: recorded with {step.name} "
                    f"v{record['version']}, installed is v{installed}; results would differ"
                )

    def definition_hash(self) -> str:
        """sha256 of the chain's definition (canonical JSON), recorded in manifests."""
        return hashlib.sha256(canonical_json(to_dict(self)).encode("utf-8")).hexdigest()


def chains_folder() -> Path:
    """The folder of the built-in chain presets (data of the degradations package, which is not
    imported)."""
    from bench.weights import package_dir

    folder = package_dir("degradations")
    if folder is None:
        raise DegradationError(
            "dr2bench's 'degradations' package is not installed (it holds chains)"
        )
    return folder / "chains"


def available_chains() -> list[str]:
    """Names of the built-in chains, sorted."""
    return sorted(path.stem for path in chains_folder().glob("*.yaml"))


def is_chain_file(name: str | Path) -> bool:
    """Whether ``name`` is a chain YAML file's path rather than a built-in chain's name."""
    return Path(name).suffix in (".yaml", ".yml")


def load_chain(name: str | Path) -> Chain:
    """Load a built-in chain by name, or a chain YAML file by path, and check it.

    Raises:
        ConfigError: unknown name (with a did-you-mean), bad YAML, unknown keys, bad steps;
            the message names the file.
    """
    if is_chain_file(name):
        return _load_file(Path(name))
    names = available_chains()
    if str(name) not in names:
        raise ConfigError(
            f"unknown chain '{name}'{suggest(str(name), names)} (known: {', '.join(names)})"
        )
    return _load_builtin(str(name))


@cache
def _load_builtin(name: str) -> Chain:
    """Built-in chains are package data that do not change while a process runs."""
    return _load_file(chains_folder() / f"{name}.yaml")


def _load_file(path: Path) -> Chain:
    chain = load_config(Chain, path)
    try:
        _check_chain(chain)
    except (DegradationError, RegistryError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return chain


def _check_chain(chain: Chain) -> None:
    if not chain.steps:
        raise DegradationError("a chain needs at least one step")
    for index, step in enumerate(chain.steps):
        if isinstance(step.ladder, str) and step.ladder != BUILTIN:
            raise DegradationError(
                f"step {index} ({step.name}): ladder is a mapping 1..5 or '{BUILTIN}', "
                f"not {step.ladder!r}"
            )
        if not DEGRADATIONS.get(step.name).keeps_size and chain.resize_back is None:
            raise DegradationError(
                f"step {index} ({step.name}) changes the image size: set resize_back"
            )
    levels = chain.severities
    if levels != (0,) and levels != (1, 2, 3, 4, 5):
        raise DegradationError(f"a ladder has severities 1..5, this one has {list(levels)}")
    for step in chain.steps:
        if isinstance(step.ladder, dict) and tuple(sorted(step.ladder)) != levels:
            raise DegradationError(f"{step.name}: its ladder must list severities 1..5")
    for severity in levels:  # every rung draws: through the contract, whatever the plugin
        for plugin, level in chain.plugins(severity):
            plugin.sample(np.random.default_rng(0), level)
