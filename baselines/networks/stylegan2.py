"""The "clean" StyleGAN2 generator (no custom CUDA ops) with SFT conditions, GFPGAN's decoder.

StyleGAN2 (Karras et al., CVPR 2020) synthesises an image from a 4x4 learned constant through
pairs of modulated 3x3 convolutions per resolution (the first up-samples 2x), with per-layer noise
and skip ``ToRGB`` outputs summed across resolutions. The clean variant up-samples with bilinear
interpolation instead of the blurred transposed convolution. GFPGAN (Wang et al., CVPR 2021) adds
Spatial Feature Transform (SFT): after the first convolution of each resolution, half of the
channels are multiplied by a predicted scale map and shifted by a predicted shift map.

Parameter names follow GFPGAN's checkpoints: ``style_mlp``, ``constant_input``, ``style_conv1``,
``to_rgb1``, ``style_convs``, ``to_rgbs`` and the stored noise buffers ``noises.noise{i}``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

LEAKY_SLOPE = 0.2
DEMODULATION_EPS = 1e-8


def stylegan_channels(channel_multiplier: int, narrow: float = 1.0) -> dict[int, int]:
    """Feature channels per resolution of StyleGAN2 (``narrow`` scales them all)."""
    wide = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}
    return {
        size: int(base * (channel_multiplier if size >= 64 else 1) * narrow)
        for size, base in wide.items()
    }


class NormStyleCode(nn.Module):
    """Scale each style code to unit root-mean-square."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(torch.mean(x**2, dim=1, keepdim=True) + 1e-8)


class ModulatedConv2d(nn.Module):
    """Convolution whose input channels are scaled per sample by an affine map of the style.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size (padding keeps the size).
        num_style_feat: Length of the style vector.
        demodulate: Normalise each output filter to unit norm after modulation.
        upsample: Bilinear 2x up-sampling before the convolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        num_style_feat: int,
        demodulate: bool = True,
        upsample: bool = False,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.demodulate = demodulate
        self.upsample = upsample
        self.padding = kernel_size // 2
        self.modulation = nn.Linear(num_style_feat, in_channels)
        shape = (1, out_channels, in_channels, kernel_size, kernel_size)
        self.weight = nn.Parameter(torch.randn(shape) / math.sqrt(in_channels * kernel_size**2))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        batch, channels = x.shape[:2]
        weight = self.weight * self.modulation(style).view(batch, 1, channels, 1, 1)
        if self.demodulate:
            norms = torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + DEMODULATION_EPS)
            weight = weight * norms.view(batch, self.out_channels, 1, 1, 1)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        height, width = x.shape[2:]
        out = F.conv2d(
            x.reshape(1, batch * channels, height, width),
            weight.reshape(batch * self.out_channels, channels, *weight.shape[3:]),
            padding=self.padding,
            groups=batch,
        )
        return out.view(batch, self.out_channels, *out.shape[2:])


class StyleConv(nn.Module):
    """Modulated 3x3 convolution, times sqrt(2), plus scaled noise and a bias, then LeakyReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, num_style_feat: int, upsample: bool = False
    ) -> None:
        super().__init__()
        self.modulated_conv = ModulatedConv2d(
            in_channels, out_channels, 3, num_style_feat, upsample=upsample
        )
        self.weight = nn.Parameter(torch.zeros(1))  # noise strength
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        out = self.modulated_conv(x, style) * 2**0.5
        out = out + self.weight * noise + self.bias
        return F.leaky_relu(out, LEAKY_SLOPE)


class ToRGB(nn.Module):
    """Modulated 1x1 convolution to RGB (no demodulation), added to the up-sampled skip image."""

    def __init__(self, in_channels: int, num_style_feat: int) -> None:
        super().__init__()
        self.modulated_conv = ModulatedConv2d(in_channels, 3, 1, num_style_feat, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(
        self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None
    ) -> torch.Tensor:
        out = self.modulated_conv(x, style) + self.bias
        if skip is not None:
            out = out + F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)
        return out


