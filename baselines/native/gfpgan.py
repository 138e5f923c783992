"""``gfpgan``: GFPGAN v1.4 (clean architecture) on ``GFPGANv1.4.pth``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, cast

from baselines.native.base import NativeRestorer, WeightsParams

if TYPE_CHECKING:
    import torch
    from torch import nn

    from baselines.networks.gfpgan import GFPGANv1Clean


class GfpganRestorer(NativeRestorer):
    """GFPGAN v1.4: U-Net encoder, StyleGAN2 prior modulated by SFT; 512x512 faces.

    Like the official inference it draws fresh StyleGAN2 noise for every image; here the noise
    of image ``i`` comes from ``seeds[i]``, so a run is reproducible and image ``i`` does not
    depend on the rest of its batch.
    """

    version: ClassVar[int] = 1
    description: ClassVar[str] = "GFPGAN v1.4 (clean architecture), official weights"
    Params: ClassVar[type] = WeightsParams
    stochastic: ClassVar[bool] = True
    weights: ClassVar[tuple[str, ...]] = ("gfpgan_v1.4",)
    state_key: ClassVar[str | None] = "params_ema"

    def build_network(self) -> nn.Module:
        from baselines.networks.gfpgan import GFPGANv1Clean

        return GFPGANv1Clean()

    def network_inputs(self, seeds: Sequence[int]) -> tuple[list[torch.Tensor]]:
        return (self.noises(seeds),)

    def noises(self, seeds: Sequence[int]) -> list[torch.Tensor]:
        """StyleGAN2 noise, per layer ``N x 1 x s x s``; image ``i``'s from ``seeds[i]``."""
        import torch

        network = cast("GFPGANv1Clean", self.network)  # what build_network built, once loaded
        sizes = network.stylegan_decoder.noise_sizes()
        per_image = []
        for seed in seeds:
            generator = torch.Generator().manual_seed(int(seed))
            per_image.append([torch.randn(1, 1, s, s, generator=generator) for s in sizes])
        return [torch.cat(layer).to(self.device) for layer in zip(*per_image, strict=True)]
