"""The ArcFace ResNet-18 of VQFR's "Deg." (``resnet_face18``), its weights and a strict loader.

The network is ronghuaiyang/arcface-pytorch's ``resnet_face18(use_se=False)``, which VQFR's
``metric_paper/calculate_cos_dist.py`` runs and GFPGAN ships as ``ResNetArcFace(block='IRBlock',
layers=(2, 2, 2, 2), use_se=False)``: a grey ``1 x 128 x 128`` image in, a 512-d embedding out.
Our implementation is written from the architecture; its ``state_dict`` has exactly the names and
shapes of ``/work/shared/specs/arcface_resnet18_vqfr.keys.json`` (without the ``module.`` prefix).

Two files hold the same tensors (both in ``bench/weights.yaml``):

- ``resnet18_110.pth``, VQFR's metric weights, saved from ``DataParallel``: every key starts with
  ``module.``;
- ``arcface_resnet18.pth``, GFPGAN's release asset: the same keys without the prefix.

:func:`metrics.identity_vqfr.locate_weights` finds them. Either loads with ``strict=True``
through :func:`bench.weights.load_checkpoint` (no code runs); anything else is refused with
:class:`ArcfaceCheckpointError` naming the file and the first key that is missing, unexpected or
of the wrong shape. This module imports torch; the metrics import it only when they load.
Tests: ``tests/metrics/test_identity_vqfr.py`` (against GFPGAN's class).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bench.weights import load_checkpoint
from metrics.common import check_state

DATA_PARALLEL_PREFIX = "module."
INPUT_SIZE = 128
EMBEDDING_SIZE = 512
STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))  # (channels, stride of the first block)
BLOCKS_PER_STAGE = 2


class ArcfaceCheckpointError(ValueError):
    """A checkpoint does not hold the ArcFace ResNet-18 tensors; the message names file and key."""


def conv3x3(inputs: int, outputs: int, stride: int = 1) -> nn.Conv2d:
    """A 3x3 convolution without bias, padded to keep the size (at stride 1)."""
    return nn.Conv2d(inputs, outputs, kernel_size=3, stride=stride, padding=1, bias=False)


class IRBlock(nn.Module):
    """The improved residual block: BN, conv, BN, PReLU, conv (maybe strided), BN, + shortcut.

    One PReLU (a single slope) serves both activations, as in the original. The shortcut is a
    strided 1x1 convolution with BN where the shape changes.
    """

    def __init__(self, inputs: int, outputs: int, stride: int = 1) -> None:
        super().__init__()
        self.bn0 = nn.BatchNorm2d(inputs)
        self.conv1 = conv3x3(inputs, inputs)
        self.bn1 = nn.BatchNorm2d(inputs)
        self.prelu = nn.PReLU()
        self.conv2 = conv3x3(inputs, outputs, stride)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.downsample: nn.Module | None = None
        if stride != 1 or inputs != outputs:
            self.downsample = nn.Sequential(
                nn.Conv2d(inputs, outputs, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(outputs),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.prelu(self.bn1(self.conv1(self.bn0(x))))
        residual = self.bn2(self.conv2(residual))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.prelu(residual + shortcut)


class ArcfaceResNet18(nn.Module):
    """``resnet_face18(use_se=False)``: ``N x 1 x 128 x 128`` in ``[-1, 1]`` -> ``N x 512``.

    Dropout before ``fc5`` is left out: it has no parameters and is the identity in eval mode,
    the only mode the metric uses.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.prelu = nn.PReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=2, stride=2)
        inputs = 64
        for index, (channels, stride) in enumerate(STAGES, start=1):
            blocks = [IRBlock(inputs, channels, stride)]
            blocks += [IRBlock(channels, channels) for _ in range(BLOCKS_PER_STAGE - 1)]
            self.add_module(f"layer{index}", nn.Sequential(*blocks))
            inputs = channels
        side = INPUT_SIZE // 2 // 2 ** (len(STAGES) - 1)  # 128 -> maxpool 64 -> 32, 16, 8
        self.bn4 = nn.BatchNorm2d(inputs)
        self.fc5 = nn.Linear(inputs * side * side, EMBEDDING_SIZE)
        self.bn5 = nn.BatchNorm1d(EMBEDDING_SIZE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.prelu(self.bn1(self.conv1(x))))
        for index in range(1, len(STAGES) + 1):
            x = getattr(self, f"layer{index}")(x)
        return self.bn5(self.fc5(self.bn4(x).flatten(1)))


def state_dict_of(checkpoint: Any, path: Path) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors with a ``DataParallel`` ``module.`` prefix removed.

    The prefix is removed only when every key has it, so a file mixing both is refused by the
    strict load with the first odd key named.
    """
    if not isinstance(checkpoint, Mapping) or not checkpoint:
        kind = "an empty dict" if isinstance(checkpoint, Mapping) else type(checkpoint).__name__
        raise ArcfaceCheckpointError(
            f"{path}: expected a plain state_dict of the ArcFace ResNet-18, found {kind}"
        )
    keys = [str(key) for key in checkpoint]
    if all(key.startswith(DATA_PARALLEL_PREFIX) for key in keys):
        return {key[len(DATA_PARALLEL_PREFIX) :]: checkpoint[key] for key in keys}
    return {str(key): value for key, value in checkpoint.items()}


def load_network(path: str | Path, device: str = "cpu") -> ArcfaceResNet18:
    """The network with the tensors of ``path``, in eval mode, on ``device``.

    Raises:
        bench.weights.UnsafeCheckpointError: the file is a pickle that would run code.
        ArcfaceCheckpointError: the file does not hold exactly this network's tensors.

    Example:
        >>> network = load_network(locate_weights(), "cpu")  # doctest: +SKIP
    """
    path = Path(path)
    state = state_dict_of(load_checkpoint(path), path)
    network = ArcfaceResNet18()
    what = "the ArcFace ResNet-18 (resnet_face18, use_se=False) of resnet18_110.pth"
    check_state(network, state, path, what, ArcfaceCheckpointError)
    network.load_state_dict(state, strict=True)
    return network.eval().requires_grad_(False).to(device)
