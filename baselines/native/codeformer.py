"""``codeformer``: CodeFormer on ``codeformer.pth``, with its fidelity weight ``w``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from baselines.native.base import NativeRestorer

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class CodeformerParams:
    """Parameters of ``codeformer``.

    Attributes:
        w: Fidelity weight in [0, 1]: 0 trusts the learned codebook (quality), 1 the input
            (fidelity). 0.5 is the official script's default.
        weights: Path of ``codeformer.pth``; by default it is looked up in
            ``$DR2BENCH_HOME/weights``.
    """

    w: float = 0.5
    weights: Path | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.w <= 1.0:
            raise ValueError(f"w must be in [0, 1], got {self.w}")


class CodeformerRestorer(NativeRestorer):
    """CodeFormer (codebook lookup transformer); 512x512 faces; deterministic."""

    version: ClassVar[int] = 1
    description: ClassVar[str] = "CodeFormer with fidelity weight w, official weights"
    Params: ClassVar[type] = CodeformerParams
    tags: ClassVar[dict[str, dict[str, float]]] = {
        "w00": {"w": 0.0},
        "w05": {"w": 0.5},
        "w07": {"w": 0.7},
        "w10": {"w": 1.0},
    }
    weights: ClassVar[tuple[str, ...]] = ("codeformer",)
    state_key: ClassVar[str | None] = "params_ema"

    def build_network(self) -> nn.Module:
        from baselines.networks.codeformer import CodeFormer

        return CodeFormer()

    def network_inputs(self, seeds: Sequence[int]) -> tuple[float]:
        return (self.params.w,)
