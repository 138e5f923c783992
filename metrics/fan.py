"""facexlib's AWing FAN (98 WFLW landmarks), the network of VQFR's LMD (``lmd.fan``).

VQFR's ``metric_paper/calculate_landmark_distance.py`` finds landmarks with facexlib's AWing FAN,
``FAN(num_modules=4, num_landmarks=98)`` with the weights ``alignment_WFLW_4HG.pth``. This is our
own implementation of that network, written to give the same numbers: :class:`AwingFan` has
exactly the tensor names and shapes of the official file (the key spec
``shared/specs/fan_awing_wflw98.keys.json``), so :func:`load_fan` loads it with ``strict=True``
and refuses any other file in one line. ``get_landmarks`` (input, decoding) is in
:mod:`metrics.fan_landmarks`; ``tests/metrics/test_landmarks_fan.py`` compares both with
facexlib's own code.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from bench.contracts import Unavailable
from bench.weights import load_checkpoint, locate

WEIGHTS = "fan_awing_wflw98"  # the manifest entry of alignment_WFLW_4HG.pth
INPUT_SIZE = 256  # get_landmarks resizes every image to 256x256
HEATMAP_SIZE = 64
LANDMARKS = 98
STACKS = 4
HOURGLASS_DEPTH = 4


class FanCheckpointError(Unavailable, ValueError):
    """A file is not the AWing FAN checkpoint; the one-line message names the file and the key."""


def coordinate_channels(batch: int, size: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """facexlib's ``AddCoordsTh`` channels ``xx``, ``yy`` and ``rr``, each ``N x 1 x S x S``.

    ``xx`` varies down the rows and ``yy`` along the columns (facexlib's naming), both
    ``index / (size - 1) * 2 - 1``; ``rr`` is their radius divided by its maximum.
    """
    ramp = torch.arange(size, dtype=torch.float32, device=device) / (size - 1) * 2 - 1
    xx = ramp.view(1, 1, size, 1).expand(batch, 1, size, size)
    yy = ramp.view(1, 1, 1, size).expand(batch, 1, size, size)
    rr = torch.sqrt(torch.pow(xx, 2) + torch.pow(yy, 2))
    return xx, yy, rr / torch.max(rr)


class CoordConv(nn.Module):
    """A convolution over the input plus coordinate channels (and boundary channels, if given).

    The boundary channels are ``xx`` and ``yy`` where the previous stack's last heatmap (the
    boundary map), clamped to [0, 1], exceeds 0.05, and zero elsewhere.
    """

    def __init__(self, size: int, in_channels: int, boundary: bool, **conv: Any) -> None:
        super().__init__()
        self.size = size
        self.conv = nn.Conv2d(in_channels + 3 + (2 if boundary else 0), **conv)

    def forward(self, x: torch.Tensor, heatmaps: torch.Tensor | None = None) -> torch.Tensor:
        xx, yy, rr = coordinate_channels(x.shape[0], self.size, x.device)
        channels = [x, xx, yy, rr]
        if heatmaps is not None:
            inside = torch.clamp(heatmaps[:, -1:], 0.0, 1.0) > 0.05
            channels += [torch.where(inside, xx, 0.0), torch.where(inside, yy, 0.0)]
        return self.conv(torch.cat(channels, dim=1))


def conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)


class ConvBlock(nn.Module):
    """Pre-activation block: three 3x3 convolutions (out/2, out/4, out/4 channels), concatenated,
    plus the input (through BN, ReLU and a 1x1 convolution when the channel count changes)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        half, quarter = out_channels // 2, out_channels // 4
        self.bn1, self.conv1 = nn.BatchNorm2d(in_channels), conv3x3(in_channels, half)
        self.bn2, self.conv2 = nn.BatchNorm2d(half), conv3x3(half, quarter)
        self.bn3, self.conv3 = nn.BatchNorm2d(quarter), conv3x3(quarter, quarter)
        self.downsample = None
        if in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.BatchNorm2d(in_channels),
                nn.ReLU(True),
                nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = self.conv1(F.relu(self.bn1(x)))
        second = self.conv2(F.relu(self.bn2(first)))
        third = self.conv3(F.relu(self.bn3(second)))
        out = torch.cat((first, second, third), dim=1)
        return out + (x if self.downsample is None else self.downsample(x))


class HourGlass(nn.Module):
    """A 256-channel hourglass of depth 4 after a 1x1 CoordConv (with boundary channels except
    in the first stack). Blocks are named as in facexlib: ``b1_<level>`` (skip branch),
    ``b2_<level>`` (after average pooling), ``b2_plus_1`` (the bottom), ``b3_<level>`` (before
    nearest-neighbour upsampling)."""

    def __init__(self, first: bool) -> None:
        super().__init__()
        self.coordconv = CoordConv(
            HEATMAP_SIZE, 256, boundary=not first, out_channels=256, kernel_size=1
        )
        for level in range(HOURGLASS_DEPTH, 0, -1):
            self.add_module(f"b1_{level}", ConvBlock(256, 256))
            self.add_module(f"b2_{level}", ConvBlock(256, 256))
        self.add_module("b2_plus_1", ConvBlock(256, 256))
        for level in range(1, HOURGLASS_DEPTH + 1):
            self.add_module(f"b3_{level}", ConvBlock(256, 256))

    def forward(self, x: torch.Tensor, heatmaps: torch.Tensor | None) -> torch.Tensor:
        return self._level(HOURGLASS_DEPTH, self.coordconv(x, heatmaps))

    def _level(self, level: int, x: torch.Tensor) -> torch.Tensor:
        skip = self.get_submodule(f"b1_{level}")(x)
        low = self.get_submodule(f"b2_{level}")(F.avg_pool2d(x, 2, stride=2))
        bottom = self.get_submodule("b2_plus_1")
        low = self._level(level - 1, low) if level > 1 else bottom(low)
        low = self.get_submodule(f"b3_{level}")(low)
        return skip + F.interpolate(low, scale_factor=2, mode="nearest")


