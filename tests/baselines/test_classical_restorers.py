"""The classical restorers against reference implementations and hand-computed values."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from baselines.classical.base import gaussian_blur, gaussian_kernel
from baselines.classical.deblurring import mirrored_blur_spectrum
from baselines.classical.resampling import output_size
from bench.config import ConfigError
from bench.images import encode_png, to_numpy, to_tensor, to_uint8
from bench.registry import RESTORERS


@pytest.fixture
def image(rng) -> np.ndarray:
    """A smooth colour image with texture, 40 x 48, values in [0.05, 0.95]."""
    y, x = np.mgrid[0:40, 0:48].astype(np.float64)
    base = np.stack([np.sin(x / 5) * np.cos(y / 7), x / 48, y / 40], axis=-1) * 0.35 + 0.5
    return np.clip(base + rng.normal(0, 0.03, base.shape), 0.05, 0.95).astype(np.float32)


def restore_one(name: str, image: np.ndarray, **params) -> np.ndarray:
    restorer = RESTORERS.create(name, **params)
    restorer.load("cpu")
    return to_numpy(restorer.restore(to_tensor(image), [0]))[0]


def pil_resize(image: np.ndarray, height: int, width: int, method) -> np.ndarray:
    planes = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(image[..., c])).resize((width, height), method)
        )
        for c in range(3)
    ]
    return np.stack(planes, axis=-1)


# --- identity and lanczos --------------------------------------------------------------------


def test_identity_at_input_size_is_bit_exact(image):
    batch = to_tensor([image, image[::-1].copy()])
    output = RESTORERS.create("identity").restore(batch, [0, 1])
    assert torch.equal(output, batch)
    assert output.data_ptr() != batch.data_ptr()
    assert encode_png(to_numpy(output)[0]) == encode_png(image)


@pytest.mark.parametrize(("height", "width"), [(100, 120), (17, 20)])
def test_identity_is_pillow_bicubic(image, height, width):
    """Upscaling and (antialiased) downscaling both match Pillow's bicubic filter."""
    size = max(height, width)
    output = restore_one("identity", image, size=size)
    assert output.shape == (height, width, 3)
    reference = np.clip(pil_resize(image, height, width, Image.Resampling.BICUBIC), 0, 1)
    np.testing.assert_allclose(output, reference, atol=2e-5)


def test_output_size_keeps_the_aspect_ratio():
    assert output_size(128, 128, 512) == (512, 512)
    assert output_size(40, 48, 96) == (80, 96)
    assert output_size(48, 40, 24) == (24, 20)
    assert output_size(40, 48, None) == (40, 48)


def lanczos_matrix(source: int, target: int) -> np.ndarray:
    """Resampling weights of Lanczos-3 (widened when shrinking), renormalised at the borders."""
    scale = max(source / target, 1.0)
    centres = (np.arange(target) + 0.5) * source / target
    distance = ((np.arange(source) + 0.5)[None, :] - centres[:, None]) / scale
    weights = np.where(np.abs(distance) < 3, np.sinc(distance) * np.sinc(distance / 3), 0.0)
    return weights / weights.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("size", [96, 20])
def test_lanczos_matches_an_independent_lanczos3(image, size):
    output = restore_one("lanczos", image, size=size)
    height, width = output_size(40, 48, size)
    rows, cols = lanczos_matrix(40, height), lanczos_matrix(48, width)
    reference = np.einsum("ij,jkc,lk->ilc", rows, image.astype(np.float64), cols)
    np.testing.assert_allclose(output, np.clip(reference, 0, 1), atol=1e-4)


def test_lanczos_at_input_size_is_the_input(image):
    np.testing.assert_array_equal(restore_one("lanczos", image), image)


# --- denoising --------------------------------------------------------------------------------


def test_bilateral_matches_the_formula(image):
    """OpenCV's bilateral: disc window, L1 colour distance, mirrored borders."""
    diameter, sigma_color, sigma_space = 5, 0.1, 2.0
    output = restore_one(
        "bilateral", image, diameter=diameter, sigma_color=sigma_color, sigma_space=sigma_space
    )
    radius = diameter // 2
    padded = np.pad(image.astype(np.float64), ((radius,) * 2, (radius,) * 2, (0, 0)), "symmetric")
    total = np.zeros_like(image, dtype=np.float64)
    norm = np.zeros(image.shape[:2])
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if math.hypot(dy, dx) > radius:
                continue
            shifted = padded[radius + dy : radius + dy + 40, radius + dx : radius + dx + 48]
            colour = np.abs(shifted - image).sum(axis=-1)
            weight = np.exp(-(dy * dy + dx * dx) / (2 * sigma_space**2)) * np.exp(
                -(colour**2) / (2 * sigma_color**2)
            )
            total += weight[..., None] * shifted
            norm += weight
    np.testing.assert_allclose(output, total / norm[..., None], atol=2e-3)


