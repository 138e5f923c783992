"""What the classical restorers share: a per-image numpy restorer and a Gaussian point spread.

The Gaussian PSF of standard deviation ``sigma`` pixels is sampled at integer offsets, truncated
at ``ceil(3 sigma)`` and normalised to sum 1. Filtering mirrors the image at its borders: the
half-sample symmetric extension ``dcba|abcd|dcba`` (OpenCV's ``BORDER_REFLECT``, numpy's
``symmetric`` and scipy.ndimage's ``reflect`` modes), so no dark or wrapped borders appear.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from bench.contracts import Restorer

if TYPE_CHECKING:
    import torch


class PerImageRestorer(Restorer):
    """A deterministic restorer that maps each ``H x W x 3`` float32 image alone, in numpy."""

    def restore(self, images: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        """Apply :meth:`restore_image` to every image; outputs are clipped to [0, 1]."""
        from bench.images import to_numpy, to_tensor

        if len(images) == 0:
            return images.clone()
        outputs = [
            np.clip(self.restore_image(image), 0.0, 1.0).astype(np.float32)
            for image in to_numpy(images)
        ]
        return to_tensor(outputs, device=str(images.device))

    @abstractmethod
    def restore_image(self, image: np.ndarray) -> np.ndarray:
        """Restore one ``H x W x 3`` float32 image in [0, 1]."""


def gaussian_kernel(sigma: float) -> np.ndarray:
    """The normalised 1-D Gaussian of ``sigma`` pixels, truncated at ``ceil(3 sigma)``.

    Example:
        >>> gaussian_kernel(1.0).shape
        (7,)
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    radius = max(1, math.ceil(3.0 * sigma))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Blur an ``H x W x C`` float image with :func:`gaussian_kernel`, mirroring the borders."""
    import cv2

    kernel = gaussian_kernel(sigma)
    return cv2.sepFilter2D(
        image, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT
    ).reshape(image.shape)


def check_positive(**values: float) -> None:
    """Raise ``ValueError`` naming the first of ``values`` that is not positive."""
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")


@dataclass(frozen=True)
class PositiveParams:
    """Base of parameter dataclasses whose every field must be positive (checked in order)."""

    def __post_init__(self) -> None:
        check_positive(**{item.name: getattr(self, item.name) for item in fields(self)})
