"""PSNR and SSIM with the conventions of face-restoration papers (basicsr's evaluation scripts).

Both metrics quantise to 8-bit images and compute in float64 on the [0, 255] scale. ``channel``
selects RGB (the default: every channel counts) or ``y``, the BT.601 studio-swing luma
``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` (R, G, B in [0, 255], left unrounded as
basicsr's ``to_y_channel`` does). ``crop_border`` pixels are cut from every side first.

``correct_mean_var`` (tag ``vqfr``: ``psnr.vqfr``, ``ssim.vqfr``) first matches each channel's
mean and standard deviation of the output to the ground truth's, twice, in float32 on [0, 1], as
VQFR's ``metric_paper/calculate_psnr_ssim.py`` always does (its ``--correct_mean_var`` flag is
``store_true`` with ``default=True``, so it cannot be turned off): the numbers of VQFR's and DR2's
tables. A flat output (zero deviation) cannot be corrected and gets NaN with the reason.

SSIM is Wang et al. (2004): an 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03,
L = 255, statistics over the valid region only (no padding), the map averaged per channel and
then over channels. PSNR is ``10 log10(255^2 / MSE)`` over all pixels and channels; identical
images give ``inf``.

Example:
    >>> metric = Psnr(channel="y")  # doctest: +SKIP
    >>> metric.score(pred, gt).values  # doctest: +SKIP
    array([27.31, 25.02])
"""

from __future__ import annotations

import functools
from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from bench.contracts import PairedMetric, Scores
from metrics.common import failed, merge, quantize, size_mismatch

if TYPE_CHECKING:
    import torch

LUMA_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0
LUMA_OFFSET = 16.0
WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
K1, K2 = 0.01, 0.03
PEAK = 255.0


@dataclass(frozen=True)
class PixelParams:
    """Attributes:
    channel: ``rgb`` (all three channels) or ``y`` (BT.601 luma, as basicsr's ``test_y_channel``).
    crop_border: Pixels cut from each side before scoring (the scale factor, in SR papers).
    correct_mean_var: Match the output's per-channel mean and deviation to the GT's first
        (VQFR's evaluation script).
    """

    channel: Literal["rgb", "y"] = "rgb"
    crop_border: int = 0
    correct_mean_var: bool = False

    def __post_init__(self) -> None:
        if self.crop_border < 0:
            raise ValueError(f"crop_border must be >= 0, got {self.crop_border}")


def prepare(images: np.ndarray, params: PixelParams) -> np.ndarray:
    """uint8 (or float32 on [0, 255]) ``N x H x W x 3`` to float64 ``N x H x W x C`` in [0, 255]."""
    pixels = images.astype(np.float64)
    if params.channel == "y":
        pixels = (pixels @ LUMA_WEIGHTS + LUMA_OFFSET)[..., None]
    border = params.crop_border
    if border:
        pixels = pixels[:, border:-border, border:-border]
    return pixels


