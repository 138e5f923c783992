"""Phi_N: the ILVR cubic resizer as matrices, against an independent loop and torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dr2.resize import LowPass, cubic, resize_matrix


def _reference_resize(signal: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB-imresize bicubic of a 1-D signal, written as a loop over output pixels."""
    n = len(signal)
    out = int(np.ceil(n * scale))
    stretch = min(scale, 1.0)
    padded = np.pad(signal, n, mode="symmetric")  # index k of signal sits at k + n
    result = np.empty(out)
    for o in range(out):
        centre = (o + 0.5) / scale - 0.5  # 0-based input coordinate
        ks = np.arange(
            int(np.floor(centre - 2 / stretch)) - 1, int(np.ceil(centre + 2 / stretch)) + 2
        )
        weights = stretch * cubic(stretch * (centre - ks))
        result[o] = np.sum(weights * padded[ks + n]) / np.sum(weights)
    return result


@pytest.mark.parametrize(
    ("size", "scale"), [(16, 0.5), (32, 0.25), (64, 0.125), (8, 2.0), (4, 4.0)]
)
def test_matrix_matches_reference_loop(size: int, scale: float) -> None:
    signal = np.random.default_rng(0).normal(size=size)
    np.testing.assert_allclose(
        resize_matrix(size, scale) @ signal, _reference_resize(signal, scale), atol=1e-12
    )


def test_rows_sum_to_one_and_constants_pass() -> None:
    for scale in (0.5, 0.25, 1 / 8, 1 / 16, 2.0, 8.0):
        matrix = resize_matrix(64 if scale < 1 else 8, scale)
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-12)
    phi = LowPass(32, 4)
    assert torch.allclose(phi(torch.full((1, 3, 32, 32), 0.3)), torch.tensor(0.3), atol=1e-6)


def test_interior_agrees_with_torch_antialiased_bicubic() -> None:
    x = torch.rand(2, 3, 64, 64, dtype=torch.float64)
    phi = LowPass(64, 4)
    low = phi.down(x.float()).double()
    reference = F.interpolate(x, size=(16, 16), mode="bicubic", antialias=True)
    assert (low - reference)[..., 2:-2, 2:-2].abs().max() < 1e-5
    assert (low - reference).abs().max() > 1e-3  # borders: reflection, not renormalisation
    up = torch.from_numpy(resize_matrix(16, 4.0))
    ours = up @ reference @ up.T
    theirs = F.interpolate(reference, size=(64, 64), mode="bicubic", antialias=True)
    assert (ours - theirs)[..., 8:-8, 8:-8].abs().max() < 1e-12


def test_low_pass_properties() -> None:
    phi = LowPass(64, 8)
    x = torch.randn(3, 3, 64, 64)
    assert torch.equal(LowPass(64, 1)(x), x)
    # Phi_N keeps low frequencies: a smooth image changes little, noise is mostly removed.
    grid = torch.linspace(0, 1, 64)
    smooth = torch.sin(2 * torch.pi * grid)[None, None, :, None] * torch.ones(1, 1, 1, 64)
    assert (phi(smooth) - smooth)[..., 16:-16, :].abs().max() < 0.02
    assert phi(x).std() < 0.2 * x.std()
    # Batch elements and channels are independent.
    assert torch.allclose(phi(x)[1:2], phi(x[1:2]), atol=1e-6)
    with pytest.raises(ValueError, match="divide"):
        LowPass(60, 8)
