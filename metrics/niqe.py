"""NIQE (Mittal, Soundararajan & Bovik 2013), no-reference, with the published pristine model.

``data/niqe_pristine.npz`` holds the multivariate Gaussian of the pristine model: the 36 means
(``mu``) and the 36x36 covariance (``cov``) of the MATLAB release's ``modelparameters.mat``, the
same numbers PyPI ``basicsr`` ships as ``niqe_pris_params.npz``. The algorithm follows the MATLAB
code as the face-restoration papers run it (basicsr's ``calculate_niqe``):

1. 8-bit RGB to BT.601 luma ``Y`` on [0, 255], rounded to integers; ``crop_border`` cut.
2. The image is cut to whole 96x96 blocks. At two scales (the second a MATLAB ``imresize``
   bicubic by 0.5 with antialiasing), MSCN coefficients with a 7x7 Gaussian (sigma 7/6,
   replicated borders, ``(I - mu) / (sigma + 1)``) and, per block, 18 features: the generalised
   Gaussian shape and variance of the coefficients and asymmetric generalised Gaussian
   parameters (shape, mean, left and right scale) of their products with 4 neighbours.
3. NIQE is the Mahalanobis-like distance between the pristine Gaussian and the Gaussian of the
   block features: ``sqrt((mu_p - mu_d)^T pinv((cov_p + cov_d) / 2) (mu_p - mu_d))``.

Lower is better. Images smaller than 192x192 (two blocks a side) cannot be scored.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.contracts import NoReferenceMetric, Scores
from metrics.common import merge, quantize
from metrics.psnr_ssim import LUMA_OFFSET, LUMA_WEIGHTS

if TYPE_CHECKING:
    import torch

PRISTINE = Path(__file__).with_name("data") / "niqe_pristine.npz"
BLOCK = 96
WINDOW = 7
WINDOW_SIGMA = 7.0 / 6.0
NEIGHBOURS = ((0, 1), (1, 0), (1, 1), (1, -1))
SHAPES = np.arange(0.2, 10.001, 0.001)  # the grid searched for the generalised Gaussian shape


@functools.cache
def pristine_model() -> tuple[np.ndarray, np.ndarray]:
    """Mean (36,) and covariance (36, 36) of the published pristine model."""
    with np.load(PRISTINE) as model:
        return model["mu"], model["cov"]


@functools.cache
def _shape_ratios() -> np.ndarray:
    from scipy.special import gamma

    return gamma(2.0 / SHAPES) ** 2 / (gamma(1.0 / SHAPES) * gamma(3.0 / SHAPES))


def aggd_parameters(values: np.ndarray) -> tuple[float, float, float]:
    """Shape ``alpha`` and left/right scales of an asymmetric generalised Gaussian (moments)."""
    from scipy.special import gamma

    values = values.reshape(-1)
    left = np.sqrt(np.mean(values[values < 0] ** 2)) if (values < 0).any() else np.nan
    right = np.sqrt(np.mean(values[values > 0] ** 2)) if (values > 0).any() else np.nan
    ratio = left / right
    moment = np.mean(np.abs(values)) ** 2 / np.mean(values**2)
    normalised = moment * (ratio**3 + 1) * (ratio + 1) / (ratio**2 + 1) ** 2
    alpha = SHAPES[np.argmin((_shape_ratios() - normalised) ** 2)]
    scale = np.sqrt(gamma(1.0 / alpha) / gamma(3.0 / alpha))
    return float(alpha), float(left * scale), float(right * scale)


def block_features(block: np.ndarray) -> list[float]:
    """The 18 features of one block of MSCN coefficients."""
    from scipy.special import gamma

    alpha, left, right = aggd_parameters(block)
    features = [alpha, (left + right) / 2.0]
    for shift in NEIGHBOURS:
        alpha, left, right = aggd_parameters(block * np.roll(block, shift, axis=(0, 1)))
        mean = (right - left) * gamma(2.0 / alpha) / gamma(1.0 / alpha)
        features += [alpha, mean, left, right]
    return features


def mscn(image: np.ndarray) -> np.ndarray:
    """Mean-subtracted, contrast-normalised coefficients (Gaussian 7x7, replicated borders)."""
    from scipy.ndimage import convolve

    offsets = np.arange(WINDOW) - WINDOW // 2
    line = np.exp(-(offsets**2) / (2.0 * WINDOW_SIGMA**2))
    window = np.outer(line, line) / np.outer(line, line).sum()
    mu = convolve(image, window, mode="nearest")
    sigma = np.sqrt(np.abs(convolve(image * image, window, mode="nearest") - mu * mu))
    return (image - mu) / (sigma + 1.0)


def matlab_resize_matrix(length: int, scale: float) -> np.ndarray:
    """The ``out x in`` matrix of MATLAB ``imresize`` bicubic (a = -0.5) with antialiasing."""
    out_length = int(np.ceil(length * scale))
    width = 4.0 / scale if scale < 1 else 4.0
    centres = np.arange(1, out_length + 1) / scale + 0.5 * (1.0 - 1.0 / scale)
    taps = int(np.ceil(width)) + 2
    indices = np.floor(centres - width / 2.0)[:, None] + np.arange(taps)[None, :]
    distance = (centres[:, None] - indices) * min(scale, 1.0)
    weights = min(scale, 1.0) * _cubic(distance)
    weights /= weights.sum(axis=1, keepdims=True)
    mirrored = np.concatenate([np.arange(length), np.arange(length - 1, -1, -1)])
    columns = mirrored[(indices.astype(int) - 1) % (2 * length)]
    matrix = np.zeros((out_length, length))
    np.add.at(
        matrix, (np.repeat(np.arange(out_length), taps), columns.reshape(-1)), weights.reshape(-1)
    )
    return matrix


def _cubic(x: np.ndarray) -> np.ndarray:
    a = np.abs(x)
    near = (1.5 * a**3 - 2.5 * a**2 + 1.0) * (a <= 1)
    far = (-0.5 * a**3 + 2.5 * a**2 - 4.0 * a + 2.0) * ((a > 1) & (a <= 2))
    return near + far


def niqe(luma: np.ndarray) -> float:
    """NIQE of a float64 luma image on [0, 255] (at least 192x192)."""
    rows, cols = luma.shape[0] // BLOCK, luma.shape[1] // BLOCK
    if rows < 2 or cols < 2:
        raise ValueError(f"NIQE needs at least {2 * BLOCK}x{2 * BLOCK} pixels, got {luma.shape}")
    image = luma[: rows * BLOCK, : cols * BLOCK]
    per_scale = []
    for scale in (1, 2):
        coefficients = mscn(image)
        size = BLOCK // scale
        per_scale.append(
            [
                block_features(coefficients[r * size : (r + 1) * size, c * size : (c + 1) * size])
                for c in range(cols)
                for r in range(rows)
            ]
        )
        if scale == 1:
            image = matlab_resize_matrix(image.shape[0], 0.5) @ (image / 255.0)
            image = image @ matlab_resize_matrix(image.shape[1], 0.5).T * 255.0
    features = np.concatenate([np.asarray(f) for f in per_scale], axis=1)
    mu_pristine, cov_pristine = pristine_model()
    mu_image = np.nanmean(features, axis=0)
    cov_image = np.cov(features[~np.isnan(features).any(axis=1)], rowvar=False)
    diff = mu_pristine - mu_image
    return float(np.sqrt(diff @ np.linalg.pinv((cov_pristine + cov_image) / 2.0) @ diff))


class Niqe(NoReferenceMetric):
    """NIQE on the rounded BT.601 luma of 8-bit images with the published pristine model."""

    version = 1
    description = "NIQE, no-reference, published MATLAB pristine model, BT.601 luma (basicsr)"
    higher_is_better = False

    @dataclass(frozen=True)
    class Params:
        """Attributes:
        crop_border: Pixels cut from each side before scoring.
        """

        crop_border: int = 0

    def config(self) -> dict[str, Any]:
        return super().config() | {
            "input": "uint8 RGB -> BT.601 luma on [0, 255], rounded",
            "pristine_model": "MATLAB modelparameters.mat (Mittal et al. 2013)",
            "block": BLOCK,
            "scales": "1 and MATLAB imresize bicubic 0.5 (antialiased)",
        }

    def score(self, pred: torch.Tensor) -> Scores:
        return merge(self._image(image) for image in quantize(pred))

    def _image(self, image: np.ndarray) -> tuple[float, str | None]:
        luma = np.round(image.astype(np.float64) @ LUMA_WEIGHTS + LUMA_OFFSET)
        border = self.params.crop_border
        if border:
            luma = luma[border:-border, border:-border]
        try:
            return niqe(luma), None
        except ValueError as exc:
            return float("nan"), str(exc)
