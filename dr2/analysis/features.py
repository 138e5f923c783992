"""Features of (diffused) images for the set-level distances: spectral or Inception.

``spectrum`` (default, cheap): per channel, the mean value and the log mean power in ``bins``
(16, at most S / 4) radial frequency bands of equal width from 0 to 0.5 cycles per pixel (the
corners beyond 0.5 join the last band); power is ``|FFT|^2 / S^2``, so white noise of variance v
has power v in every band. Blur lowers the high bands, noise raises them, colour and tone shifts
move the means and the low bands: each degradation type leaves its mark where a linear probe can
see it.

``inception``: the 2048 pool3 features of FID/KID's Inception network (the ``kid`` metric's
extractor, legacy resize), on images mapped from [-1, 1] to [0, 1] and clipped. Slow on a CPU.

Example:
    >>> import torch
    >>> spectral_features(torch.zeros(2, 3, 32, 32), bins=4).shape
    (2, 15)
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    import torch

FeatureKind = Literal["spectrum", "inception"]
FEATURE_KINDS = ("spectrum", "inception")
SPECTRAL_BINS = 16
LOG_FLOOR = 1e-8


@functools.cache
def _band_index(size: int, bins: int) -> tuple[Any, Any]:
    """Band of every frequency of an ``S x S`` FFT (``bins`` for DC, dropped) and band sizes."""
    import torch

    frequency = np.fft.fftfreq(size)
    radius = np.hypot(frequency[:, None], frequency[None, :]).ravel()
    index = np.minimum((radius / 0.5 * bins).astype(np.int64), bins - 1)
    index[0] = bins  # DC: the channel mean is its own feature
    counts = np.bincount(index, minlength=bins + 1).astype(np.float64)
    return torch.from_numpy(index), torch.from_numpy(counts)


@functools.cache
def _ring_index(size: int) -> tuple[Any, Any]:
    """Integer frequency ring ``round(|k|)`` of every FFT frequency (ring 0 is DC alone)."""
    import torch

    k = np.fft.fftfreq(size) * size
    index = np.rint(np.hypot(k[:, None], k[None, :])).astype(np.int64).ravel()
    counts = np.bincount(index).astype(np.float64)
    return torch.from_numpy(index), torch.from_numpy(counts)


def _binned_power(z: torch.Tensor, index: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Mean of ``|FFT|^2 / S^2`` per bin: ``(B, C, S, S)`` to ``(B, C, bins)`` float64."""
    import torch

    size = z.shape[-1]
    power = torch.fft.fft2(z.double()).abs().pow(2).flatten(2) / size**2
    sums = torch.zeros((*power.shape[:2], len(counts)), dtype=torch.float64)
    sums.index_add_(2, index, power)
    return sums / counts


def ring_power(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean power per integer frequency ring, ``(B, C, R)``, and the ring sizes ``(R,)``.

    By Parseval, ``(power * sizes).sum(-1) / S^2`` is the image's mean squared value per channel.
    """
    index, counts = _ring_index(z.shape[-1])
    return _binned_power(z, index, counts), counts


def spectral_features(z: torch.Tensor, bins: int = SPECTRAL_BINS) -> np.ndarray:
    """``(B, C, S, S)`` to ``(B, C + C * bins)``: channel means, then log band powers.

    At most ``S / 4`` bands, so that every band holds frequencies.
    """
    import torch

    bins = min(bins, z.shape[-1] // 4)
    index, counts = _band_index(z.shape[-1], bins)
    power = _binned_power(z, index, counts)[..., :bins]
    means = z.double().mean(dim=(2, 3))
    logs = torch.log(power + LOG_FLOOR).flatten(1)
    return torch.cat([means, logs], dim=1).numpy()


@functools.cache
def _inception() -> Any:
    from bench.registry import METRICS

    metric = METRICS.create("kid")
    metric.load("cpu")
    return metric


def inception_features(z: torch.Tensor, batch_size: int = 16) -> np.ndarray:
    """Inception pool3 features of ``(B, 3, S, S)`` images in [-1, 1] (clipped)."""
    images = ((z.float() + 1) / 2).clamp(0, 1)
    metric = _inception()
    parts = [metric.features(images[i : i + batch_size]) for i in range(0, len(z), batch_size)]
    return np.concatenate(parts)


def extract(z: torch.Tensor, kind: FeatureKind) -> np.ndarray:
    """The features of kind ``kind`` (see the module docstring)."""
    if kind == "spectrum":
        return spectral_features(z)
    if kind == "inception":
        return inception_features(z)
    raise ValueError(f"unknown feature kind {kind!r} (choose {', '.join(FEATURE_KINDS)})")
