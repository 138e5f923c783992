"""Helpers shared by the metrics: 8-bit quantisation, pair checks, per-image results, the
per-process network cache, weights records, strict checkpoint checks, full-float32 inference,
placeholder modules and the base of the paired metrics computed by a network.

Every metric scores what a saved 8-bit PNG would hold: float inputs are quantised with
:func:`bench.images.to_uint8` (clip, scale by 255, round half to even) before anything else, so an
image decoded from an 8-bit file is scored exactly as the published evaluation scripts score it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from bench.contracts import PairedMetric, Scores
from bench.images import to_uint8

if TYPE_CHECKING:
    import torch

T = TypeVar("T")

_NETWORKS: dict[Hashable, Any] = {}


def cached_network(key: Hashable, build: Callable[[], T]) -> T:
    """The network for ``key`` (e.g. ``(weights path, device)``), built once per process."""
    if key not in _NETWORKS:
        _NETWORKS[key] = build()
    return _NETWORKS[key]


def weights_record(locate: Callable[[], Path]) -> dict[str, str | None]:
    """``weights_file`` and ``weights_sha256`` of the file ``locate`` finds; ``None`` if missing."""
    from bench.files import cached_sha256
    from bench.weights import MissingWeightsError

    try:
        path = locate()
    except MissingWeightsError:
        return {"weights_file": None, "weights_sha256": None}
    return {"weights_file": path.name, "weights_sha256": cached_sha256(path)}


def quantize(images: torch.Tensor) -> np.ndarray:
    """``N x 3 x H x W`` floats in [0, 1] as ``N x H x W x 3`` uint8 (round half to even)."""
    array = images.detach().float().cpu().numpy().transpose(0, 2, 3, 1)
    return np.ascontiguousarray(to_uint8(array))


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


def merge(results: Iterable[tuple[float, str | None]]) -> Scores:
    """Per-image ``(value, error)`` pairs (error ``None`` where the value is valid) as Scores."""
    pairs = list(results)
    return Scores(np.asarray([v for v, _ in pairs], dtype=np.float64), tuple(e for _, e in pairs))


class NetworkPairedMetric(PairedMetric):
    """A paired metric computed by a network (``self.network``, built by ``load``) on [0, 1]
    batches quantised to 8 bits; lower is better. Subclasses implement ``load``."""

    higher_is_better = False

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.device = "cpu"
        self.network: Any = None

    def score(self, pred: torch.Tensor, ref: torch.Tensor) -> Scores:
        import torch

        problem = size_mismatch(pred, ref)
        if problem:
            return failed(len(pred), problem)
        if self.network is None:
            self.load(self.device)
        pred = quantize_tensor(pred.to(self.device))
        ref = quantize_tensor(ref.to(self.device))
        with torch.inference_mode():
            distances = self.distances(pred, ref)
        return Scores.ok(distances.reshape(-1).double().cpu().numpy())

    def distances(self, pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        """The network's value for each pair of quantised batches (LPIPS' call by default)."""
        return self.network(pred, ref, normalize=True)


def check_state(
    network: Any,
    state: Mapping[str, Any],
    path: Path,
    what: str,
    error: type[Exception],
    prefix: str = "",
) -> None:
    """Refuse ``state`` unless its names and shapes equal ``network``'s, naming the first problem.

    Args:
        what: The network, as the message names it (``the ArcFace ResNet-18 ...``).
        error: The exception raised.
        prefix: Put before every key named (where the file holds the keys under a prefix).

    Raises:
        error: a key is missing, unexpected, not a tensor or of another shape.
    """
    import torch

    expected = {name: tuple(value.shape) for name, value in network.state_dict().items()}
    missing = [name for name in expected if name not in state]
    if missing:
        raise error(
            f"{path}: not {what}: key '{prefix}{missing[0]}' is missing ({len(missing)} missing)"
        )
    unexpected = [name for name in state if name not in expected]
    if unexpected:
        raise error(
            f"{path}: not {what}: unexpected key '{prefix}{unexpected[0]}' "
            f"({len(unexpected)} unexpected)"
        )
    for name, shape in expected.items():
        value = state[name]
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
            found = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise error(
                f"{path}: not {what}: key '{prefix}{name}' has shape {found}, expected {shape}"
            )


def run_network(network: Any, batch: np.ndarray, device: str) -> np.ndarray:
    """``network``'s float32 outputs for a numpy batch, in inference mode and full float32."""
    import torch

    with torch.inference_mode(), ieee_float32(device):
        outputs = network(torch.from_numpy(batch).to(device))
    return outputs.float().cpu().numpy()


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


@contextlib.contextmanager
def placeholders(modules: dict[str, tuple[str, Any]]) -> Iterator[None]:
    """Inert modules inside the block, ``{name: (attribute, value)}``, for those not installed.

    A module that is imported or installed is left as it is; the placeholders go on exit.
    """
    added = []
    for name, (attribute, value) in modules.items():
        if name in sys.modules or importlib.util.find_spec(name) is not None:
            continue
        module = types.ModuleType(name)
        setattr(module, attribute, value)
        sys.modules[name] = module
        added.append(name)
    try:
        yield
    finally:
        for name in added:
            sys.modules.pop(name, None)