def correct_mean_var(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``pred`` (uint8 ``H x W x 3``) with each channel's mean and deviation set to ``ref``'s.

    VQFR's arithmetic, step by step: float32 images on [0, 1]; per channel, shift to the GT's mean,
    scale to the GT's deviation, and both once more; the result on the [0, 255] scale (float32).
    A channel with zero deviation gives NaN, as the script's division does.
    """
    truth = ref.astype(np.float32) / 255.0
    out = pred.astype(np.float32) / 255.0
    means = [np.mean(truth[:, :, c]) for c in range(3)]
    stds = [np.std(truth[:, :, c]) for c in range(3)]
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in range(3):
            for _ in range(2):
                out[:, :, c] = out[:, :, c] - np.mean(out[:, :, c]) + means[c]
                out[:, :, c] = out[:, :, c] / np.std(out[:, :, c]) * stds[c]
    return out * 255.0


def psnr(pred: np.ndarray, ref: np.ndarray) -> float:
    """PSNR in dB of two float64 images on the [0, 255] scale (``inf`` when identical)."""
    mse = float(np.mean((pred - ref) ** 2))
    return float("inf") if mse == 0.0 else 10.0 * np.log10(PEAK * PEAK / mse)


@functools.cache
def gaussian_window(size: int = WINDOW_SIZE, sigma: float = WINDOW_SIGMA) -> np.ndarray:
    """The normalised 1-D Gaussian of the SSIM window (the 2-D window is its outer product);
    computed once, read-only."""
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    weights = np.exp(-(offsets**2) / (2.0 * sigma * sigma))
    window = weights / weights.sum()
    window.flags.writeable = False
    return window


def ssim(pred: np.ndarray, ref: np.ndarray) -> float:
    """Mean SSIM of two float64 ``H x W x C`` images on the [0, 255] scale."""
    return float(np.mean([_ssim_channel(pred[..., c], ref[..., c]) for c in range(pred.shape[2])]))


def _ssim_channel(x: np.ndarray, y: np.ndarray) -> float:
    if min(x.shape) < WINDOW_SIZE:
        raise ValueError(f"SSIM needs images of at least {WINDOW_SIZE}x{WINDOW_SIZE} pixels")
    c1, c2 = (K1 * PEAK) ** 2, (K2 * PEAK) ** 2

    def blur(image: np.ndarray) -> np.ndarray:
        return _valid_filter(image, gaussian_window())

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    denominator = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return float(np.mean(numerator / denominator))


def _valid_filter(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable correlation with ``kernel`` on rows and columns, keeping the valid region."""
    import cv2

    radius = len(kernel) // 2
    filtered = cv2.sepFilter2D(image, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    return filtered[radius:-radius, radius:-radius]


class _PixelMetric(PairedMetric):
    Params = PixelParams
    tags = {"y": {"channel": "y"}, "vqfr": {"correct_mean_var": True}}
    convention: ClassVar[dict[str, Any]] = {}

    def config(self) -> dict[str, Any]:
        return super().config() | {"quantize": "uint8", "arithmetic": "float64"} | self.convention

    def score(self, pred: torch.Tensor, ref: torch.Tensor) -> Scores:
        problem = size_mismatch(pred, ref)
        if problem:
            return failed(len(pred), problem)
        outputs, truths = quantize(pred), quantize(ref)
        if self.params.correct_mean_var:
            outputs = np.stack(
                [correct_mean_var(o, t) for o, t in zip(outputs, truths, strict=True)]
            )
        preds, refs = prepare(outputs, self.params), prepare(truths, self.params)
        values = [self.compare(p, r) for p, r in zip(preds, refs, strict=True)]
        flat = (
            "the output has a channel of zero deviation: the mean/variance correction divides by it"
        )
        return merge((v, flat if np.isnan(v) else None) for v in values)

    @abstractmethod
    def compare(self, pred: np.ndarray, ref: np.ndarray) -> float:
        """The metric of one prepared pair."""


class Psnr(_PixelMetric):
    """PSNR in dB on 8-bit images, RGB by default (tag ``psnr.y``: BT.601 luma)."""

    version = 1
    description = "PSNR (dB) on 8-bit images, float64; RGB by default, tag .y for BT.601 luma"
    higher_is_better = True
    convention = {"peak": PEAK, "identical": "inf"}
    compare = staticmethod(psnr)


class Ssim(_PixelMetric):
    """SSIM on 8-bit images: 11x11 Gaussian window, sigma 1.5, valid region, channel mean."""

    version = 1
    description = "SSIM (11x11 Gaussian, sigma 1.5) on 8-bit images; RGB, tag .y for BT.601 luma"
    higher_is_better = True
    convention = {
        "window": WINDOW_SIZE,
        "sigma": WINDOW_SIGMA,
        "k1": K1,
        "k2": K2,
        "data_range": PEAK,
        "region": "valid",
    }
    compare = staticmethod(ssim)
