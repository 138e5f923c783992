"""Isotropic Gaussian blur, the ``k_sigma`` of the classic blind-face degradation model."""

from __future__ import annotations

from typing import Any

import numpy as np

from degradations.base import Field, SampledDegradation
from degradations.kernels import gaussian_kernel_1d


class GaussianBlur(SampledDegradation):
    """Isotropic Gaussian blur with a square kernel, as basicsr's ``bivariate_Gaussian``.

    The kernel is separable, so it is applied as two 1-D passes (``cv2.sepFilter2D``): the same
    kernel as basicsr's 2-D ``filter2D`` to 1e-16, the same pixels to a few float32 ulps
    (``tests/degradations/test_basicsr_reference.py`` bounds the difference).
    """

    severities = {
        1: {"sigma": 1.0, "kernel_size": 41},
        2: {"sigma": 2.0, "kernel_size": 41},
        3: {"sigma": 4.0, "kernel_size": 41},
        4: {"sigma": 6.0, "kernel_size": 41},
        5: {"sigma": 8.0, "kernel_size": 41},
    }
    version = 1
    description = "Isotropic Gaussian blur: sigma (px at 512x512) over an odd square kernel"
    fields = {
        "sigma": Field(float, 0.05, 100.0, unit="px"),
        "kernel_size": Field(int, 1, 255, unit="px", odd=True),
    }
    defaults = {"sigma": [0.1, 10.0], "kernel_size": 41}

    def transform(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        import cv2

        taps = gaussian_kernel_1d(params["sigma"], params["kernel_size"])
        return cv2.sepFilter2D(image, -1, taps, taps)
