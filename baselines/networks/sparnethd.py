"""SPARNetHD with 2D spatial attention: the enhancement network of DR2.

SPARNet (Chen et al., "Learning Spatial Attention for Face Super-Resolution", TIP 2020) is a
residual encoder-decoder whose every residual block gates its residual branch with a spatial
attention map predicted by a small hourglass. SPARNetHD is its 512x512 version, trained as a GAN
with spectral normalisation on every convolution. DR2 retrains it on its own augmented
degradations (``SPARNetHD_FFHQ_DR2aug.pth``).

Configuration of that checkpoint: min_ch 32, max_ch 512, size 512, min_feat_size 32,
res_depth 10, bottleneck size 4, instance norm (affine), LeakyReLU(0.2), reflection padding:

- encoder: 3x3 conv 3 -> 102, then four down-sampling residual blocks 102 -> 204 -> 408 -> 512
  -> 512 whose hourglasses have depths 4, 3, 2, 1;
- body: nine residual blocks at 512 channels and 32x32 (hourglass depth 1);
- decoder: four up-sampling residual blocks 512 -> 512 -> 408 -> 204 -> 102 (depths 2 to 5);
- ``out_conv``: 3x3 conv 102 -> 3. The output is not squashed; it is meant to lie in [-1, 1].

Spectral norm is :func:`torch.nn.utils.spectral_norm`, which stores ``weight_orig``,
``weight_u`` and ``weight_v``; in eval mode the stored ``u`` and ``v`` are used as they are
(no power iteration), as in the official inference.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

Scale = Literal["none", "down", "up"]

LEAKY_SLOPE = 0.2
HOURGLASS_CHANNELS = 64


class NormLayer(nn.Module):
    """Affine instance normalisation, held as ``.norm`` as in the checkpoint."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


