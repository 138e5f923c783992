"""Linear motion blur (camera shake or subject motion along a straight line)."""

from __future__ import annotations

from typing import Any

import numpy as np

from degradations.base import Field, SampledDegradation
from degradations.kernels import filter_image, motion_kernel


class MotionBlur(SampledDegradation):
    """Uniform motion along a straight segment of ``length`` pixels at ``angle`` degrees
    (0 = horizontal, anticlockwise on screen); see :func:`degradations.kernels.motion_kernel`."""

    severities = {
        1: {"length": 5.0, "angle": [0.0, 180.0]},
        2: {"length": 10.0, "angle": [0.0, 180.0]},
        3: {"length": 20.0, "angle": [0.0, 180.0]},
        4: {"length": 30.0, "angle": [0.0, 180.0]},
        5: {"length": 45.0, "angle": [0.0, 180.0]},
    }
    version = 1
    description = "Linear motion blur: path length (px at 512) and angle (degrees)"
    fields = {
        "length": Field(float, 1.0, 201.0, unit="px"),
        "angle": Field(float, -360.0, 360.0, unit="degree"),
    }
    defaults = {"length": [5.0, 45.0], "angle": [0.0, 180.0]}

    def transform(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return filter_image(image, motion_kernel(params["length"], params["angle"]))
