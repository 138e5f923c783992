"""Our degradations against basicsr 1.4.2 (``basicsr.data.degradations``), the functions GFPGAN,
CodeFormer and DifFace build their test sets with: same parameters, same pixels.

basicsr works on float32 BGR images; ours on float32 RGB, so inputs and outputs are flipped.
basicsr 1.4.2 imports ``torchvision.transforms.functional_tensor``, which current torchvision
no longer has: a stub module providing ``rgb_to_grayscale`` is inserted before the import.
"""

from __future__ import annotations

import math
import sys
import types

import numpy as np
import pytest

from bench.chains import load_chain
from bench.images import read_image, to_uint8
from degradations.kernels import anisotropic_gaussian_kernel, gaussian_kernel_1d

cv2 = pytest.importorskip("cv2")
torchvision_functional = pytest.importorskip("torchvision.transforms.functional")


def _import_basicsr_degradations():
    name = "torchvision.transforms.functional_tensor"
    if name not in sys.modules:
        stub = types.ModuleType(name)
        stub.rgb_to_grayscale = torchvision_functional.rgb_to_grayscale
        sys.modules[name] = stub
    return pytest.importorskip("basicsr.data.degradations")


reference = _import_basicsr_degradations()

BLUR_TOLERANCE = 2e-6
"""Separable vs 2-D (DFT) filtering: a few float32 ulps on [0, 1] values."""


def bgr(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[:, :, ::-1])


@pytest.fixture(scope="module")
def face(shared_data) -> np.ndarray:
    return read_image(shared_data / "hq" / "ffhq_00003.png")


@pytest.fixture(scope="module")
def small_face(face) -> np.ndarray:
    return np.ascontiguousarray(
        cv2.resize(face, (128, 128), interpolation=cv2.INTER_AREA), dtype=np.float32
    )


def create(name: str):
    from bench.registry import DEGRADATIONS

    return DEGRADATIONS.create(name)