class ConvLayer(nn.Module):
    """Optional 2x nearest up-sampling, reflection pad, spectral-normed 3x3 conv, norm, activation.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        scale: ``down`` uses stride 2; ``up`` up-samples (nearest) before the convolution.
        normalized: Instance norm after the convolution (the convolution then has no bias).
        activated: LeakyReLU(0.2) at the end.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        scale: Scale = "none",
        normalized: bool = False,
        activated: bool = False,
    ) -> None:
        super().__init__()
        self.scale = scale
        stride = 2 if scale == "down" else 1
        conv = nn.Conv2d(in_channels, out_channels, 3, stride, bias=not normalized)
        self.conv2d = nn.utils.spectral_norm(conv)
        self.norm = NormLayer(out_channels) if normalized else nn.Identity()
        self.activation = nn.LeakyReLU(LEAKY_SLOPE) if activated else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == "up":
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"))
        return self.activation(self.norm(x))


def _feature_layer(in_channels: int, out_channels: int, scale: Scale = "none") -> ConvLayer:
    return ConvLayer(in_channels, out_channels, scale, normalized=True, activated=True)


class HourGlassBlock(nn.Module):
    """Spatial attention: a recursive hourglass predicts a one-channel sigmoid map gating ``x``.

    Level ``k`` has an upper branch ``b1_k`` at full resolution and a lower branch ``b2_k``
    (stride 2) that recurses into level ``k - 1`` (or ``b2_plus_1`` at the bottom) and comes back
    up through ``b3_k`` (nearest 2x); the two branches are summed.

    Args:
        depth: Number of levels (at least 1).
        in_channels: Channels of the gated features.
    """

    b2_plus_1: nn.Module  # added by name in __init__, as the levels' branches are

    def __init__(self, depth: int, in_channels: int) -> None:
        super().__init__()
        self.depth = depth
        mid = HOURGLASS_CHANNELS
        for level in range(depth, 0, -1):
            level_in = in_channels if level == depth else mid
            self.add_module(f"b1_{level}", _feature_layer(level_in, mid))
            self.add_module(f"b2_{level}", _feature_layer(level_in, mid, "down"))
        self.add_module("b2_plus_1", _feature_layer(mid, mid))
        for level in range(1, depth + 1):
            self.add_module(f"b3_{level}", _feature_layer(mid, mid, "up"))
        self.out_block = nn.Sequential(ConvLayer(mid, 1), nn.Sigmoid())

    def _level(self, level: int, x: torch.Tensor) -> torch.Tensor:
        upper = self.get_submodule(f"b1_{level}")(x)
        lower = self.get_submodule(f"b2_{level}")(x)
        lower = self._level(level - 1, lower) if level > 1 else self.b2_plus_1(lower)
        lower = self.get_submodule(f"b3_{level}")(lower)
        if lower.shape[2:] != upper.shape[2:]:  # odd sizes: stride 2 then 2x lost a pixel
            lower = F.interpolate(lower, size=upper.shape[2:], mode="nearest")
        return upper + lower

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.out_block(self._level(self.depth, x))


class ResidualBlock(nn.Module):
    """Pre-activation residual block whose residual branch is gated by an hourglass attention map.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        scale: ``down`` halves the size (second convolution), ``up`` doubles it (first one).
        hourglass_depth: Depth of the attention hourglass.
    """

    def __init__(
        self, in_channels: int, out_channels: int, scale: Scale, hourglass_depth: int
    ) -> None:
        super().__init__()
        if scale == "none" and in_channels == out_channels:
            self.shortcut_func: nn.Module = nn.Identity()
        else:
            self.shortcut_func = ConvLayer(in_channels, out_channels, scale)
        self.preact_func = nn.Sequential(NormLayer(in_channels), nn.LeakyReLU(LEAKY_SLOPE))
        self.conv1 = _feature_layer(in_channels, out_channels, "up" if scale == "up" else "none")
        self.conv2 = ConvLayer(
            out_channels, out_channels, "down" if scale == "down" else "none", normalized=True
        )
        self.att_func = HourGlassBlock(hourglass_depth, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.conv2(self.conv1(self.preact_func(x)))
        return self.shortcut_func(x) + self.att_func(residual)


class SPARNetHD(nn.Module):
    """SPARNetHD with 2D attention; defaults are the configuration of DR2's checkpoint.

    Args:
        min_channels: Smallest channel count.
        max_channels: Largest channel count.
        size: Input and output size.
        min_feat_size: Size of the body's feature maps.
        res_depth: Body depth parameter (the body has ``res_depth + 3 - down_steps`` blocks).
        bottleneck_size: Sets the depth of the first hourglass, ``log2(64 / bottleneck_size)``.

    Example:
        >>> net = SPARNetHD().eval()  # doctest: +SKIP
        >>> out = net(torch.zeros(1, 3, 512, 512))  # [-1, 1] in, about [-1, 1] out
    """

    def __init__(
        self,
        min_channels: int = 32,
        max_channels: int = 512,
        size: int = 512,
        min_feat_size: int = 32,
        res_depth: int = 10,
        bottleneck_size: int = 4,
    ) -> None:
        super().__init__()

        def clip(channels: int) -> int:
            return max(min_channels, min(channels, max_channels))

        steps = int(math.log2(size // min_feat_size))
        channels = clip(max_channels // (steps + 1))
        depth = int(math.log2(64 // bottleneck_size))
        encoder: list[nn.Module] = [ConvLayer(3, channels)]
        for _ in range(steps):
            encoder.append(ResidualBlock(clip(channels), clip(channels * 2), "down", depth))
            channels, depth = channels * 2, depth - 1
        depth += 1
        self.encoder = nn.Sequential(*encoder)
        body = [
            ResidualBlock(clip(channels), clip(channels), "none", depth)
            for _ in range(res_depth + 3 - steps)
        ]
        self.res_layers = nn.Sequential(*body)
        decoder = []
        for _ in range(steps):
            depth += 1
            decoder.append(ResidualBlock(clip(channels), clip(channels // 2), "up", depth))
            channels //= 2
        self.decoder = nn.Sequential(*decoder)
        self.out_conv = ConvLayer(clip(channels), 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Enhance ``N x 3 x H x W`` images in [-1, 1] (H, W multiples of 16; 512 when trained)."""
        return self.out_conv(self.decoder(self.res_layers(self.encoder(x))))
