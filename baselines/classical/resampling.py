"""Resampling baselines: ``identity`` (bicubic, the zero baseline) and ``lanczos``.

Both resample to an output size; at the input size (the default) they return the input
unchanged, bit for bit, so ``identity`` scores the degraded input itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from baselines.classical.base import PerImageRestorer, check_positive
from bench.contracts import Restorer

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class ResampleParams:
    """Attributes:
    size: Output side in pixels: the longer side of the output, the aspect ratio kept (a
        square input becomes ``size x size``); ``None`` keeps the input size.
    """

    size: int | None = None

    def __post_init__(self) -> None:
        if self.size is not None:
            check_positive(size=self.size)


def output_size(height: int, width: int, size: int | None) -> tuple[int, int]:
    """The ``(height, width)`` of the output: the longer side scaled to ``size``.

    Example:
        >>> output_size(128, 128, 512), output_size(100, 50, 200), output_size(64, 48, None)
        ((512, 512), (200, 100), (64, 48))
    """
    if size is None:
        return height, width
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


class ResizesTo:
    """A restorer whose output size is its ``size`` parameter (see :func:`output_size`)."""

    params: ResampleParams

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        return output_size(height, width, self.params.size)


class Identity(ResizesTo, Restorer):
    """Bicubic resampling to the output size: the zero baseline every method must beat.

    Bicubic is Keys' cubic with ``a = -0.5`` and, when shrinking, a kernel widened by the scale
    factor (antialiasing), as Pillow and MATLAB ``imresize`` do; ``torch.nn.functional.interpolate``
    with ``antialias=True`` computes it on the restorer's device. Outputs are clipped to [0, 1].
    """

    version = 1
    description = "Zero baseline: bicubic resampling to the output size (input unchanged at size)"
    Params = ResampleParams
    keeps_input = True

    def restore(self, images: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        """Resample ``images`` to the output size; a copy of them at the input size."""
        import torch.nn.functional as F

        height, width = images.shape[-2:]
        target = output_size(height, width, self.params.size)
        if target == (height, width):
            return images.clone()
        resized = F.interpolate(
            images, size=target, mode="bicubic", align_corners=False, antialias=True
        )
        return resized.clamp(0.0, 1.0)


class Lanczos(ResizesTo, PerImageRestorer):
    """Lanczos-3 resampling to the output size (Pillow's ``LANCZOS`` filter on float32 planes).

    The kernel is ``sinc(x) sinc(x / 3)`` on ``|x| < 3``, widened by the scale factor when
    shrinking; Pillow clips it at the image border and renormalises the weights.
    """

    version = 1
    description = "Lanczos-3 resampling to the output size (input unchanged at its own size)"
    Params = ResampleParams
    keeps_input = True

    def restore_image(self, image: np.ndarray) -> np.ndarray:
        """Resample one image channel by channel."""
        from PIL import Image

        height, width = image.shape[:2]
        target = output_size(height, width, self.params.size)
        if target == (height, width):
            return image.copy()
        planes = [  # a 2-D float32 array becomes a Pillow image of mode "F"
            np.asarray(
                Image.fromarray(np.ascontiguousarray(image[..., channel])).resize(
                    (target[1], target[0]), Image.Resampling.LANCZOS
                )
            )
            for channel in range(3)
        ]
        return np.stack(planes, axis=-1)
