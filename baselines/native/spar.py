"""``spar``: SPARNetHD, DR2's enhancement network, on ``SPARNetHD_FFHQ_DR2aug.pth``.

Used alone it is a fast baseline; DR2's ``dr2+spar`` pipeline composes it after the diffusion
stage::

    enhancer = RESTORERS.create("spar", weights="path/to/SPARNetHD_FFHQ_DR2aug.pth")
    enhancer.load(device)
    enhanced = enhancer.restore(images, seeds)  # N x 3 x H x W in [0, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from baselines.native.base import NativeRestorer

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class SparParams:
    """Parameters of ``spar``.

    Attributes:
        weights: Path of ``SPARNetHD_FFHQ_DR2aug.pth``; by default it is looked up in
            ``$DR2BENCH_HOME/weights``.
    """

    weights: Path | None = None


class SparRestorer(NativeRestorer):
    """SPARNetHD (2D attention) trained with DR2's augmentations; 512x512 faces."""

    version: ClassVar[int] = 1
    description: ClassVar[str] = (
        "SPARNetHD face enhancer (DR2's second stage), official DR2-augmented weights"
    )
    Params: ClassVar[type] = SparParams
    weights: ClassVar[tuple[str, ...]] = ("sparnethd_dr2aug",)
    state_key: ClassVar[str | None] = None

    def build_network(self) -> nn.Module:
        from baselines.networks.sparnethd import SPARNetHD

        return SPARNetHD()

    def run_network(self, batch: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        assert self.network is not None  # restore() runs the network only once it is loaded
        return self.network(batch)