class AwingFan(nn.Module):
    """facexlib's ``FAN(num_modules=4, num_landmarks=98)``: 4 stacked hourglasses, each
    predicting 98 landmark heatmaps plus one boundary heatmap at 64x64 from a 256x256 RGB input
    in [0, 1]. ``forward`` returns the last stack's 99 maps (facexlib returns every stack's)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = CoordConv(
            INPUT_SIZE, 3, boundary=False, out_channels=64, kernel_size=7, stride=2, padding=3
        )
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = ConvBlock(64, 128)
        self.conv3 = ConvBlock(128, 128)
        self.conv4 = ConvBlock(128, 256)
        for stack in range(STACKS):
            self.add_module(f"m{stack}", HourGlass(first=stack == 0))
            self.add_module(f"top_m_{stack}", ConvBlock(256, 256))
            self.add_module(f"conv_last{stack}", nn.Conv2d(256, 256, kernel_size=1))
            self.add_module(f"bn_end{stack}", nn.BatchNorm2d(256))
            self.add_module(f"l{stack}", nn.Conv2d(256, LANDMARKS + 1, kernel_size=1))
            if stack < STACKS - 1:
                self.add_module(f"bl{stack}", nn.Conv2d(256, 256, kernel_size=1))
                self.add_module(f"al{stack}", nn.Conv2d(LANDMARKS + 1, 256, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.conv4(self.conv3(F.avg_pool2d(self.conv2(x), 2, stride=2)))
        heatmaps = None
        for stack in range(STACKS):
            part = self.get_submodule
            features = part(f"top_m_{stack}")(part(f"m{stack}")(x, heatmaps))
            features = F.relu(part(f"bn_end{stack}")(part(f"conv_last{stack}")(features)))
            heatmaps = part(f"l{stack}")(features)
            if stack < STACKS - 1:  # (x + features) + maps: facexlib's order of the sums
                x = x + part(f"bl{stack}")(features) + part(f"al{stack}")(heatmaps)
        assert heatmaps is not None
        return heatmaps


def load_fan(weights: str | Path | None, device: str = "cpu") -> AwingFan:
    """The AWing FAN with the official weights, in eval mode on ``device``.

    Args:
        weights: An explicit path of ``alignment_WFLW_4HG.pth``; ``None`` searches
            ``$DR2BENCH_HOME/weights`` (see :func:`bench.weights.locate`).
        device: Where the network runs (``cpu``, ``cuda``, ``cuda:1``, ...).

    Raises:
        bench.weights.MissingWeightsError: the file is not there (the message says where to
            get it and where to put it).
        FanCheckpointError: the file is not a dict whose ``state_dict`` holds exactly the
            network's tensors.

    Example:
        >>> network = load_fan(None, "cuda")  # doctest: +SKIP
    """
    path = locate(WEIGHTS, weights)
    checkpoint = load_checkpoint(path)
    if not isinstance(checkpoint, Mapping) or not isinstance(checkpoint.get("state_dict"), Mapping):
        found = type(checkpoint).__name__
        if isinstance(checkpoint, Mapping):
            found = "a dict with keys " + ", ".join(map(repr, list(checkpoint)[:5]))
        raise FanCheckpointError(
            f"{path}: not the AWing FAN checkpoint: expected a dict with a 'state_dict' entry "
            f"(as in facexlib's alignment_WFLW_4HG.pth), found {found}"
        )
    network = AwingFan()
    check_state_dict(network, checkpoint["state_dict"], path)
    network.load_state_dict(checkpoint["state_dict"], strict=True)
    return network.eval().requires_grad_(False).to(device)


def check_state_dict(network: nn.Module, state: Mapping[str, Any], path: Path) -> None:
    """Refuse ``state`` unless its names and shapes are exactly the network's.

    Raises:
        FanCheckpointError: one line naming the file, and the first missing, unexpected and
            wrongly shaped tensor names with their counts.
    """
    expected = {name: tuple(value.shape) for name, value in network.state_dict().items()}
    given = {name: tuple(getattr(value, "shape", (None,))) for name, value in state.items()}
    kinds = {
        "missing key": [f"'{name}'" for name in expected if name not in given],
        "unexpected key": [f"'{name}'" for name in given if name not in expected],
        "wrongly shaped key": [
            f"'{name}' is {list(given[name])}, expected {list(shape)}"
            for name, shape in expected.items()
            if name in given and given[name] != shape
        ],
    }
    problems = [
        f"{len(items)} {kind}{'s' if len(items) > 1 else ''} (first {items[0]})"
        for kind, items in kinds.items()
        if items
    ]
    if problems:
        raise FanCheckpointError(
            f"{path}: not the AWing FAN checkpoint (FAN(num_modules=4, num_landmarks=98)): "
            + ", ".join(problems)
        )
