"""Building blocks of the ADM (guided-diffusion) UNet, with the official parameter names.

The module and parameter names follow the official layout exactly (``in_layers``, ``emb_layers``,
``out_layers``, ``skip_connection``, ``qkv``, ``proj_out``) so that official checkpoints load with
``strict=True``. The arithmetic is the same; the implementation is ours and is written to be
fast on CPU: no dtype round trips when already in float32, channels-last friendly attention
computed with :func:`torch.nn.functional.scaled_dot_product_attention`.
"""

from __future__ import annotations

import math
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn

M = TypeVar("M", bound=nn.Module)


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in float32 whatever the input dtype (as ADM does)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32:
            return super().forward(x)
        return super().forward(x.float()).to(x.dtype)


def normalization(channels: int, groups: int = 32) -> GroupNorm32:
    """The ADM normalisation layer: GroupNorm with ``groups`` groups, eps 1e-5."""
    return GroupNorm32(groups, channels)


class NormSiLU(nn.SiLU):
    """SiLU applied right after a normalisation: in place when no gradient is recorded.

    The input is always a fresh normalisation output, so overwriting it is safe, and it spares
    a large allocation per call (page faults dominate elementwise ops on big batches).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(x, inplace=not (torch.is_grad_enabled() and x.requires_grad))


def zero_module(module: M) -> M:
    """Zero every parameter of ``module`` and return it."""
    for parameter in module.parameters():
        nn.init.zeros_(parameter)
    return module


def timestep_embedding(
    timesteps: torch.Tensor, dim: int, max_period: float = 10000.0
) -> torch.Tensor:
    """Sinusoidal timestep embedding ``[cos, sin]`` of shape ``(N, dim)`` (ADM's layout).

    Args:
        timesteps: 1-D tensor of N (possibly fractional) timesteps.
        dim: embedding width.
        max_period: the lowest frequency is ``1 / max_period``.

    Example:
        >>> timestep_embedding(torch.tensor([0.0, 10.0]), 8).shape
        torch.Size([2, 8])
    """
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period)
        * torch.arange(half, dtype=torch.float32, device=timesteps.device)
        / half
    )
    args = timesteps[:, None].float() * freqs[None]
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    return embedding


class TimestepBlock(nn.Module):
    """A module whose forward takes the timestep embedding as a second argument."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


class TimestepEmbedSequential(nn.Sequential):
    """A sequential container that passes the embedding to the children that take it."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x, emb) if isinstance(layer, TimestepBlock) else layer(x)
        return x


class Upsample(nn.Module):
    """Nearest-neighbour x2 upsampling, optionally followed by a 3x3 convolution."""

    def __init__(self, channels: int, use_conv: bool, out_channels: int | None = None) -> None:
        super().__init__()
        self.use_conv = use_conv
        if use_conv:
            self.conv = nn.Conv2d(channels, out_channels or channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv(x) if self.use_conv else x


class Downsample(nn.Module):
    """x2 downsampling: strided 3x3 convolution, or 2x2 average pooling."""

    def __init__(self, channels: int, use_conv: bool, out_channels: int | None = None) -> None:
        super().__init__()
        out_channels = out_channels or channels
        if use_conv:
            self.op: nn.Module = nn.Conv2d(channels, out_channels, 3, stride=2, padding=1)
        elif out_channels != channels:
            raise ValueError("average-pool downsampling cannot change the channel count")
        else:
            self.op = nn.AvgPool2d(kernel_size=2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class ResBlock(TimestepBlock):
    """ADM residual block with timestep conditioning (optionally scale-shift) and up/down.

    Args:
        channels: input channels.
        emb_channels: width of the timestep embedding.
        dropout: dropout rate before the last convolution.
        out_channels: output channels (default ``channels``).
        use_conv: 3x3 instead of 1x1 skip convolution when the channel count changes.
        use_scale_shift_norm: condition by ``norm(h) * (1 + scale) + shift``.
        up: upsample x2 inside the block.
        down: downsample x2 inside the block.
        groups: GroupNorm groups.
    """

    def __init__(
        self,
        channels: int,
        emb_channels: int,
        dropout: float,
        out_channels: int | None = None,
        use_conv: bool = False,
        use_scale_shift_norm: bool = False,
        up: bool = False,
        down: bool = False,
        groups: int = 32,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels or channels
        self.use_scale_shift_norm = use_scale_shift_norm
        self.in_layers = nn.Sequential(
            normalization(channels, groups),
            NormSiLU(),
            nn.Conv2d(channels, self.out_channels, 3, padding=1),
        )
        self.updown = up or down
        if up:
            self.h_upd: nn.Module = Upsample(channels, False)
            self.x_upd: nn.Module = Upsample(channels, False)
        elif down:
            self.h_upd = Downsample(channels, False)
            self.x_upd = Downsample(channels, False)
        else:
            self.h_upd = self.x_upd = nn.Identity()
        emb_out = 2 * self.out_channels if use_scale_shift_norm else self.out_channels
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, emb_out))
        self.out_layers = nn.Sequential(
            normalization(self.out_channels, groups),
            NormSiLU(),
            nn.Dropout(p=dropout),
            zero_module(nn.Conv2d(self.out_channels, self.out_channels, 3, padding=1)),
        )
        if self.out_channels == channels:
            self.skip_connection: nn.Module = nn.Identity()
        elif use_conv:
            self.skip_connection = nn.Conv2d(channels, self.out_channels, 3, padding=1)
        else:
            self.skip_connection = nn.Conv2d(channels, self.out_channels, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        if self.updown:
            h = self.in_layers[1](self.in_layers[0](x))
            h = self.in_layers[2](self.h_upd(h))
            x = self.x_upd(x)
        else:
            h = self.in_layers(x)
        emb_out = self.emb_layers(emb).to(h.dtype)[:, :, None, None]
        norm, rest = self.out_layers[0], self.out_layers[1:]
        if self.use_scale_shift_norm:
            scale, shift = emb_out.chunk(2, dim=1)
            h = torch.addcmul(shift, norm(h), 1 + scale)
        else:
            h = norm(h + emb_out)
        h = rest(h)
        return self.skip_connection(x) + h


class AttentionBlock(nn.Module):
    """Spatial self-attention with ADM's parameters (``norm``, ``qkv``, ``proj_out``).

    ``qkv`` and ``proj_out`` are 1x1 ``Conv1d`` as in the official code (so checkpoints load), but
    are applied as matrix products on a ``(B, H*W, C)`` view, which costs no copy for
    channels-last inputs. With ``legacy_order`` (the default, ADM's ``QKVAttentionLegacy``) the
    ``3C`` qkv channels are laid out head by head as ``[q_h, k_h, v_h]``; otherwise
    (``QKVAttention``) as ``[q_all_heads, k_all_heads, v_all_heads]``.

    Args:
        channels: channels of the input.
        num_heads: number of heads, used when ``num_head_channels`` is -1.
        num_head_channels: channels per head (overrides ``num_heads``), or -1.
        legacy_order: qkv channel layout (see above).
        groups: GroupNorm groups.
    """

    def __init__(
        self,
        channels: int,
        num_heads: int = 1,
        num_head_channels: int = -1,
        legacy_order: bool = True,
        groups: int = 32,
    ) -> None:
        super().__init__()
        if num_head_channels == -1:
            self.num_heads = num_heads
        else:
            if channels % num_head_channels:
                raise ValueError(f"{channels} channels are not divisible by {num_head_channels}")
            self.num_heads = channels // num_head_channels
        if channels % self.num_heads:
            raise ValueError(f"{channels} channels are not divisible into {self.num_heads} heads")
        self.legacy_order = legacy_order
        self.norm = normalization(channels, groups)
        self.qkv = nn.Conv1d(channels, channels * 3, 1)
        self.proj_out = zero_module(nn.Conv1d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, height, width = x.shape
        heads, head_ch = self.num_heads, c // self.num_heads
        # (B, C, H, W) -> (B, L, C): a view for channels-last input.
        tokens = self.norm(x).permute(0, 2, 3, 1).reshape(b, height * width, c)
        qkv = F.linear(tokens, self.qkv.weight[..., 0], self.qkv.bias)  # (B, L, 3C)
        if self.legacy_order:
            qkv = qkv.view(b, height * width, heads, 3, head_ch)
            q, k, v = (qkv[:, :, :, i].transpose(1, 2) for i in range(3))
        else:
            qkv = qkv.view(b, height * width, 3, heads, head_ch)
            q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))
        attended = F.scaled_dot_product_attention(q, k, v)  # (B, heads, L, head_ch)
        attended = attended.transpose(1, 2).reshape(b, height * width, c)
        out = F.linear(attended, self.proj_out.weight[..., 0], self.proj_out.bias)
        out = out.view(b, height, width, c).permute(0, 3, 1, 2)
        return x + out
