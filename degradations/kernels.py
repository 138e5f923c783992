"""Blur kernels (float64, normalised to sum 1) and their application with OpenCV.

Coordinates follow basicsr's ``mesh_grid``: ``x`` runs along columns, ``y`` along rows (down),
both centred on the middle pixel of an odd-sized kernel.
"""

from __future__ import annotations

import math

import numpy as np

SUPERSAMPLING = 8
"""Sub-pixel samples per axis used to antialias the disk (defocus) kernel."""


def gaussian_kernel_1d(sigma: float, size: int) -> np.ndarray:
    """Normalised 1-D Gaussian of standard deviation ``sigma`` over ``size`` taps.

    The outer product with itself is basicsr's isotropic ``bivariate_Gaussian`` (up to rounding).

    Example:
        >>> gaussian_kernel_1d(1.0, 3).round(4).tolist()
        [0.2741, 0.4519, 0.2741]
    """
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum()


def anisotropic_gaussian_kernel(sigma_x: float, sigma_y: float, theta: float, size: int):
    """Normalised 2-D Gaussian with axes ``sigma_x``, ``sigma_y`` rotated by ``theta`` radians.

    The covariance is ``R diag(sigma_x², sigma_y²) Rᵀ`` with ``R = [[cos, -sin], [sin, cos]]``,
    as in basicsr's ``sigma_matrix2``; the inverse is written out instead of computed.
    """
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    x, y = np.meshgrid(offsets, offsets)
    cos, sin = math.cos(theta), math.sin(theta)
    along = x * cos + y * sin  # coordinate along the sigma_x axis
    across = -x * sin + y * cos  # coordinate along the sigma_y axis
    weights = np.exp(-0.5 * ((along / sigma_x) ** 2 + (across / sigma_y) ** 2))
    return weights / weights.sum()


def motion_kernel(length: float, angle: float) -> np.ndarray:
    """A straight motion path of ``length`` pixels at ``angle`` degrees (anticlockwise on screen).

    The segment, centred on the kernel, is rasterised by splatting ``4 * length + 1`` evenly
    spaced points bilinearly onto the pixel grid; the kernel size is the smallest odd size that
    holds it.
    """
    size = 2 * math.ceil(length / 2) + 1
    centre = (size - 1) / 2
    steps = np.linspace(-length / 2, length / 2, 4 * math.ceil(length) + 1)
    xs = centre + steps * math.cos(math.radians(angle))
    ys = centre - steps * math.sin(math.radians(angle))
    kernel = np.zeros((size + 1, size + 1), dtype=np.float64)
    left, top = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - left, ys - top
    np.add.at(kernel, (top, left), (1 - fx) * (1 - fy))
    np.add.at(kernel, (top, left + 1), fx * (1 - fy))
    np.add.at(kernel, (top + 1, left), (1 - fx) * fy)
    np.add.at(kernel, (top + 1, left + 1), fx * fy)
    kernel = kernel[:size, :size]
    return kernel / kernel.sum()


def disk_kernel(radius: float) -> np.ndarray:
    """A uniform disk of ``radius`` pixels (out-of-focus blur), antialiased.

    Each pixel's weight is the fraction of its ``8 x 8`` sub-pixel centres inside the disk.
    """
    half = math.ceil(radius)
    size = 2 * half + 1
    sub = (np.arange(size * SUPERSAMPLING) + 0.5) / SUPERSAMPLING - half - 0.5
    x, y = np.meshgrid(sub, sub)
    inside = (x**2 + y**2 <= radius**2).astype(np.float64)
    coverage = inside.reshape(size, SUPERSAMPLING, size, SUPERSAMPLING).mean(axis=(1, 3))
    return coverage / coverage.sum()


def filter_image(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate each channel with ``kernel`` (OpenCV ``filter2D``, reflect-101 borders)."""
    import cv2

    return cv2.filter2D(image, -1, kernel)