class ConstantInput(nn.Module):
    """The learned 4x4 constant the synthesis starts from."""

    def __init__(self, channels: int, size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.weight.repeat(batch, 1, 1, 1)


class StyleGAN2GeneratorSFT(nn.Module):
    """Clean StyleGAN2 synthesis network with SFT on half of the channels (GFPGAN v1.3/v1.4).

    ``style_mlp`` (the mapping network) is part of the checkpoint; GFPGAN feeds latents ``w``
    directly, so the forward pass does not use it.

    Args:
        out_size: Output size (a power of two).
        num_style_feat: Length of style vectors.
        num_mlp: Layers of the mapping network.
        channel_multiplier: Channel multiplier of StyleGAN2 (2 for the large model).
        narrow: Channel narrowing ratio.
    """

    def __init__(
        self,
        out_size: int,
        num_style_feat: int = 512,
        num_mlp: int = 8,
        channel_multiplier: int = 2,
        narrow: float = 1.0,
    ) -> None:
        super().__init__()
        mlp: list[nn.Module] = [NormStyleCode()]
        for _ in range(num_mlp):
            mlp += [nn.Linear(num_style_feat, num_style_feat), nn.LeakyReLU(LEAKY_SLOPE)]
        self.style_mlp = nn.Sequential(*mlp)
        channels = stylegan_channels(channel_multiplier, narrow)
        self.constant_input = ConstantInput(channels[4], 4)
        self.style_conv1 = StyleConv(channels[4], channels[4], num_style_feat)
        self.to_rgb1 = ToRGB(channels[4], num_style_feat)
        self.log_size = int(math.log2(out_size))
        self.num_layers = (self.log_size - 2) * 2 + 1
        self.style_convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for index, size in enumerate(self.noise_sizes()):
            self.noises.register_buffer(f"noise{index}", torch.randn(1, 1, size, size))
        in_channels = channels[4]
        for level in range(3, self.log_size + 1):
            out_channels = channels[2**level]
            self.style_convs.append(
                StyleConv(in_channels, out_channels, num_style_feat, upsample=True)
            )
            self.style_convs.append(StyleConv(out_channels, out_channels, num_style_feat))
            self.to_rgbs.append(ToRGB(out_channels, num_style_feat))
            in_channels = out_channels

    def noise_sizes(self) -> list[int]:
        """The side of each style convolution's noise map, in layer order: 4, 8, 8, 16, 16, ..."""
        return [2 ** ((index + 5) // 2) for index in range(self.num_layers)]

    def forward(
        self,
        latent: torch.Tensor,
        conditions: Sequence[torch.Tensor],
        noises: Sequence[torch.Tensor],
    ) -> torch.Tensor:
        """Synthesise images.

        Args:
            latent: ``N x L x num_style_feat`` latents ``w``, one per layer (L = 2 log2(size) - 2).
            conditions: SFT maps ``[scale_8, shift_8, scale_16, shift_16, ...]``, applied to the
                second half of the channels after the first convolution of each resolution.
            noises: One ``N x 1 x s x s`` noise map per style convolution (see ``noise_sizes``).

        Returns:
            ``N x 3 x out_size x out_size`` images, about [-1, 1].
        """
        out = self.style_conv1(self.constant_input(latent.shape[0]), latent[:, 0], noises[0])
        skip = self.to_rgb1(out, latent[:, 1])
        index = 1
        for level, to_rgb in enumerate(self.to_rgbs):
            first, second = self.style_convs[2 * level], self.style_convs[2 * level + 1]
            out = first(out, latent[:, index], noises[index])
            if index < len(conditions):
                kept, modulated = torch.split(out, out.size(1) // 2, dim=1)
                modulated = modulated * conditions[index - 1] + conditions[index]
                out = torch.cat([kept, modulated], dim=1)
            out = second(out, latent[:, index + 1], noises[index + 1])
            skip = to_rgb(out, latent[:, index + 2], skip)
            index += 2
        return skip
