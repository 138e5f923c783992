"""Helpers shared by the metrics: 8-bit quantisation, pair checks and the per-process network cache.

Every metric scores what a saved 8-bit PNG would hold: float inputs are quantised with
:func:`bench.images.to_uint8` (clip, scale by 255, round half to even) before anything else, so an
image decoded from an 8-bit file is scored exactly as the published evaluation scripts score it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator
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


@contextlib.contextmanager
def ieee_float32(device: str) -> Iterator[None]:
    """Run CUDA convolutions and matrix products in full float32 (no TF32) inside the block.

    PyTorch lets cuDNN convolutions use TF32 on Ampere and later GPUs by default, which moves
    embeddings and landmarks (about 1e-3); the published numbers come from full float32. The
    previous precision settings are restored afterwards. Nothing changes on the CPU.
    """
    if not str(device).startswith("cuda"):
        yield
        return
    import torch

    # torch's annotations of the cudnn module (replaced in sys.modules) leave out ``conv``
    settings = (torch.backends.cudnn.conv, torch.backends.cuda.matmul)  # type: ignore[attr-defined]
    saved = [setting.fp32_precision for setting in settings]
    try:
        for setting in settings:
            setting.fp32_precision = "ieee"
        yield
    finally:
        for setting, value in zip(settings, saved, strict=True):
            setting.fp32_precision = value
