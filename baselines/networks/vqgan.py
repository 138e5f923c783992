"""The VQGAN parts CodeFormer is built on: encoder, codebook and generator (decoder).

A VQGAN (Esser et al., CVPR 2021) compresses an image to a grid of vectors, each replaced by its
nearest entry of a learned codebook, and decodes the grid back. CodeFormer uses the layout of
"Unleashing Transformers" (Bond-Taylor et al., 2022): 512x512 images, 64 base channels, channel
multipliers (1, 2, 2, 4, 4, 8), two residual blocks per level, self-attention at 16x16, a 16x16
grid of 256-d codes and 1024 codebook entries.

GroupNorm (32 groups, eps 1e-6) and swish are used throughout; ``encoder.blocks`` and
``generator.blocks`` are flat lists, indexed as in the checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with 32 groups and eps 1e-6, the VQGAN normalisation."""
    return nn.GroupNorm(num_groups=32, num_channels=channels, eps=1e-6, affine=True)


class ResBlock(nn.Module):
    """Norm, swish, 3x3 conv, twice, plus the input (through a 1x1 conv if channels change)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.norm2 = group_norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        if in_channels != out_channels:
            self.conv_out = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.silu(self.norm1(x)))
        out = self.conv2(F.silu(self.norm2(out)))
        shortcut = self.conv_out(x) if hasattr(self, "conv_out") else x
        return out + shortcut


class AttnBlock(nn.Module):
    """Single-head self-attention over all positions, with 1x1 convolutions for q, k, v, out."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = group_norm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        normed = self.norm(x)
        query = self.q(normed).flatten(2).transpose(1, 2)  # N x HW x C
        key = self.k(normed).flatten(2)  # N x C x HW
        value = self.v(normed).flatten(2)  # N x C x HW
        weights = torch.softmax(torch.bmm(query, key) * channels**-0.5, dim=2)
        attended = torch.bmm(value, weights.transpose(1, 2))
        return x + self.proj_out(attended.view(batch, channels, height, width))


class Downsample(nn.Module):
    """Zero-pad right and bottom by one pixel, then a stride-2 3x3 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 2, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Nearest 2x up-sampling, then a 3x3 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Encoder(nn.Module):
    """Image to a grid of ``emb_dim`` vectors, ``2 ** (len(ch_mult) - 1)`` times smaller."""

    def __init__(
        self,
        nf: int,
        emb_dim: int,
        ch_mult: Sequence[int],
        res_blocks: int,
        size: int,
        attn_resolutions: Sequence[int],
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Conv2d(3, nf, 3, 1, 1)]
        channels, resolution = nf, size
        for level, multiplier in enumerate(ch_mult):
            for _ in range(res_blocks):
                blocks.append(ResBlock(channels, nf * multiplier))
                channels = nf * multiplier
                if resolution in attn_resolutions:
                    blocks.append(AttnBlock(channels))
            if level != len(ch_mult) - 1:
                blocks.append(Downsample(channels))
                resolution //= 2
        blocks += [ResBlock(channels, channels), AttnBlock(channels), ResBlock(channels, channels)]
        blocks += [group_norm(channels), nn.Conv2d(channels, emb_dim, 3, 1, 1)]
        self.blocks = nn.ModuleList(blocks)


class Generator(nn.Module):
    """Grid of ``emb_dim`` vectors back to an RGB image: the mirror of :class:`Encoder`."""

    def __init__(
        self,
        nf: int,
        emb_dim: int,
        ch_mult: Sequence[int],
        res_blocks: int,
        size: int,
        attn_resolutions: Sequence[int],
    ) -> None:
        super().__init__()
        channels = nf * ch_mult[-1]
        resolution = size // 2 ** (len(ch_mult) - 1)
        blocks: list[nn.Module] = [nn.Conv2d(emb_dim, channels, 3, 1, 1)]
        blocks += [ResBlock(channels, channels), AttnBlock(channels), ResBlock(channels, channels)]
        for level in reversed(range(len(ch_mult))):
            for _ in range(res_blocks):
                blocks.append(ResBlock(channels, nf * ch_mult[level]))
                channels = nf * ch_mult[level]
                if resolution in attn_resolutions:
                    blocks.append(AttnBlock(channels))
            if level != 0:
                blocks.append(Upsample(channels))
                resolution *= 2
        blocks += [group_norm(channels), nn.Conv2d(channels, 3, 3, 1, 1)]
        self.blocks = nn.ModuleList(blocks)


class Codebook(nn.Module):
    """The learned codebook (``quantize.embedding`` in the checkpoint)."""

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(size, dim)

    def lookup(self, indices: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Codes for ``N x (H W)`` indices, as an ``N x dim x H x W`` feature map."""
        codes = self.embedding(indices)  # N x HW x dim
        return codes.view(indices.shape[0], height, width, -1).permute(0, 3, 1, 2).contiguous()
