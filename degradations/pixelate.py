"""Pixelation: every block of ``block x block`` pixels replaced by its mean colour."""

from __future__ import annotations

from typing import Any

import numpy as np

from degradations.base import Field, SampledDegradation


class Pixelate(SampledDegradation):
    """Mosaic of square blocks anchored at the top-left corner; the last row and column of
    blocks are cut by the image border and take the mean of the pixels they hold."""

    severities = {
        1: {"block": 2},
        2: {"block": 4},
        3: {"block": 8},
        4: {"block": 12},
        5: {"block": 16},
    }
    version = 1
    description = "Pixelation: block size in px (at 512), each block set to its mean"
    fields = {"block": Field(int, 1, 256, unit="px")}
    defaults = {"block": [2, 16]}

    def transform(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        block = params["block"]
        height, width = image.shape[:2]
        row_starts, col_starts = np.arange(0, height, block), np.arange(0, width, block)
        row_sizes = np.diff(np.append(row_starts, height))
        col_sizes = np.diff(np.append(col_starts, width))
        sums = np.add.reduceat(np.add.reduceat(image, row_starts, axis=0), col_starts, axis=1)
        means = sums / np.outer(row_sizes, col_sizes).astype(np.float32)[:, :, None]
        return np.repeat(np.repeat(means, row_sizes, axis=0), col_sizes, axis=1)
