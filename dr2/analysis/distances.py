"""Expected distance between a diffused clean image and its diffused degraded version.

Images are in the diffusion model's range [-1, 1], ``C x S x S``, with ``d = C S^2`` values.
With ``a = alpha_bar_t``, ``x_t = sqrt(a) x + sqrt(1 - a) e1`` and ``y_t = sqrt(a) y +
sqrt(1 - a) e2`` (independent standard normal noise), and a linear band operator ``L`` (the
identity for the full band, Phi_N for the low-pass band):

    E||L(x_t - y_t)||^2 = a ||L(x - y)||^2 + 2 (1 - a) E||L e||^2

The noise part ``2 (1 - a) E||L e||^2`` is what two diffusions of the *same* image already differ
by. Per value, write ``s = ||L(x - y)||^2 / d`` (the signal energy) and ``nu = E||L e||^2 / d``
(the noise energy of the band: 1 for the full band; for Phi_N, which acts on each channel as
``M X M^T`` with ``M = up @ down``, exactly ``||M||_F^4 / S^2``). The normalised distance is

    D(t) = E||L(x_t - y_t)||^2 / E||L(sqrt(1 - a)(e1 - e2))||^2 = 1 + r(t),
    r(t) = a s / (2 (1 - a) nu)

and the pair is *indistinguishable at t* when the signal ratio ``r(t)`` is at most a threshold
(0.05 by default: the difference adds at most 5 % to the noise part). In the full band ``r(t)``
is also the KL divergence between ``q(x_t | x)`` and ``q(y_t | y)`` per value. ``a / (1 - a)``
falls with t, so ``r`` does too and the smallest indistinguishable t is well defined.

Example:
    >>> ratio = signal_ratio(np.array([0.1]), 1.0, np.array([0.9, 0.5, 0.01]))
    >>> [round(float(v), 4) for v in ratio[0]]
    [0.45, 0.05, 0.0005]
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from dr2.resize import LowPass

DEFAULT_THRESHOLD = 0.05


@functools.cache
def noise_energy(size: int, factor: int) -> float:
    """``E||Phi_N e||^2 / d`` for standard normal ``e``: exactly ``||M||_F^4 / S^2``.

    Args:
        size: image side S.
        factor: low-pass factor N (1 is the full band, energy 1).

    Example:
        >>> noise_energy(64, 1)
        1.0
    """
    if factor == 1:
        return 1.0
    from dr2.resize import resize_matrix

    down = resize_matrix(size, 1.0 / factor)
    up = resize_matrix(down.shape[0], float(factor))
    matrix = up @ down
    return float(np.sum(matrix**2) ** 2 / size**2)


def band(size: int, factor: int) -> LowPass:
    """The band operator on ``(..., S, S)`` tensors: identity for N = 1, else Phi_N."""
    from dr2.resize import LowPass

    return LowPass(size, factor)


def signal_energy(x: torch.Tensor, y: torch.Tensor, factor: int) -> np.ndarray:
    """``||L(x - y)||^2 / d`` per image for batches ``(B, C, S, S)`` in [-1, 1]."""
    difference = band(x.shape[-1], factor)(x.double() - y.double())
    return difference.pow(2).mean(dim=(1, 2, 3)).numpy()


def signal_ratio(signal: np.ndarray, noise: float, alphas_cumprod: np.ndarray) -> np.ndarray:
    """``r(t) = a s / (2 (1 - a) nu)``: ``(B,)`` signal energies to ``(B, T)`` ratios."""
    a = np.asarray(alphas_cumprod, dtype=np.float64)
    return np.asarray(signal, dtype=np.float64)[:, None] * (a / (2.0 * (1.0 - a) * noise))[None]


def first_below(ratio: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> int | None:
    """The smallest index t with ``ratio[t] <= threshold`` (ratios fall with t), else None.

    Example:
        >>> first_below(np.array([1.0, 0.2, 0.04, 0.01]))
        2
    """
    below = np.flatnonzero(np.asarray(ratio) <= threshold)
    return int(below[0]) if below.size else None


def monte_carlo_distance(
    x: torch.Tensor,
    y: torch.Tensor,
    factor: int,
    alpha_cumprod: float,
    samples: int,
    generator: torch.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Monte-Carlo estimate of ``D(t)`` per image: mean and standard error over ``samples``.

    Each sample diffuses ``x`` and ``y`` with independent noise and divides ``||L(x_t -
    y_t)||^2 / d`` by the exact noise part ``2 (1 - a) nu``.
    """
    import torch

    operator = band(x.shape[-1], factor)
    a = float(alpha_cumprod)
    noise_part = 2.0 * (1.0 - a) * noise_energy(x.shape[-1], factor)
    draws = []
    for _ in range(samples):
        e1 = torch.randn(x.shape, generator=generator, dtype=torch.float64)
        e2 = torch.randn(x.shape, generator=generator, dtype=torch.float64)
        x_t = a**0.5 * x.double() + (1 - a) ** 0.5 * e1
        y_t = a**0.5 * y.double() + (1 - a) ** 0.5 * e2
        draws.append(operator(x_t - y_t).pow(2).mean(dim=(1, 2, 3)).numpy() / noise_part)
    values = np.stack(draws)
    return values.mean(axis=0), values.std(axis=0, ddof=1) / np.sqrt(samples)


def monte_carlo_noise_energy(
    size: int, factor: int, samples: int, generator: torch.Generator
) -> tuple[float, float]:
    """Monte-Carlo ``E||Phi_N e||^2 / d`` on ``3 x S x S`` noise: mean and standard error."""
    import torch

    operator = band(size, factor)
    noise = torch.randn((samples, 3, size, size), generator=generator, dtype=torch.float64)
    values = operator(noise).pow(2).mean(dim=(1, 2, 3)).numpy()
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(samples))
