"""Poisson (shot) noise, outside the classic model."""

from __future__ import annotations

from typing import Any

import numpy as np

from degradations.base import SEED_HIGH, Field, SampledDegradation


class PoissonNoise(SampledDegradation):
    """Shot noise as basicsr's ``add_poisson_noise``: the image, rounded to 8 bits, is taken as
    ``x * v`` photon counts with ``v`` the number of distinct 8-bit values rounded up to a power
    of two (256 for a natural photo); the Poisson deviation, times ``scale``, is added; clip.

    Noise standard deviation at intensity ``x`` is about ``scale * sqrt(x / v)`` (in [0, 1]
    units). Drawn by ``numpy.random.RandomState(seed).poisson`` in BGR order, so the result
    equals basicsr's after ``np.random.seed(seed)``.
    """

    severities = {
        1: {"scale": 0.5, "grey": False},
        2: {"scale": 1.0, "grey": False},
        3: {"scale": 2.0, "grey": False},
        4: {"scale": 3.0, "grey": False},
        5: {"scale": 4.0, "grey": False},
    }
    version = 1
    description = "Poisson shot noise: scale (1 = 8-bit photon counts), colour or grey"
    fields = {
        "scale": Field(float, 0.0, 20.0, unit="factor"),
        "grey": Field(bool),
        "seed": Field(int, 0, SEED_HIGH, unit="seed"),
    }
    defaults = {"scale": [0.5, 4.0], "grey": False, "seed": [0, SEED_HIGH]}

    def transform(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        import cv2

        if params["grey"]:
            base = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        else:
            base = np.ascontiguousarray(image[:, :, ::-1])  # BGR, basicsr's draw order
        eight_bit = np.clip((base * 255.0).round(), 0, 255)
        distinct = np.count_nonzero(np.bincount(eight_bit.astype(np.uint8).ravel(), minlength=256))
        levels = eight_bit / 255.0
        photons = 2 ** np.ceil(np.log2(distinct))
        counts = np.random.RandomState(params["seed"]).poisson(levels * photons)
        noise = np.float32(counts / float(photons)) - levels
        noise = noise[:, :, None] if params["grey"] else noise[:, :, ::-1]
        return np.clip(image + noise * params["scale"], 0.0, 1.0)
