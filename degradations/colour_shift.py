"""Colour and tone shifts: gamma, brightness, contrast and saturation (0 is greyscale)."""

from __future__ import annotations

from typing import Any

import numpy as np

from degradations.base import Field, SampledDegradation

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
"""Rec. 601 luma weights (OpenCV's RGB to grey)."""


class ColourShift(SampledDegradation):
    """Tone and colour changes of a faded or badly exposed photo, applied in this order:

    ``y = x ** gamma``; ``y = (y + brightness / 255 - 0.5) * contrast + 0.5``;
    ``y = luma + saturation * (y - luma)`` with Rec. 601 luma of ``y``; clip to [0, 1].
    Saturation 0 gives a greyscale image.
    """

    severities = {
        1: {"gamma": 1.1, "brightness": -5.0, "contrast": 0.9, "saturation": 0.8},
        2: {"gamma": 1.2, "brightness": -10.0, "contrast": 0.8, "saturation": 0.6},
        3: {"gamma": 1.35, "brightness": -15.0, "contrast": 0.7, "saturation": 0.4},
        4: {"gamma": 1.5, "brightness": -20.0, "contrast": 0.6, "saturation": 0.2},
        5: {"gamma": 1.75, "brightness": -30.0, "contrast": 0.5, "saturation": 0.0},
    }
    version = 1
    description = "Colour shift: gamma, brightness (0-255), contrast, saturation (0 = greyscale)"
    fields = {
        "gamma": Field(float, 0.1, 10.0, unit="exponent"),
        "brightness": Field(float, -255.0, 255.0, unit="0-255"),
        "contrast": Field(float, 0.0, 4.0, unit="factor"),
        "saturation": Field(float, 0.0, 4.0, unit="factor"),
    }
    defaults = {
        "gamma": [0.67, 1.5],
        "brightness": [-30.0, 30.0],
        "contrast": [0.5, 1.5],
        "saturation": [0.0, 1.5],
    }

    def transform(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        shifted = np.power(image, np.float32(params["gamma"]))
        offset = np.float32(params["brightness"] / 255.0 - 0.5)
        shifted = (shifted + offset) * np.float32(params["contrast"]) + np.float32(0.5)
        luma = (shifted @ LUMA)[:, :, None]
        shifted = luma + np.float32(params["saturation"]) * (shifted - luma)
        return np.clip(shifted, 0.0, 1.0)
