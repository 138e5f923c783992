"""Fixtures of the metric tests: reference implementations and small deterministic images."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def pattern(size: int = 512, shift: int = 0) -> np.ndarray:
    """A deterministic uint8 RGB test image (integer arithmetic: the same on every platform)."""
    y, x = np.mgrid[0:size, 0:size]
    channels = [(x * 3 + y * 5 + c * 70 + (x * y) % 97 + shift) % 256 for c in range(3)]
    return np.stack(channels, axis=-1).astype(np.uint8)


def batch(*images: np.ndarray):
    """uint8 ``H x W x 3`` images as an ``N x 3 x H x W`` float tensor in [0, 1]."""
    from bench.images import to_tensor

    return to_tensor(list(images))


@pytest.fixture(scope="session")
def basicsr():
    """basicsr 1.4.2, the reference for PSNR/SSIM/NIQE conventions (test-only dependency).

    basicsr imports ``torchvision.transforms.functional_tensor``, which torchvision removed; the
    one function it uses is provided from its new place before the import.
    """
    import importlib.util

    import torchvision.transforms.functional as functional

    if importlib.util.find_spec("basicsr") is None:
        pytest.skip("basicsr (the test reference for PSNR/SSIM/NIQE) is not installed")

    name = "torchvision.transforms.functional_tensor"
    if name not in sys.modules:
        shim = types.ModuleType(name)
        shim.rgb_to_grayscale = functional.rgb_to_grayscale
        sys.modules[name] = shim
    import basicsr.metrics.niqe as niqe
    import basicsr.metrics.psnr_ssim as psnr_ssim
    import basicsr.utils.matlab_functions as matlab

    return types.SimpleNamespace(niqe=niqe, psnr_ssim=psnr_ssim, matlab=matlab)


@pytest.fixture
def noisy_pair(rng):
    """Two related uint8 images (a pattern and a noisy copy)."""
    clean = pattern(96)
    noise = rng.integers(-25, 26, clean.shape)
    return clean, np.clip(clean.astype(int) + noise, 0, 255).astype(np.uint8)
