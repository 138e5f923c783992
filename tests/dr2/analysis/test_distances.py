"""Closed-form distances against Monte Carlo, and low-pass against full band."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dr2.analysis.distances import (
    first_below,
    monte_carlo_distance,
    monte_carlo_noise_energy,
    noise_energy,
    signal_energy,
    signal_ratio,
)
from dr2.analysis.experiment import schedule
from dr2.resize import resize_matrix

SIZE = 32


def smooth_faces(count: int, seed: int) -> torch.Tensor:
    """Random images with most of their energy in low frequencies, in [-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand((count, 3, 4, 4), generator=generator, dtype=torch.float64) * 2 - 1
    return torch.nn.functional.interpolate(coarse, size=SIZE, mode="bicubic").clamp(-1, 1)


def high_frequency(count: int, seed: int, amplitude: float) -> torch.Tensor:
    """Noise modulated by a checkerboard: energy near the Nyquist frequency only."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn((count, 3, SIZE, SIZE), generator=generator, dtype=torch.float64)
    checker = (-1.0) ** (torch.arange(SIZE)[:, None] + torch.arange(SIZE)[None, :])
    blurred = torch.nn.functional.avg_pool2d(noise, 3, stride=1, padding=1)
    return amplitude * blurred * checker


@pytest.mark.parametrize("factor", [1, 2, 4, 8])
def test_noise_energy_is_exact(factor):
    expected = noise_energy(SIZE, factor)
    mean, error = monte_carlo_noise_energy(SIZE, factor, 400, torch.Generator().manual_seed(1))
    assert abs(mean - expected) < 4 * error
    if factor > 1:  # the formula ||M||_F^4 / S^2, from the matrices themselves
        down = resize_matrix(SIZE, 1 / factor)
        matrix = resize_matrix(down.shape[0], factor) @ down
        assert expected == pytest.approx(np.linalg.norm(matrix) ** 4 / SIZE**2)
        assert expected < 1.5 / factor**2  # most frequencies are removed


@pytest.mark.parametrize("factor", [1, 4])
@pytest.mark.parametrize("step", [5, 30, 70])
def test_closed_form_matches_monte_carlo(factor, step):
    x = smooth_faces(3, 0)
    y = (x * 0.7 + 0.1 + high_frequency(3, 1, 0.3)).clamp(-1, 1)
    alpha = float(schedule(100)[step])
    ratio = signal_ratio(signal_energy(x, y, factor), noise_energy(SIZE, factor), [alpha])[:, 0]
    mean, error = monte_carlo_distance(
        x, y, factor, alpha, samples=300, generator=torch.Generator().manual_seed(step)
    )
    assert np.all(np.abs(mean - (1 + ratio)) < 4 * error + 1e-12)
    assert np.all(ratio > 0)


def test_signal_ratio_by_hand():
    # a = 0.8: 0.8 * 0.1 / (2 * 0.2 * 0.5) = 0.4
    assert signal_ratio(np.array([0.1]), 0.5, np.array([0.8]))[0, 0] == pytest.approx(0.4)


def test_first_below():
    assert first_below(np.array([3.0, 1.0, 0.05, 0.01])) == 2
    assert first_below(np.array([3.0, 1.0]), threshold=2.0) == 1
    assert first_below(np.array([3.0, 1.0])) is None


def indistinguishable_step(first: torch.Tensor, second: torch.Tensor, factor: int) -> int | None:
    signal = signal_energy(first, second, factor)
    ratio = signal_ratio(signal, noise_energy(SIZE, factor), schedule(100)).mean(axis=0)
    return first_below(ratio)


def test_high_frequency_types_merge_sooner_after_low_pass():
    """Two degradation types that differ only near Nyquist: Phi_N sees almost no difference."""
    x = smooth_faces(8, 2)
    first, second = x + high_frequency(8, 3, 0.2), x + high_frequency(8, 4, 0.2)
    full = indistinguishable_step(first, second, 1)
    low = indistinguishable_step(first, second, 4)
    assert full is not None and low is not None
    assert low < full


def test_low_frequency_types_do_not_merge_sooner_after_low_pass():
    """A colour shift lives in the low band, where Phi_N keeps it and removes most noise."""
    x = smooth_faces(8, 2)
    shifted = x + torch.tensor([0.1, 0.0, -0.1], dtype=torch.float64)[None, :, None, None]
    full = indistinguishable_step(x, shifted, 1)
    low = indistinguishable_step(x, shifted, 4)
    assert full is not None and low is not None
    assert low > full
