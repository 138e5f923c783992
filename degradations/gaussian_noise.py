"""Additive white Gaussian noise (the ``n_delta`` of the classic model)."""

from __future__ import annotations

from typing import Any

import numpy as np

from degradations.base import SEED_HIGH, Field, SampledDegradation


class GaussianNoise(SampledDegradation):
    """Add Gaussian noise of standard deviation ``sigma`` (0-255 units), colour or grey, clip.

    The noise is drawn by ``numpy.random.RandomState(seed).randn`` over the image in BGR
    channel order, with basicsr's float32 arithmetic, so the result equals basicsr's
    ``add_gaussian_noise(img, sigma, clip=True, rounds=False, gray_noise=grey)`` on the BGR image
    after ``np.random.seed(seed)``.
    """

    severities = {
        1: {"sigma": 5.0, "grey": False},
        2: {"sigma": 10.0, "grey": False},
        3: {"sigma": 20.0, "grey": False},
        4: {"sigma": 35.0, "grey": False},
        5: {"sigma": 50.0, "grey": False},
    }
    version = 1
    description = "Additive Gaussian noise: sigma in 0-255 units, colour or grey"
    fields = {
        "sigma": Field(float, 0.0, 255.0, unit="0-255"),
        "grey": Field(bool),
        "seed": Field(int, 0, SEED_HIGH, unit="seed"),
    }
    defaults = {"sigma": [0.0, 20.0], "grey": False, "seed": [0, SEED_HIGH]}

    def transform(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        shape = image.shape[:2] if params["grey"] else image.shape  # colour noise: BGR order
        noise = np.float32(np.random.RandomState(params["seed"]).randn(*shape))
        noise = noise * params["sigma"] / 255.0
        noise = noise[:, :, None] if params["grey"] else noise[:, :, ::-1]
        return np.clip(image + noise, 0.0, 1.0)
