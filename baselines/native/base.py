"""What the native network restorers share: checkpoint loading, strict key checks, resizing.

The networks take aligned 512x512 faces in [-1, 1]. A batch of another size is resized to 512
(bicubic, antialiased when a side shrinks), restored, clamped to [-1, 1] and resized back the same
way; the result is clamped to [0, 1].
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from bench.contracts import Restorer
from bench.weights import load_checkpoint, locate

if TYPE_CHECKING:
    import torch
    from torch import nn


class CheckpointMismatchError(ValueError):
    """A checkpoint does not hold the network's parameters; the message names the file and why."""


@dataclass(frozen=True)
class WeightsParams:
    """Parameters of a native restorer that has no others (``spar``, ``gfpgan``).

    Attributes:
        weights: Path of its official checkpoint (the file of its ``weights`` entry in the
            manifest); by default it is looked up in ``$DR2BENCH_HOME/weights``.
    """

    weights: Path | None = None


class NativeRestorer(Restorer):
    """A restorer running one native network from one official checkpoint.

    Subclasses set ``weights`` (the manifest entry), ``state_key`` (where the state_dict sits in
    the file, or ``None`` for a plain state_dict), implement ``build_network`` and, when the
    network takes more than the batch, ``network_inputs``. Their ``Params`` has a ``weights``
    field: an explicit checkpoint path.
    """

    native_size: ClassVar[int | None] = 512
    state_key: ClassVar[str | None] = None

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.network: nn.Module | None = None
        self.device = "cpu"

    @abstractmethod
    def build_network(self) -> nn.Module:
        """The network with freshly initialised parameters."""

    def network_inputs(self, seeds: Sequence[int]) -> tuple[Any, ...]:
        """What the network takes after the batch: nothing by default.

        The network restores ``N x 3 x 512 x 512`` faces in [-1, 1] on ``self.device`` (about
        [-1, 1] out).
        """
        return ()

    def load(self, device: str = "cpu") -> None:
        """Find the checkpoint, load it strictly into the network and move it to ``device``.

        Raises:
            bench.weights.MissingWeightsError: the checkpoint is not there.
            bench.weights.UnsafeCheckpointError: the file would run code to load.
            CheckpointMismatchError: the file does not hold this network's parameters.
        """
        path = locate(self.weights[0], explicit=self.params.weights)
        state = state_dict_in(load_checkpoint(path), self.state_key, path)
        network = self.build_network()
        load_strictly(network, state, path)
        self.network = network.eval().requires_grad_(False).to(device)
        self.device = device

    def restore(self, images: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        """Restore ``N x 3 x H x W`` images in [0, 1], resized to the network's size and back."""
        import torch

        if self.network is None:
            raise RuntimeError(f"{self.name}: call load() before restore()")
        size = tuple(images.shape[-2:])
        with torch.inference_mode():
            batch = resize(images.to(self.device), (512, 512)).clamp(0, 1) * 2 - 1
            restored = (self.network(batch, *self.network_inputs(seeds)).clamp(-1, 1) + 1) / 2
            restored = resize(restored, size).clamp(0, 1)
        return restored.to(images.device)


def resize(images: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """Bicubic resize of an ``N x C x H x W`` batch, antialiased when a side shrinks."""
    from torch.nn import functional as F

    if tuple(images.shape[-2:]) == size:
        return images
    shrinking = images.shape[-2] > size[0] or images.shape[-1] > size[1]
    return F.interpolate(
        images, size=size, mode="bicubic", align_corners=False, antialias=shrinking
    )


def state_dict_in(checkpoint: Any, key: str | None, path: Path) -> Mapping[str, Any]:
    """The state_dict inside a loaded checkpoint: the file itself, or its entry ``key``."""
    if not isinstance(checkpoint, Mapping):
        raise CheckpointMismatchError(
            f"{path}: expected a dict of tensors, found {type(checkpoint).__name__}"
        )
    if key is None:
        return checkpoint
    if key not in checkpoint:
        found = ", ".join(sorted(map(str, checkpoint))[:5])
        raise CheckpointMismatchError(
            f"{path}: expected the state_dict under '{key}' (as in the official release); "
            f"the file's top-level keys are: {found or 'none'}"
        )
    return state_dict_in(checkpoint[key], None, path)


def load_strictly(network: nn.Module, state: Mapping[str, Any], path: Path) -> None:
    """Load ``state`` into ``network`` with every name and shape matching exactly.

    Raises:
        CheckpointMismatchError: names are missing or unexpected, or shapes differ; the message
            counts each kind and gives examples.
    """
    expected = {name: tuple(value.shape) for name, value in network.state_dict().items()}
    given = {name: tuple(getattr(value, "shape", ())) for name, value in state.items()}
    missing = sorted(expected.keys() - given.keys())
    unexpected = sorted(given.keys() - expected.keys())
    reshaped = [
        f"{name} is {given[name]} in the file, {expected[name]} in the network"
        for name in sorted(expected.keys() & given.keys())
        if given[name] != expected[name]
    ]
    problems = [
        f"{len(items)} {kind} (e.g. {'; '.join(items[:3])})"
        for kind, items in (
            ("missing parameters", missing),
            ("unexpected parameters", unexpected),
            ("wrong shapes", reshaped),
        )
        if items
    ]
    if problems:
        raise CheckpointMismatchError(
            f"{path} does not hold the parameters of {type(network).__name__}: "
            + ", ".join(problems)
        )
    network.load_state_dict(state, strict=True)
