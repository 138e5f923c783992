"""Lossy WebP compression, outside the classic model (common on today's web)."""

from __future__ import annotations

from typing import Any

import numpy as np

from degradations.base import Field, SampledDegradation
from degradations.jpeg import encode_decode


class Webp(SampledDegradation):
    """Lossy WebP at an integer ``quality`` with OpenCV's encoder (libwebp) and its defaults."""

    severities = {
        1: {"quality": 80},
        2: {"quality": 60},
        3: {"quality": 40},
        4: {"quality": 20},
        5: {"quality": 5},
    }
    version = 1
    description = "WebP lossy compression (OpenCV/libwebp): integer quality 1-100"
    fields = {"quality": Field(int, 1, 100, unit="quality")}
    defaults = {"quality": [5, 95]}

    def transform(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return encode_decode(image, ".webp", "IMWRITE_WEBP_QUALITY", params["quality"])
