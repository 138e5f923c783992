"""Defocus (out-of-focus) blur: a uniform disk point-spread function."""

from __future__ import annotations

from typing import Any

import numpy as np

from degradations.base import Field, SampledDegradation
from degradations.kernels import disk_kernel, filter_image


class DefocusBlur(SampledDegradation):
    """Blur by an antialiased uniform disk of ``radius`` pixels (the circle of confusion);
    see :func:`degradations.kernels.disk_kernel`."""

    severities = {
        1: {"radius": 1.5},
        2: {"radius": 3.0},
        3: {"radius": 5.0},
        4: {"radius": 8.0},
        5: {"radius": 12.0},
    }
    version = 1
    description = "Defocus blur: uniform disk of the given radius (px at 512)"
    fields = {"radius": Field(float, 0.5, 100.0, unit="px")}
    defaults = {"radius": [1.5, 12.0]}

    def transform(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return filter_image(image, disk_kernel(params["radius"]))
