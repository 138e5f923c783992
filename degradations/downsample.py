"""Downsampling by a factor ``r`` (the ``down_r`` of the classic model), at low resolution.

This step changes the image size: a chain that uses it resizes its result back to the input
size at the end (its ``resize_back`` key), so that noise and compression act at low
resolution, as in GFPGAN's ``FFHQDegradationDataset``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.images import resize
from degradations.base import DegradationError, Field, SampledDegradation

INTERPOLATIONS = ("bicubic", "bilinear", "area", "nearest")


class Downsample(SampledDegradation):
    """Resize to ``(int(W // scale), int(H // scale))``: GFPGAN's size rule (Python floor
    division on floats, so 512 // 0.8 is 639). Output is smaller (larger for scale < 1)."""

    severities = {
        1: {"scale": 2.0, "interpolation": "bicubic"},
        2: {"scale": 4.0, "interpolation": "bicubic"},
        3: {"scale": 8.0, "interpolation": "bicubic"},
        4: {"scale": 16.0, "interpolation": "bicubic"},
        5: {"scale": 32.0, "interpolation": "bicubic"},
    }
    version = 1
    description = (
        "Downsampling by a factor r (bicubic, bilinear, area, nearest); chains resize back"
    )
    fields = {
        "scale": Field(float, 0.5, 128.0, unit="factor"),
        "interpolation": Field(str, choices=INTERPOLATIONS),
    }
    defaults = {"scale": [0.8, 8.0], "interpolation": "bilinear"}
    keeps_size = False

    @staticmethod
    def output_size(height: int, width: int, scale: float) -> tuple[int, int]:
        """``(height, width)`` after downsampling by ``scale``."""
        return int(height // scale), int(width // scale)

    def transform(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        rows, columns = image.shape[:2]
        height, width = self.output_size(rows, columns, params["scale"])
        if height < 1 or width < 1:
            raise DegradationError(
                f"{self.name}: a {image.shape[1]}x{image.shape[0]} image downsampled by "
                f"{params['scale']} has no pixels left"
            )
        return resize(image, width, height, params["interpolation"])
