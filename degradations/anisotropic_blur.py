"""Anisotropic Gaussian blur (elliptical, rotated), as in DifFace's test set."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from degradations.base import Field, SampledDegradation
from degradations.kernels import anisotropic_gaussian_kernel, filter_image


class AnisotropicBlur(SampledDegradation):
    """Gaussian blur with standard deviations ``sigma_x`` and ``sigma_y`` along axes rotated by
    ``theta`` radians; basicsr's ``bivariate_Gaussian(isotropic=False)`` applied by ``filter2D``."""

    severities = {
        1: {"sigma_x": 1.5, "sigma_y": 0.5, "theta": [0.0, math.pi], "kernel_size": 41},
        2: {"sigma_x": 3.0, "sigma_y": 1.0, "theta": [0.0, math.pi], "kernel_size": 41},
        3: {"sigma_x": 5.0, "sigma_y": 2.0, "theta": [0.0, math.pi], "kernel_size": 41},
        4: {"sigma_x": 7.0, "sigma_y": 3.0, "theta": [0.0, math.pi], "kernel_size": 41},
        5: {"sigma_x": 10.0, "sigma_y": 4.0, "theta": [0.0, math.pi], "kernel_size": 41},
    }
    version = 1
    description = "Anisotropic Gaussian blur: sigma_x, sigma_y (px at 512), theta (rad), kernel"
    fields = {
        "sigma_x": Field(float, 0.05, 100.0, unit="px"),
        "sigma_y": Field(float, 0.05, 100.0, unit="px"),
        "theta": Field(float, -2 * math.pi, 2 * math.pi, unit="rad"),
        "kernel_size": Field(int, 1, 255, unit="px", odd=True),
    }
    defaults = {
        "sigma_x": [0.1, 10.0],
        "sigma_y": [0.1, 10.0],
        "theta": [-math.pi, math.pi],
        "kernel_size": 41,
    }

    def transform(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        kernel = anisotropic_gaussian_kernel(
            params["sigma_x"], params["sigma_y"], params["theta"], params["kernel_size"]
        )
        return filter_image(image, kernel)
