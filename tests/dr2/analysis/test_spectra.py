"""Spectral features, the unpaired signal energy and the PCA embedding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dr2.analysis.distances import noise_energy, signal_energy
from dr2.analysis.embedding import pca_2d, separation
from dr2.analysis.features import ring_power, spectral_features
from dr2.analysis.unpaired import set_statistics, unpaired_signal

SIZE = 32


def smooth_faces(count: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand((count, 3, 4, 4), generator=generator, dtype=torch.float64) * 2 - 1
    return torch.nn.functional.interpolate(coarse, size=SIZE, mode="bicubic")


def test_ring_power_obeys_parseval():
    faces = smooth_faces(2, 0)
    power, sizes = ring_power(faces)
    assert sizes.sum() == SIZE**2
    energy = (power * sizes).sum(-1) / SIZE**2
    torch.testing.assert_close(energy, faces.pow(2).mean(dim=(2, 3)))


def test_white_noise_has_flat_log_band_power():
    generator = torch.Generator().manual_seed(1)
    noise = 0.3 * torch.randn((4, 3, 64, 64), generator=generator, dtype=torch.float64) + 0.2
    features = spectral_features(noise, bins=4)
    np.testing.assert_allclose(features[:, :3], 0.2, atol=0.02)  # the channel means
    np.testing.assert_allclose(features[:, 3:], np.log(0.09), atol=0.25)  # power 0.3^2 per band


def test_blur_lowers_the_high_bands_only():
    generator = torch.Generator().manual_seed(2)
    image = torch.randn((1, 3, 64, 64), generator=generator, dtype=torch.float64)
    blurred = torch.nn.functional.avg_pool2d(image, 3, stride=1, padding=1, count_include_pad=False)
    sharp, soft = spectral_features(image, 8)[0, 3:], spectral_features(blurred, 8)[0, 3:]
    drop = (sharp - soft).reshape(3, 8)
    assert np.all(drop[:, -1] > 2.0)  # top band: power down by more than e^2
    assert np.all(np.abs(drop[:, 0]) < 0.3)  # lowest band about unchanged


def similar_faces(count: int, seed: int) -> torch.Tensor:
    """One smooth face with small smooth variations: little sampling noise between sets."""
    return smooth_faces(1, 0) + 0.05 * smooth_faces(count, seed)


def test_unpaired_signal_of_a_constant_shift_is_exact():
    first, second = similar_faces(16, 3), similar_faces(16, 4)
    shift = torch.tensor([0.2, -0.1, 0.05], dtype=torch.float64)[None, :, None, None]
    for factor in (1, 4):
        null = unpaired_signal(set_statistics(first, factor), set_statistics(second, factor))
        moved = unpaired_signal(
            set_statistics(first, factor), set_statistics(second + shift, factor)
        )
        expected = float(shift.pow(2).mean())  # Phi_N keeps constants
        assert moved == pytest.approx(expected, rel=0.05)
        assert null < 0.01 * expected


@pytest.mark.parametrize("factor", [1, 4])
def test_unpaired_signal_of_additive_noise_matches_the_paired_one(factor):
    clean, other = similar_faces(48, 5), similar_faces(48, 6)
    generator = torch.Generator().manual_seed(7)
    noisy = other + 0.2 * torch.randn(other.shape, generator=generator, dtype=torch.float64)
    paired = float(signal_energy(other, noisy, factor).mean())
    unpaired = unpaired_signal(set_statistics(noisy, factor), set_statistics(clean, factor))
    assert paired == pytest.approx(0.04 * noise_energy(SIZE, factor), rel=0.05)
    assert unpaired == pytest.approx(paired, rel=0.15)


def test_pca_matches_the_covariance_eigenvectors():
    rng = np.random.default_rng(8)
    features = rng.standard_normal((200, 5)) @ rng.standard_normal((5, 5))
    points = pca_2d(features)
    standardised = (features - features.mean(0)) / features.std(0)
    eigenvalues = np.linalg.eigvalsh(np.cov(standardised, rowvar=False, bias=True))[::-1]
    np.testing.assert_allclose(points.var(axis=0), eigenvalues[:2], rtol=1e-10)
    assert abs(np.corrcoef(points.T)[0, 1]) < 1e-10
    np.testing.assert_array_equal(pca_2d(features), points)  # deterministic signs


def test_separation_of_merged_and_apart_groups():
    rng = np.random.default_rng(9)
    labels = np.repeat([0, 1], 50)
    merged = rng.standard_normal((100, 2))
    apart = merged + 10 * labels[:, None]
    assert separation(merged, labels) < 0.05
    assert separation(apart, labels) > 0.9


@pytest.mark.slow
def test_inception_features_are_the_kid_metrics_on_images_in_zero_one():
    from bench.registry import METRICS
    from dr2.analysis.features import extract

    z = torch.rand((2, 3, 64, 64), generator=torch.Generator().manual_seed(10)) * 2.4 - 1.2
    metric = METRICS.create("kid")
    expected = metric.features(((z + 1) / 2).clamp(0, 1))
    np.testing.assert_allclose(extract(z, "inception"), expected, rtol=1e-5, atol=1e-6)
    assert extract(z, "inception").shape == (2, 2048)
