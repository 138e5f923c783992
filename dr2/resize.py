"""Exact antialiased bicubic resizing as matrices (the resizer ILVR and DR2 use), and Phi_N.

ILVR's ``resizer.py`` (Shocher's MATLAB-``imresize`` port) resizes each axis with the Keys cubic
kernel (a = -0.5); when shrinking by ``s < 1`` the kernel is stretched to ``s * cubic(s * x)``
(antialiasing), output pixel ``o`` (1-based) is centred on input coordinate
``o / s + (1 - 1 / s) / 2``, weights are normalised to sum to one and the image is extended by
symmetric reflection (the edge pixel repeated). That is a linear map per axis, so here it is built
once as a dense ``(out, in)`` matrix and applied with two matrix products. (The original computes
reflected indices after an unsigned cast, which agrees with true reflection whenever the axis
length is a power of two, as 64 and 256 are.)

``torch.nn.functional.interpolate(mode="bicubic", antialias=True)`` uses the same kernel but
renormalises the weights at the borders instead of reflecting, so it agrees in the interior only.

Example:
    >>> low_pass = LowPass(64, 4)
    >>> low_pass(torch.zeros(2, 3, 64, 64)).shape
    torch.Size([2, 3, 64, 64])
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``imresize`` bicubic)."""
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


def resize_matrix(in_size: int, scale: float, antialias: bool = True) -> np.ndarray:
    """The ``(ceil(in_size * scale), in_size)`` float64 matrix resizing one axis by ``scale``.

    Example:
        >>> m = resize_matrix(8, 0.5)
        >>> m.shape, bool(np.allclose(m.sum(axis=1), 1.0))
        ((4, 8), True)
    """
    out_size = math.ceil(in_size * scale)
    width = 4.0
    kernel = cubic
    if antialias and scale < 1:

        def kernel(x: np.ndarray) -> np.ndarray:
            return scale * cubic(scale * x)

        width /= scale
    out_coords = np.arange(1, out_size + 1, dtype=np.float64)
    shifted = out_coords - (out_size - in_size * scale) / 2
    centres = shifted / scale + 0.5 * (1 - 1 / scale)  # 1-based input coordinates
    left = np.floor(centres - width / 2)
    taps = math.ceil(width) + 2
    positions = left[:, None] + np.arange(taps)[None, :]  # 1-based input pixel positions
    weights = kernel(centres[:, None] - positions)
    sums = weights.sum(axis=1, keepdims=True)
    sums[sums == 0] = 1.0
    weights = weights / sums
    index = (positions - 1).astype(np.int64) % (2 * in_size)
    index = np.where(index < in_size, index, 2 * in_size - 1 - index)  # symmetric reflection
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    np.add.at(matrix, (np.repeat(np.arange(out_size), taps), index.ravel()), weights.ravel())
    return matrix


@functools.cache
def _matrices(size: int, factor: int) -> tuple[torch.Tensor, torch.Tensor]:
    down = resize_matrix(size, 1.0 / factor)
    up = resize_matrix(down.shape[0], float(factor))
    return torch.from_numpy(down).float(), torch.from_numpy(up).float()


def resize_axes(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``rows @ x @ cols.T`` over the last two axes of ``x`` (``(..., H, W)``)."""
    return torch.matmul(torch.matmul(rows, x), cols.transpose(0, 1))


class LowPass:
    """Phi_N: antialiased bicubic down by ``factor``, then bicubic up by ``factor`` (ILVR's).

    Args:
        size: square image side (must be divisible by ``factor``).
        factor: the low-pass factor N (1 is the identity).
    """

    def __init__(self, size: int, factor: int) -> None:
        if factor < 1 or size % factor:
            raise ValueError(f"low-pass factor {factor} must be >= 1 and divide the size {size}")
        self.size = size
        self.factor = factor
        self._cache: dict[tuple[torch.device, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}

    def matrices(
        self, device: torch.device, dtype: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(down, up)`` matrices on ``device`` in ``dtype`` (moved once, then cached)."""
        key = (device, dtype)
        if key not in self._cache:
            down, up = _matrices(self.size, self.factor)
            self._cache[key] = (down.to(device, dtype), up.to(device, dtype))
        return self._cache[key]

    def down(self, x: torch.Tensor) -> torch.Tensor:
        """The antialiased downsampled image ``(..., size / N, size / N)``."""
        down, _ = self.matrices(x.device, x.dtype)
        return resize_axes(x, down, down)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.factor == 1:
            return x
        down, up = self.matrices(x.device, x.dtype)
        return resize_axes(resize_axes(x, down, down), up, up)