@pytest.mark.parametrize("sigma", [0.1, 1.0, 3.7, 10.0])
def test_isotropic_kernel_matches_bivariate_gaussian(sigma):
    taps = gaussian_kernel_1d(sigma, 41)
    expected = reference.bivariate_Gaussian(41, sigma, sigma, 0.0, isotropic=True)
    np.testing.assert_allclose(np.outer(taps, taps), expected, rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize(
    ("sigma_x", "sigma_y", "theta"),
    [(4.0, 8.0, 0.0), (12.0, 4.0, math.pi / 4), (2.5, 7.1, 2.2), (16.0, 16.0, 3 * math.pi / 4)],
)
def test_anisotropic_kernel_matches_bivariate_gaussian(sigma_x, sigma_y, theta):
    ours = anisotropic_gaussian_kernel(sigma_x, sigma_y, theta, 41)
    expected = reference.bivariate_Gaussian(41, sigma_x, sigma_y, theta, isotropic=False)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize("sigma", [0.8, 4.2, 10.0])
def test_gaussian_blur_matches_filter2d(face, sigma):
    params = {"sigma": sigma, "kernel_size": 41}
    kernel = reference.bivariate_Gaussian(41, sigma, sigma, 0.0, isotropic=True)
    expected = cv2.filter2D(bgr(face), -1, kernel)[:, :, ::-1]
    ours = create("gaussian_blur").apply(face, params)
    assert np.abs(ours - expected).max() < BLUR_TOLERANCE
    differing = np.mean(to_uint8(ours) != to_uint8(expected))
    assert differing < 1e-3  # 8-bit pixels that a float32 ulp pushed across a rounding edge


def test_anisotropic_blur_matches_filter2d(face):
    params = {"sigma_x": 12.0, "sigma_y": 4.0, "theta": math.pi / 4, "kernel_size": 41}
    kernel = reference.bivariate_Gaussian(41, 12.0, 4.0, math.pi / 4, isotropic=False)
    expected = cv2.filter2D(bgr(face), -1, kernel)[:, :, ::-1]
    ours = create("anisotropic_blur").apply(face, params)
    assert np.abs(ours - expected).max() < BLUR_TOLERANCE


@pytest.mark.parametrize("scale", [0.8, 3.3, 8.0])
def test_downsample_matches_gfpgan_resize(face, scale):
    height, width = face.shape[:2]
    expected = cv2.resize(
        bgr(face), (int(width // scale), int(height // scale)), interpolation=cv2.INTER_LINEAR
    )[:, :, ::-1]
    ours = create("downsample").apply(face, {"scale": scale, "interpolation": "bilinear"})
    assert ours.shape == expected.shape
    np.testing.assert_array_equal(ours, np.clip(expected, 0, 1))


@pytest.mark.parametrize(("sigma", "grey"), [(0.0, False), (7.3, False), (20.0, True)])
def test_gaussian_noise_equals_basicsr(small_face, sigma, grey):
    seed = 1234
    np.random.seed(seed)
    expected = reference.add_gaussian_noise(
        bgr(small_face), sigma=sigma, clip=True, gray_noise=grey
    )
    params = {"sigma": sigma, "grey": grey, "seed": seed}
    ours = create("gaussian_noise").apply(small_face, params)
    np.testing.assert_array_equal(ours, expected[:, :, ::-1])


@pytest.mark.parametrize(("scale", "grey"), [(1.0, False), (2.5, False), (1.5, True)])
def test_poisson_noise_equals_basicsr(small_face, scale, grey):
    seed = 99
    np.random.seed(seed)
    expected = reference.add_poisson_noise(bgr(small_face), scale=scale, clip=True, gray_noise=grey)
    ours = create("poisson_noise").apply(small_face, {"scale": scale, "grey": grey, "seed": seed})
    np.testing.assert_array_equal(ours, expected[:, :, ::-1])


@pytest.mark.parametrize("quality", [10, 60, 95])
def test_jpeg_equals_basicsr(face, quality):
    ripple = np.float32(0.2) * np.sin(np.arange(512, dtype=np.float32))[:, None, None]
    noisy = (face + ripple).astype(np.float32)  # leaves [0, 1]: both clip before encoding
    expected = reference.add_jpg_compression(bgr(np.clip(noisy, 0, 1)), quality=quality)
    ours = create("jpeg").apply(noisy, {"quality": quality})
    np.testing.assert_array_equal(ours, expected[:, :, ::-1])


def basicsr_gfpgan(image_bgr: np.ndarray, steps: list[dict]) -> np.ndarray:
    """GFPGAN's FFHQDegradationDataset pipeline with basicsr's functions and our parameters."""
    blur, down, noise, jpeg = (step["params"] for step in steps)
    height, width = image_bgr.shape[:2]
    kernel = reference.bivariate_Gaussian(41, blur["sigma"], blur["sigma"], 0, isotropic=True)
    degraded = cv2.filter2D(image_bgr, -1, kernel)
    scale = down["scale"]
    degraded = cv2.resize(
        degraded, (int(width // scale), int(height // scale)), interpolation=cv2.INTER_LINEAR
    )
    np.random.seed(noise["seed"])
    degraded = reference.add_gaussian_noise(degraded, sigma=noise["sigma"], clip=True)
    degraded = reference.add_jpg_compression(degraded, quality=jpeg["quality"])
    return cv2.resize(degraded, (width, height), interpolation=cv2.INTER_LINEAR)


def test_gfpgan_chain_matches_basicsr_pipeline(face):
    chain = load_chain("gfpgan")
    identical = 0
    for seed in range(10):
        steps = chain.sample(np.random.default_rng(seed), 0)
        ours = to_uint8(chain.apply(face, steps))
        expected = to_uint8(basicsr_gfpgan(bgr(face), steps)[:, :, ::-1])
        identical += int(np.array_equal(ours, expected))
        # Separable blur differs by float32 ulps; where one crosses an 8-bit rounding edge
        # before JPEG, the change spreads over its 8x8 block.
        assert np.mean(ours != expected) < 0.02
        assert np.abs(ours.astype(int) - expected).max() <= 8
    assert identical >= 8
