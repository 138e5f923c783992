"""GFPGAN v1.3 / v1.4, the "clean" architecture (no custom CUDA ops).

GFPGAN (Wang et al., "Towards Real-World Blind Face Restoration with Generative Facial Prior",
CVPR 2021) encodes the degraded face with a U-Net. Its bottleneck gives, through one linear layer,
a different latent ``w`` for every layer of a pretrained StyleGAN2; each decoder level of the
U-Net predicts SFT scale and shift maps that modulate the StyleGAN2 features at that resolution.

Configuration of ``GFPGANv1.4.pth``: out_size 512, num_style_feat 512, channel_multiplier 2,
num_mlp 8, input_is_latent, different_w, narrow 1, sft_half. The U-Net has half the channels of
StyleGAN2. The ``toRGB`` heads (intermediate outputs supervised during training) are in the
checkpoint but not used for inference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from baselines.networks.stylegan2 import LEAKY_SLOPE, StyleGAN2GeneratorSFT, stylegan_channels


class ResBlock(nn.Module):
    """Residual block with bilinear resampling: conv, resample, conv; 1x1 conv on the skip.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        mode: ``down`` halves the size, ``up`` doubles it.
    """

    def __init__(self, in_channels: int, out_channels: int, mode: Literal["down", "up"]) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, in_channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.scale_factor = 0.5 if mode == "down" else 2.0

    def _resample(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(
            x, scale_factor=self.scale_factor, mode="bilinear", align_corners=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.leaky_relu(self.conv1(x), LEAKY_SLOPE)
        out = F.leaky_relu(self.conv2(self._resample(out)), LEAKY_SLOPE)
        return out + self.skip(self._resample(x))


def sft_branch(channels: int) -> nn.Sequential:
    """3x3 conv, LeakyReLU, 3x3 conv: predicts an SFT scale or shift map (CodeFormer's too)."""
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, 1, 1),
        nn.LeakyReLU(LEAKY_SLOPE),
        nn.Conv2d(channels, channels, 3, 1, 1),
    )


class GFPGANv1Clean(nn.Module):
    """GFPGAN v1 clean with the v1.3/v1.4 configuration (different_w, sft_half, latent input).

    Args:
        out_size: Input and output size (a power of two).
        num_style_feat: Length of StyleGAN2 latents.
        channel_multiplier: StyleGAN2 channel multiplier.
        num_mlp: Layers of StyleGAN2's mapping network (stored, unused).
        narrow: Channel narrowing ratio of StyleGAN2 (the U-Net has half of it).

    Example:
        >>> net = GFPGANv1Clean().eval()  # doctest: +SKIP
        >>> noises = [torch.randn(1, 1, s, s) for s in net.stylegan_decoder.noise_sizes()]
        >>> out = net(torch.zeros(1, 3, 512, 512), noises)  # [-1, 1] in and about [-1, 1] out
    """

    def __init__(
        self,
        out_size: int = 512,
        num_style_feat: int = 512,
        channel_multiplier: int = 2,
        num_mlp: int = 8,
        narrow: float = 1.0,
    ) -> None:
        super().__init__()
        self.num_style_feat = num_style_feat
        self.log_size = int(math.log2(out_size))
        channels = stylegan_channels(channel_multiplier, narrow * 0.5)
        self.conv_body_first = nn.Conv2d(3, channels[out_size], 1)
        self.conv_body_down = nn.ModuleList()
        in_channels = channels[out_size]
        for level in range(self.log_size, 2, -1):
            self.conv_body_down.append(ResBlock(in_channels, channels[2 ** (level - 1)], "down"))
            in_channels = channels[2 ** (level - 1)]
        self.final_conv = nn.Conv2d(in_channels, channels[4], 3, 1, 1)
        up_sizes = [2**level for level in range(3, self.log_size + 1)]
        self.conv_body_up = nn.ModuleList()
        in_channels = channels[4]
        for size in up_sizes:
            self.conv_body_up.append(ResBlock(in_channels, channels[size], "up"))
            in_channels = channels[size]
        self.toRGB = nn.ModuleList(nn.Conv2d(channels[size], 3, 1) for size in up_sizes)
        num_latents = self.log_size * 2 - 2
        self.final_linear = nn.Linear(channels[4] * 4 * 4, num_latents * num_style_feat)
        self.stylegan_decoder = StyleGAN2GeneratorSFT(
            out_size, num_style_feat, num_mlp, channel_multiplier, narrow
        )
        self.condition_scale = nn.ModuleList(sft_branch(channels[size]) for size in up_sizes)
        self.condition_shift = nn.ModuleList(sft_branch(channels[size]) for size in up_sizes)

    def forward(self, x: torch.Tensor, noises: Sequence[torch.Tensor]) -> torch.Tensor:
        """Restore ``N x 3 x out_size x out_size`` faces in [-1, 1].

        Args:
            x: The degraded faces, aligned, in [-1, 1].
            noises: StyleGAN2 noise maps, one per layer (see ``StyleGAN2GeneratorSFT``).

        Returns:
            The restored faces, about [-1, 1] (clamp before use).
        """
        feat = F.leaky_relu(self.conv_body_first(x), LEAKY_SLOPE)
        skips: list[torch.Tensor] = []
        for block in self.conv_body_down:
            feat = block(feat)
            skips.insert(0, feat)
        feat = F.leaky_relu(self.final_conv(feat), LEAKY_SLOPE)
        latent = self.final_linear(feat.flatten(1)).view(x.shape[0], -1, self.num_style_feat)
        conditions = []
        for skip, block, scale, shift in zip(
            skips, self.conv_body_up, self.condition_scale, self.condition_shift, strict=True
        ):
            feat = block(feat + skip)
            conditions += [scale(feat), shift(feat)]
        return self.stylegan_decoder(latent, conditions, noises)
