"""Deblurring baselines: ``richardson_lucy`` and ``wiener`` deconvolution, ``unsharp`` masking.

The two deconvolutions assume a Gaussian blur of ``sigma`` pixels (the point spread function of
:func:`baselines.classical.base.gaussian_kernel`) with mirrored borders, the blur model of the
classic degradation ``(x * k_sigma) down_r + n``; each RGB channel is deconvolved alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from baselines.classical.base import (
    PerImageRestorer,
    PositiveParams,
    gaussian_blur,
    gaussian_kernel,
)

RATIO_FLOOR = 1e-6  # Richardson-Lucy divides by the re-blurred estimate; never by zero


class RichardsonLucy(PerImageRestorer):
    """Richardson-Lucy deconvolution of a Gaussian blur.

    Starting from the observed image ``y``, each iteration updates the estimate ``u`` to
    ``u * (K^T * (y / (K * u)))``, ``K`` the Gaussian blur (symmetric, so ``K^T = K``), all
    with mirrored borders. More iterations sharpen more and amplify more noise.
    """

    version = 1
    description = "Richardson-Lucy deconvolution of a Gaussian blur"

    @dataclass(frozen=True)
    class Params(PositiveParams):
        """Attributes:
        sigma: Standard deviation of the Gaussian point spread function, in pixels.
        iterations: Number of Richardson-Lucy iterations.
        """

        sigma: float = 1.0
        iterations: int = 10

    def restore_image(self, image: np.ndarray) -> np.ndarray:
        """Deconvolve one image."""
        observed = np.ascontiguousarray(image, dtype=np.float32)
        estimate = observed.copy()
        for _ in range(self.params.iterations):
            reblurred = gaussian_blur(estimate, self.params.sigma)
            ratio = observed / np.maximum(reblurred, RATIO_FLOOR)
            estimate = estimate * gaussian_blur(ratio, self.params.sigma)
        return estimate


def mirrored_blur_spectrum(kernel: np.ndarray, length: int) -> np.ndarray:
    """Eigenvalues of a symmetric blur with mirrored borders along one axis of ``length``.

    With the half-sample symmetric extension, convolution with a symmetric kernel ``h`` is
    diagonal in the orthonormal DCT-II basis, with eigenvalue ``sum_j h_j cos(pi k j / length)``
    for frequency ``k``.

    Example:
        >>> round(float(mirrored_blur_spectrum(gaussian_kernel(1.0), 8)[0]), 12)  # DC gain 1
        1.0
    """
    radius = len(kernel) // 2
    offsets = np.arange(-radius, radius + 1)
    frequencies = np.arange(length)[:, None]
    return (kernel[None, :] * np.cos(np.pi * frequencies * offsets[None, :] / length)).sum(axis=1)


class Wiener(PerImageRestorer):
    """Wiener deconvolution of a Gaussian blur, exact for mirrored borders.

    In the DCT-II basis, where the mirrored-border blur ``K`` is diagonal with eigenvalues
    ``k`` (:func:`mirrored_blur_spectrum`), each coefficient of the observed image is
    multiplied by ``k / (k^2 + balance)``: ``balance`` is the noise-to-signal power ratio,
    and ``balance -> 0`` inverts the blur exactly (and amplifies noise without bound).
    """

    version = 1
    description = "Wiener deconvolution of a Gaussian blur (DCT, mirrored borders)"

    @dataclass(frozen=True)
    class Params(PositiveParams):
        """Attributes:
        sigma: Standard deviation of the Gaussian point spread function, in pixels.
        balance: Noise-to-signal power ratio (regularisation); larger is smoother.
        """

        sigma: float = 1.0
        balance: float = 0.01

    def restore_image(self, image: np.ndarray) -> np.ndarray:
        """Deconvolve one image."""
        from scipy.fft import dctn, idctn

        kernel = gaussian_kernel(self.params.sigma)
        height, width = image.shape[:2]
        spectrum = np.outer(
            mirrored_blur_spectrum(kernel, height), mirrored_blur_spectrum(kernel, width)
        )
        gain = spectrum / (spectrum**2 + self.params.balance)
        coefficients = dctn(image.astype(np.float64), type=2, axes=(0, 1), norm="ortho")
        restored = idctn(coefficients * gain[..., None], type=2, axes=(0, 1), norm="ortho")
        return restored.astype(np.float32)


class Unsharp(PerImageRestorer):
    """Unsharp masking: ``x + amount * (x - G_sigma * x)``, then clipped to [0, 1]."""

    version = 1
    description = "Unsharp masking with a Gaussian blur"

    @dataclass(frozen=True)
    class Params(PositiveParams):
        """Attributes:
        sigma: Standard deviation of the Gaussian blur that defines the detail, in pixels.
        amount: How much of the detail (image minus blur) is added back.
        """

        sigma: float = 1.0
        amount: float = 1.0

    def restore_image(self, image: np.ndarray) -> np.ndarray:
        """Sharpen one image."""
        image = np.ascontiguousarray(image, dtype=np.float32)
        return image + self.params.amount * (image - gaussian_blur(image, self.params.sigma))
