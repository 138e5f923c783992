"""The invariance experiment's configuration and the values it collects per face.

Kept apart from :mod:`dr2.analysis.invariance` (which runs the experiment) so that the table
builders (:mod:`dr2.analysis.tables`) can read both without importing the experiment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dr2.analysis.distances import DEFAULT_THRESHOLD
from dr2.analysis.features import FeatureKind
from dr2.analysis.probe import DEFAULT_ALPHA, DEFAULT_FOLDS


@dataclass(frozen=True)
class InvarianceConfig:
    """What to measure.

    Attributes:
        input: Folder of clean square faces.
        chains: Degradation chains.
        severities: Severities of every chain.
        lowpass: Low-pass factors N (the full band is always measured too).
        steps: Respaced steps of the set-level measures.
        respacing: K, the respaced schedule's length.
        size: The model's image side S.
        threshold: Largest signal ratio that counts as indistinguishable.
        features: ``spectrum`` or ``inception``.
        alpha: Significance level of the probe's test against chance.
        folds: Cross-validation folds of the probe (split by face).
        limit: First N images only.
        seed: Seed of the degradations and of the diffusion noise.
    """

    input: Path
    chains: tuple[str, ...] = ("classic", "unseen")
    severities: tuple[int, ...] = (1, 3, 5)
    lowpass: tuple[int, ...] = (4, 8, 16)
    steps: tuple[int, ...] = (0, 10, 20, 30, 40, 60, 80)
    respacing: int = 100
    size: int = 256
    threshold: float = DEFAULT_THRESHOLD
    features: FeatureKind = "spectrum"
    alpha: float = DEFAULT_ALPHA
    folds: int = DEFAULT_FOLDS
    limit: int | None = None
    seed: int = 0

    @property
    def bands(self) -> tuple[int, ...]:
        """1 (the full band), then the low-pass factors."""
        return (1, *(n for n in self.lowpass if n != 1))


@dataclass
class Collected:
    """Everything measured per face, before the set-level statistics.

    Attributes:
        image_ids: The faces, in order.
        signal: ``(degradation label, N) -> (faces,)`` signal energies ``s``.
        features: ``(N, t) -> (features, group labels, face indices)``; groups are
            ``clean`` then the degradations.
    """

    image_ids: list[str] = field(default_factory=list)
    signal: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    features: dict[tuple[int, int], tuple[list, list, list]] = field(
        default_factory=lambda: defaultdict(lambda: ([], [], []))
    )


def schedule(respacing: int) -> np.ndarray:
    """``alpha_bar`` at every step of DR2's respaced linear schedule (float64, length K)."""
    from dr2.diffusion import GaussianDiffusion

    return GaussianDiffusion(respacing=str(respacing)).alphas_cumprod_np
