"""Each degradation against values computed by hand: kernels, impulses, block means, formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.registry import DEGRADATIONS
from degradations.kernels import disk_kernel, gaussian_kernel_1d, motion_kernel


def impulse(size: int = 65) -> np.ndarray:
    image = np.zeros((size, size, 3), dtype=np.float32)
    image[size // 2, size // 2] = 1.0
    return image


def centre_crop(image: np.ndarray, half: int) -> np.ndarray:
    middle = image.shape[0] // 2
    return image[middle - half : middle + half + 1, middle - half : middle + half + 1, 0]


def test_gaussian_kernel_by_hand():
    weights = np.array([math.exp(-0.5), 1.0, math.exp(-0.5)])
    np.testing.assert_allclose(gaussian_kernel_1d(1.0, 3), weights / weights.sum(), rtol=1e-15)


def test_horizontal_motion_kernel_by_hand():
    # 17 points at x = 0, 0.25, ..., 4 splatted bilinearly: columns get 2.5, 4, 4, 4, 2.5.
    expected = np.zeros((5, 5))
    expected[2] = np.array([2.5, 4, 4, 4, 2.5]) / 17
    np.testing.assert_allclose(motion_kernel(4.0, 0.0), expected, atol=1e-15)
    np.testing.assert_allclose(motion_kernel(4.0, 90.0), expected.T, atol=1e-15)


def test_disk_kernel_is_a_disk_of_the_right_area():
    kernel = disk_kernel(10.0)
    assert kernel.shape == (21, 21)
    assert kernel[10, 10] == pytest.approx(1 / (math.pi * 100), rel=0.01)
    assert kernel[10, 0] < kernel[10, 10] and kernel[0, 0] == 0.0
    np.testing.assert_allclose(kernel, kernel.T, atol=1e-15)


@pytest.mark.parametrize(
    ("name", "params", "kernel"),
    [
        ("gaussian_blur", {"sigma": 2.0, "kernel_size": 13}, None),
        ("motion_blur", {"length": 8.0, "angle": 30.0}, motion_kernel(8.0, 30.0)),
        ("defocus_blur", {"radius": 4.0}, disk_kernel(4.0)),
    ],
)
def test_blurring_an_impulse_gives_the_kernel(name, params, kernel):
    if kernel is None:
        taps = gaussian_kernel_1d(2.0, 13)
        kernel = np.outer(taps, taps)
    output = DEGRADATIONS.create(name).apply(impulse(), params)
    half = kernel.shape[0] // 2
    # filter2D correlates; these kernels are point-symmetric, so correlation is convolution
    np.testing.assert_allclose(centre_crop(output, half), kernel, atol=1e-6)
    assert output.sum() == pytest.approx(3.0, rel=1e-5)


def test_anisotropic_blur_stretches_along_theta():
    params = {"sigma_x": 6.0, "sigma_y": 1.0, "theta": math.pi / 2, "kernel_size": 41}
    output = DEGRADATIONS.create("anisotropic_blur").apply(impulse(), params)[:, :, 0]
    # theta = pi/2 turns the long (sigma_x) axis onto the rows: a vertical streak
    assert output[32 + 6, 32] > 10 * output[32, 32 + 6]


def test_downsample_sizes_follow_gfpgan_floor_division():
    plugin = DEGRADATIONS.create("downsample")
    image = np.full((512, 512, 3), 0.5, dtype=np.float32)
    assert plugin.apply(image, {"scale": 0.8, "interpolation": "bilinear"}).shape == (639, 639, 3)
    assert plugin.apply(image, {"scale": 3.0, "interpolation": "area"}).shape == (170, 170, 3)
    with pytest.raises(ValueError, match="no pixels left"):
        plugin.apply(image[:40, :40], {"scale": 64.0, "interpolation": "nearest"})


def test_pixelate_sets_each_block_to_its_mean():
    image = np.arange(5 * 5 * 3, dtype=np.float32).reshape(5, 5, 3) / 75
    output = DEGRADATIONS.create("pixelate").apply(image, {"block": 2})
    for top in range(0, 5, 2):
        for left in range(0, 5, 2):
            block = image[top : top + 2, left : left + 2]
            mean = block.reshape(-1, 3).mean(axis=0)
            np.testing.assert_allclose(
                output[top : top + 2, left : left + 2],
                np.broadcast_to(mean, block.shape),
                rtol=1e-6,
            )


def test_colour_shift_formula_by_hand():
    pixel = np.array([0.2, 0.4, 0.6])
    params = {"gamma": 2.0, "brightness": 25.5, "contrast": 0.5, "saturation": 0.5}
    toned = (pixel**2 + 0.1 - 0.5) * 0.5 + 0.5
    luma = toned @ np.array([0.299, 0.587, 0.114])
    expected = luma + 0.5 * (toned - luma)
    image = np.broadcast_to(pixel.astype(np.float32), (4, 4, 3)).copy()
    output = DEGRADATIONS.create("colour_shift").apply(image, params)
    np.testing.assert_allclose(output[0, 0], expected, rtol=1e-6)


def test_colour_shift_identity_and_greyscale():
    plugin = DEGRADATIONS.create("colour_shift")
    image = np.random.default_rng(0).random((8, 8, 3), dtype=np.float32)
    identity = {"gamma": 1.0, "brightness": 0.0, "contrast": 1.0, "saturation": 1.0}
    np.testing.assert_allclose(plugin.apply(image, identity), image, atol=1e-6)
    grey = plugin.apply(image, identity | {"saturation": 0.0})
    np.testing.assert_allclose(grey[:, :, 0], grey[:, :, 2], atol=1e-6)


def test_gaussian_noise_has_the_requested_deviation():
    image = np.full((256, 256, 3), 0.5, dtype=np.float32)
    plugin = DEGRADATIONS.create("gaussian_noise")
    noisy = plugin.apply(image, {"sigma": 20.0, "grey": False, "seed": 7})
    assert np.std((noisy - 0.5) * 255) == pytest.approx(20.0, rel=0.02)
    grey = plugin.apply(image, {"sigma": 20.0, "grey": True, "seed": 7})
    np.testing.assert_array_equal(grey[:, :, 0], grey[:, :, 1])


def test_poisson_noise_variance_is_intensity_over_photon_count():
    ramp = np.repeat(np.arange(256, dtype=np.float32)[None, :] / 255, 256, axis=0)
    image = np.repeat(ramp[:, :, None], 3, axis=2)  # all 256 levels: 256 photons at white
    noisy = DEGRADATIONS.create("poisson_noise").apply(
        image, {"scale": 2.0, "grey": False, "seed": 3}
    )
    inner = slice(64, 192)  # away from the clip at 0 and 1
    variance = np.var(noisy[:, inner] - image[:, inner])
    expected = 4.0 * image[:, inner].mean() / 256
    assert variance == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize("name", ["jpeg", "webp"])
def test_compression_loses_more_at_lower_quality(name):
    rng = np.random.default_rng(0)
    image = np.clip(0.5 + 0.2 * rng.standard_normal((64, 64, 3)), 0, 1).astype(np.float32)
    plugin = DEGRADATIONS.create(name)
    errors = [np.abs(plugin.apply(image, {"quality": q}) - image).mean() for q in (95, 50, 5)]
    assert errors[0] < errors[1] < errors[2]
