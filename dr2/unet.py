"""The ADM (guided-diffusion) UNet used by DR2, and its configuration.

``UNet(UNetConfig.dr2_ffhq256())`` has exactly the parameter names and shapes of the official
DR2 / ILVR / P2-weighting FFHQ-256 checkpoints (see ``shared/specs/dr2_unet_ffhq256.keys.json``).

Example:
    >>> config = UNetConfig(image_size=32, model_channels=32, channel_mult=(1, 2),
    ...                     attention_resolutions=(16,), num_head_channels=32)
    >>> model = UNet(config)
    >>> model(torch.zeros(2, 3, 32, 32), torch.tensor([0, 999])).shape
    torch.Size([2, 3, 32, 32])
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from dr2.unet_blocks import (
    AttentionBlock,
    Downsample,
    NormSiLU,
    ResBlock,
    TimestepEmbedSequential,
    Upsample,
    normalization,
    timestep_embedding,
    zero_module,
)


@dataclass(frozen=True)
class UNetConfig:
    """Hyper-parameters of the ADM UNet (the names of guided-diffusion's ``create_model``).

    Attributes:
        image_size: training resolution (attention resolutions are relative to it).
        in_channels: input channels.
        model_channels: base width.
        out_channels: output channels; with ``learn_sigma`` this must be ``2 * in_channels``
            (epsilon, then the variance interpolation values).
        num_res_blocks: residual blocks per resolution level.
        attention_resolutions: feature-map sizes (e.g. ``(16,)``) that get self-attention.
        channel_mult: width multiplier per level; one level per entry.
        num_heads: attention heads when ``num_head_channels`` is -1.
        num_head_channels: channels per attention head, or -1.
        use_scale_shift_norm: FiLM-style timestep conditioning.
        resblock_updown: residual blocks (not plain up/down layers) change the resolution.
        conv_resample: plain up/down layers use a convolution.
        dropout: dropout rate in residual blocks.
        learn_sigma: the network also predicts the variance (learned range).
        use_new_attention_order: qkv split order of ``QKVAttention`` instead of the legacy one.
        norm_groups: GroupNorm groups (32 in ADM; widths must be divisible by it).
    """

    image_size: int = 64
    in_channels: int = 3
    model_channels: int = 128
    out_channels: int = 3
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = (16, 8)
    channel_mult: tuple[int, ...] = (1, 2, 3, 4)
    num_heads: int = 4
    num_head_channels: int = -1
    use_scale_shift_norm: bool = True
    resblock_updown: bool = True
    conv_resample: bool = True
    dropout: float = 0.0
    learn_sigma: bool = False
    use_new_attention_order: bool = False
    norm_groups: int = 32

    def __post_init__(self) -> None:
        expected = self.in_channels * (2 if self.learn_sigma else 1)
        if self.out_channels != expected:
            raise ValueError(
                f"out_channels={self.out_channels} but learn_sigma={self.learn_sigma} and "
                f"in_channels={self.in_channels} need {expected}"
            )
        for resolution in self.attention_resolutions:
            if self.image_size % resolution:
                raise ValueError(f"attention resolution {resolution} does not divide image size")
        for mult in self.channel_mult:
            if (mult * self.model_channels) % self.norm_groups:
                raise ValueError(
                    f"width {mult * self.model_channels} is not divisible by {self.norm_groups} "
                    "GroupNorm groups"
                )

    @classmethod
    def dr2_ffhq256(cls) -> UNetConfig:
        """The official DR2 (and ILVR / P2-weighting) FFHQ-256 configuration, 93.6 M params."""
        return cls(
            image_size=256,
            in_channels=3,
            model_channels=128,
            out_channels=6,
            num_res_blocks=1,
            attention_resolutions=(16,),
            channel_mult=(1, 1, 2, 2, 4, 4),
            num_heads=4,
            num_head_channels=64,
            use_scale_shift_norm=True,
            resblock_updown=True,
            dropout=0.0,
            learn_sigma=True,
        )

    @property
    def attention_ds(self) -> frozenset[int]:
        """Downsampling factors at which attention is applied."""
        return frozenset(self.image_size // r for r in self.attention_resolutions)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (tuples become lists)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """The configuration as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UNetConfig:
        """Build from :meth:`to_dict` output; unknown keys are rejected by name."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown UNetConfig keys: {', '.join(unknown)}")
        values = dict(data)
        for key in ("attention_resolutions", "channel_mult"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> UNetConfig:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))


class UNet(nn.Module):
    """The ADM UNet: ``time_embed``, ``input_blocks``, ``middle_block``, ``output_blocks``, ``out``.

    ``forward(x, timesteps)`` takes ``x`` of shape ``(B, in_channels, H, W)`` and timesteps in the
    original 0..1000 range (float or int) and returns ``(B, out_channels, H, W)``.
    """

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        emb_dim = c.model_channels * 4
        self.time_embed = nn.Sequential(
            nn.Linear(c.model_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)
        )

        def res(ch: int, out: int, up: bool = False, down: bool = False) -> ResBlock:
            return ResBlock(
                ch,
                emb_dim,
                c.dropout,
                out_channels=out,
                use_scale_shift_norm=c.use_scale_shift_norm,
                up=up,
                down=down,
                groups=c.norm_groups,
            )

        def attn(ch: int) -> AttentionBlock:
            return AttentionBlock(
                ch,
                num_heads=c.num_heads,
                num_head_channels=c.num_head_channels,
                legacy_order=not c.use_new_attention_order,
                groups=c.norm_groups,
            )

        ch = input_ch = c.channel_mult[0] * c.model_channels
        self.input_blocks = nn.ModuleList(
            [TimestepEmbedSequential(nn.Conv2d(c.in_channels, ch, 3, padding=1))]
        )
        skip_chans = [ch]
        ds = 1
        for level, mult in enumerate(c.channel_mult):
            for _ in range(c.num_res_blocks):
                layers: list[nn.Module] = [res(ch, mult * c.model_channels)]
                ch = mult * c.model_channels
                if ds in c.attention_ds:
                    layers.append(attn(ch))
                self.input_blocks.append(TimestepEmbedSequential(*layers))
                skip_chans.append(ch)
            if level != len(c.channel_mult) - 1:
                down = (
                    res(ch, ch, down=True)
                    if c.resblock_updown
                    else Downsample(ch, c.conv_resample, out_channels=ch)
                )
                self.input_blocks.append(TimestepEmbedSequential(down))
                skip_chans.append(ch)
                ds *= 2

        self.middle_block = TimestepEmbedSequential(res(ch, ch), attn(ch), res(ch, ch))

        self.output_blocks = nn.ModuleList([])
        for level, mult in list(enumerate(c.channel_mult))[::-1]:
            for i in range(c.num_res_blocks + 1):
                layers = [res(ch + skip_chans.pop(), mult * c.model_channels)]
                ch = mult * c.model_channels
                if ds in c.attention_ds:
                    layers.append(attn(ch))
                if level and i == c.num_res_blocks:
                    layers.append(
                        res(ch, ch, up=True)
                        if c.resblock_updown
                        else Upsample(ch, c.conv_resample, out_channels=ch)
                    )
                    ds //= 2
                self.output_blocks.append(TimestepEmbedSequential(*layers))

        self.out = nn.Sequential(
            normalization(ch, c.norm_groups),
            NormSiLU(),
            zero_module(nn.Conv2d(input_ch, c.out_channels, 3, padding=1)),
        )

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """Predict (epsilon[, variance values]) for noisy ``x`` at ``timesteps``."""
        if timesteps.ndim == 0:
            timesteps = timesteps.expand(x.shape[0])
        emb = self.time_embed(timestep_embedding(timesteps, self.config.model_channels))
        skips = []
        h = x
        for module in self.input_blocks:
            h = module(h, emb)
            skips.append(h)
        h = self.middle_block(h, emb)
        for module in self.output_blocks:
            h = module(torch.cat([h, skips.pop()], dim=1), emb)
        return self.out(h.to(x.dtype))


def count_parameters(model: nn.Module) -> int:
    """Number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())
