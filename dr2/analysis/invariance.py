"""The invariance experiment: how distinguishable diffused clean and degraded faces are, per t.

For every face x of a folder and every degradation (chain x severity) y = D(x), both brought to
the model's side S in [-1, 1]:

- closed form (:mod:`dr2.analysis.distances`), at every respaced step t of a K-step schedule and
  in every band (full band, and Phi_N for each low-pass factor N): the signal ratio ``r(t)``,
  averaged over the faces; the smallest t where it is at most the threshold, for the mean face
  and for 90 % of the faces;
- set level, at the chosen steps: x and every y are diffused with their own seeded noise, the
  band is applied, and features are extracted; a linear probe tells clean from each degradation
  (and all types apart), on held-out faces; MMD between clean and each degradation.

Steps are indices of the respaced schedule DR2 samples with (``GaussianDiffusion(respacing=K)``,
K = 100 by default), the units of DR2's tau and omega.

Example:
    >>> config = InvarianceConfig(Path("../shared/data/hq"), limit=8)  # doctest: +SKIP
    >>> result = measure(config)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dr2.analysis.experiment import Collected, InvarianceConfig, schedule
from dr2.analysis.inputs import ChainSetting

if TYPE_CHECKING:
    import pandas as pd
    import torch


@dataclass(frozen=True)
class InvarianceResult:
    """Tables of the experiment (see :func:`measure`)."""

    config: InvarianceConfig
    degradations: tuple[ChainSetting, ...]
    image_ids: tuple[str, ...]
    alphas_cumprod: np.ndarray
    closed_form: pd.DataFrame
    set_distances: pd.DataFrame
    types_probe: pd.DataFrame
    thresholds: pd.DataFrame
    embedding: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]


def check_config(config: InvarianceConfig) -> None:
    """Raise :class:`bench.config.ConfigError` for steps, bands or thresholds out of range."""
    from bench.config import ConfigError

    bad_steps = [t for t in config.steps if not 0 <= t < config.respacing]
    if bad_steps:
        raise ConfigError(f"steps {bad_steps} are outside 0..{config.respacing - 1} (K - 1)")
    bad_bands = [n for n in config.bands if n < 1 or config.size % n]
    if bad_bands:
        raise ConfigError(f"low-pass factors {bad_bands} must divide the size {config.size}")
    if config.threshold <= 0:
        raise ConfigError(f"the threshold must be positive, got {config.threshold}")


def noise_generator(seed: int, face: int, group: int, step: int) -> torch.Generator:
    """The generator of one diffusion draw: independent of order and of the other draws."""
    import torch

    state = np.random.SeedSequence([seed, face, group, step]).generate_state(2, np.uint64)
    return torch.Generator().manual_seed(int(state[0] >> np.uint64(1)))


def collect(
    config: InvarianceConfig,
    specs: list[ChainSetting],
    alphas_cumprod: np.ndarray,
    progress: Callable[[str], None] | None = None,
) -> Collected:
    """Degrade, diffuse and measure every face (one at a time, to keep memory flat)."""
    import torch

    from dr2.analysis.distances import band, signal_energy
    from dr2.analysis.features import extract
    from dr2.analysis.inputs import degrade, face_paths, read_face, to_model

    collected = Collected()
    dataset = Path(config.input).name
    bands = {n: band(config.size, n) for n in config.bands}
    paths = face_paths(config.input, config.limit)
    for face, (image_id, path) in enumerate(paths):
        if progress:
            progress(f"[{face + 1}/{len(paths)}] {image_id}")
        image = read_face(path)
        clean = to_model(image, config.size)
        versions = [clean]
        for spec in specs:
            degraded = to_model(degrade(image, spec, config.seed, dataset, image_id), config.size)
            versions.append(degraded)
            for n in config.bands:
                energy = signal_energy(clean[None], degraded[None], n)[0]
                collected.signal[(spec.label, n)].append(float(energy))
        for t in config.steps:
            a = float(alphas_cumprod[t])
            diffused = []
            for group, version in enumerate(versions):
                generator = noise_generator(config.seed, face, group, t)
                noise = torch.randn(version.shape, generator=generator, dtype=torch.float64)
                diffused.append(a**0.5 * version + (1 - a) ** 0.5 * noise)
            batch = torch.stack(diffused).float()
            for n, operator in bands.items():
                features, labels, faces = collected.features[(n, t)]
                features.append(extract(operator(batch), config.features))
                labels.extend(range(len(versions)))
                faces.extend([face] * len(versions))
        collected.image_ids.append(image_id)
    return collected


def measure(
    config: InvarianceConfig, progress: Callable[[str], None] | None = None
) -> InvarianceResult:
    """Run the experiment of the module docstring."""
    from dr2.analysis.inputs import degradation_specs
    from dr2.analysis.tables import closed_form_table, set_tables, threshold_table

    check_config(config)
    specs = degradation_specs(config.chains, config.severities)
    alphas_cumprod = schedule(config.respacing)
    collected = collect(config, specs, alphas_cumprod, progress)
    closed = closed_form_table(config, specs, collected, alphas_cumprod)
    set_distances, types_probe, embedding = set_tables(config, specs, collected, alphas_cumprod)
    thresholds = threshold_table(config, specs, closed, set_distances)
    return InvarianceResult(
        config=config,
        degradations=tuple(specs),
        image_ids=tuple(collected.image_ids),
        alphas_cumprod=alphas_cumprod,
        closed_form=closed,
        set_distances=set_distances,
        types_probe=types_probe,
        thresholds=thresholds,
        embedding=embedding,
    )
