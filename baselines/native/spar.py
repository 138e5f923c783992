"""``spar``: SPARNetHD, DR2's enhancement network, on ``SPARNetHD_FFHQ_DR2aug.pth``.

Used alone it is a fast baseline; DR2's ``dr2+spar`` pipeline composes it after the diffusion
stage::

    enhancer = RESTORERS.create("spar", weights="path/to/SPARNetHD_FFHQ_DR2aug.pth")
    enhancer.load(device)
    enhanced = enhancer.restore(images, seeds)  # N x 3 x H x W in [0, 1]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from baselines.native.base import NativeRestorer, WeightsParams

if TYPE_CHECKING:
    from torch import nn


class SparRestorer(NativeRestorer):
    """SPARNetHD (2D attention) trained with DR2's augmentations; 512x512 faces."""

    version: ClassVar[int] = 1
    description: ClassVar[str] = (
        "SPARNetHD face enhancer (DR2's second stage), official DR2-augmented weights"
    )
    Params: ClassVar[type] = WeightsParams
    weights: ClassVar[tuple[str, ...]] = ("sparnethd_dr2aug",)

    def build_network(self) -> nn.Module:
        from baselines.networks.sparnethd import SPARNetHD

        return SPARNetHD()