def test_nlmeans_is_opencv_on_bgr_and_removes_noise(rng):
    y, x = np.mgrid[0:64, 0:64] / 64.0
    clean = np.stack([x, y, 1 - x], axis=-1).astype(np.float32) * 0.6 + 0.2
    noisy = np.clip(clean + rng.normal(0, 0.04, clean.shape), 0, 1).astype(np.float32)
    output = restore_one("nlmeans", noisy, h=8.0, h_color=8.0)
    direct = cv2.fastNlMeansDenoisingColored(to_uint8(noisy)[..., ::-1].copy(), None, 8, 8, 7, 21)
    np.testing.assert_array_equal(to_uint8(output), direct[..., ::-1])
    assert np.mean((output - clean) ** 2) < 0.5 * np.mean((noisy - clean) ** 2)


# --- deblurring -------------------------------------------------------------------------------


def test_gaussian_kernel_by_hand():
    kernel = gaussian_kernel(1.0)
    assert kernel.shape == (7,)
    assert kernel.sum() == pytest.approx(1.0)
    assert kernel[4] / kernel[3] == pytest.approx(math.exp(-0.5))
    assert kernel[6] / kernel[3] == pytest.approx(math.exp(-4.5))


def scipy_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    kernel = gaussian_kernel(sigma)
    blurred = ndimage.correlate1d(image.astype(np.float64), kernel, axis=0, mode="reflect")
    return ndimage.correlate1d(blurred, kernel, axis=1, mode="reflect")


def test_gaussian_blur_is_mirrored_correlation(image):
    np.testing.assert_allclose(gaussian_blur(image, 1.3), scipy_blur(image, 1.3), atol=1e-6)


def test_richardson_lucy_matches_a_reference_loop(image):
    sigma, iterations = 1.2, 5
    estimate = image.astype(np.float64)
    for _ in range(iterations):
        estimate = estimate * scipy_blur(image / scipy_blur(estimate, sigma), sigma)
    output = restore_one("richardson_lucy", image, sigma=sigma, iterations=iterations)
    np.testing.assert_allclose(output, np.clip(estimate, 0, 1), atol=1e-4)


def test_richardson_lucy_undoes_part_of_a_blur(image):
    blurred = gaussian_blur(image, 1.0)
    output = restore_one("richardson_lucy", blurred, sigma=1.0, iterations=20)
    assert np.mean((output - image) ** 2) < 0.85 * np.mean((blurred - image) ** 2)


def test_dct_spectrum_diagonalises_the_mirrored_blur(image):
    from scipy.fft import dctn, idctn

    kernel = gaussian_kernel(1.5)
    spectrum = np.outer(mirrored_blur_spectrum(kernel, 40), mirrored_blur_spectrum(kernel, 48))
    coefficients = dctn(image.astype(np.float64), type=2, axes=(0, 1), norm="ortho")
    through_dct = idctn(coefficients * spectrum[..., None], type=2, axes=(0, 1), norm="ortho")
    np.testing.assert_allclose(through_dct, cv2_blur(image, kernel), atol=1e-6)


def cv2_blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.sepFilter2D(
        image.astype(np.float64), -1, kernel, kernel, borderType=cv2.BORDER_REFLECT
    )


def test_wiener_inverts_a_blur_when_balance_is_tiny(image):
    blurred = gaussian_blur(image, 1.0)
    output = restore_one("wiener", blurred, sigma=1.0, balance=1e-12)
    np.testing.assert_allclose(output, image, atol=2e-3)


def test_wiener_gain_by_hand(image):
    """A constant image is a pure DC term: gain 1 / (1 + balance)."""
    flat = np.full((32, 32, 3), 0.5, dtype=np.float32)
    output = restore_one("wiener", flat, sigma=2.0, balance=0.25)
    np.testing.assert_allclose(output, 0.5 / 1.25, atol=1e-6)


def test_unsharp_matches_the_formula(image):
    output = restore_one("unsharp", image, sigma=1.5, amount=0.7)
    reference = image + 0.7 * (image - scipy_blur(image, 1.5))
    np.testing.assert_allclose(output, np.clip(reference, 0, 1), atol=1e-5)


# --- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("nlmeans", {"hh": 3}, "unknown key 'hh'; did you mean 'h'"),
        ("nlmeans", {"template_window": 6}, "template_window must be a positive odd number"),
        ("wiener", {"sigma": -1.0}, "sigma must be positive"),
        ("richardson_lucy", {"iterations": 0}, "iterations must be positive"),
        ("identity", {"size": 0}, "size must be positive"),
        ("bilateral", {"sigma_color": "wide"}, "expected float"),
    ],
)
def test_bad_parameters_are_named(name, params, message):
    with pytest.raises(ConfigError, match=message):
        RESTORERS.create(name, **params)
