"""Helpers shared by the metrics: 8-bit quantisation, pair checks and the per-process network cache.

Every metric scores what a saved 8-bit PNG would hold: float inputs are quantised with
:func:`bench.images.to_uint8` (clip, scale by 255, round half to even) before anything else, so an
image decoded from an 8-bit file is scored exactly as the published evaluation scripts score it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from bench.contracts import Scores

if TYPE_CHECKING:
    import torch

T = TypeVar("T")

_NETWORKS: dict[Hashable, Any] = {}


def cached_network(key: Hashable, build: Callable[[], T]) -> T:
    """The network for ``key`` (e.g. ``(weights path, device)``), built once per process."""
    if key not in _NETWORKS:
        _NETWORKS[key] = build()
    return _NETWORKS[key]


def quantize(images: torch.Tensor) -> np.ndarray:
    """``N x 3 x H x W`` floats in [0, 1] as ``N x H x W x 3`` uint8 (round half to even)."""
    array = images.detach().float().cpu().numpy().transpose(0, 2, 3, 1)
    return np.ascontiguousarray(np.rint(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8))


def quantize_tensor(images: torch.Tensor) -> torch.Tensor:
    """The same quantisation as :func:`quantize`, kept as a float tensor in [0, 1] on its device."""
    import torch

    return torch.round(images.float().clamp(0.0, 1.0) * 255.0) / 255.0


def size_mismatch(pred: Any, ref: Any) -> str | None:
    """Why two ``N x 3 x H x W`` batches cannot be compared pixel by pixel, or ``None``."""
    if tuple(pred.shape) == tuple(ref.shape):
        return None
    return (
        f"output is {pred.shape[-1]}x{pred.shape[-2]} but the reference is "
        f"{ref.shape[-1]}x{ref.shape[-2]} (batch shapes {tuple(pred.shape)} and {tuple(ref.shape)})"
    )


def failed(count: int, reason: str) -> Scores:
    """``count`` NaN scores, all with the same reason."""
    return Scores(np.full(count, np.nan), (reason,) * count)


def merge(values: list[float], errors: list[str | None]) -> Scores:
    """Per-image values and errors (``None`` where the value is valid) as :class:`Scores`."""
    return Scores(np.asarray(values, dtype=np.float64), tuple(errors))
