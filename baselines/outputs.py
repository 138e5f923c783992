"""Turning output files made elsewhere (by a command, or released by a paper) into a batch.

Used by the ``command`` and ``folder`` restorers: each image of a batch has an output file or a
reason why it has none; unreadable files, files of another size (unless resized) and missing
files become per-image failures, reported with :class:`bench.contracts.RestoreFailures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.contracts import RestoreFailures

if TYPE_CHECKING:
    import torch


class OutputError(ValueError):
    """One output file cannot be used; the message names the file and why."""


def read_output(path: Path, height: int, width: int, *, resize: bool) -> np.ndarray:
    """Read one output file as an ``height x width x 3`` float32 image.

    Args:
        path: The output file.
        height: The height of the input image the output must match.
        width: The width of the input image.
        resize: Resample an output of another size to the input size (bicubic, antialiased,
            as the ``identity`` restorer), instead of failing.

    Raises:
        OutputError: the file is unreadable, or of another size and ``resize`` is false.
    """
    from bench.images import ImageError, read_image

    try:
        image = read_image(path)
    except ImageError as exc:
        raise OutputError(f"broken output {exc}") from exc
    if image.shape[:2] == (height, width):
        return image
    if not resize:
        raise OutputError(
            f"output {path} is {image.shape[1]}x{image.shape[0]}, the input is {width}x{height}"
            " (set resize: true to resample it)"
        )
    return resample(image, height, width)


def resample(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bicubic, antialiased resampling of one image to ``height x width``, clipped to [0, 1]."""
    import torch.nn.functional as F

    from bench.images import to_numpy, to_tensor

    resized = F.interpolate(
        to_tensor(image), size=(height, width), mode="bicubic", align_corners=False, antialias=True
    )
    return to_numpy(resized.clamp(0.0, 1.0))[0]


def assemble(
    images: torch.Tensor,
    files: Sequence[Path | None],
    missing: dict[int, str],
    *,
    resize: bool,
) -> torch.Tensor:
    """The batch of outputs for ``images``, read from ``files``.

    Args:
        images: The inputs, ``N x 3 x H x W``.
        files: The output file of each image, or ``None`` when it has none.
        missing: Why each image whose file is ``None`` has none, by index.
        resize: See :func:`read_output`.

    Raises:
        RestoreFailures: some outputs are missing or unusable; its ``output`` holds the others,
            and the inputs in place of the failed ones.
    """
    from bench.images import to_numpy, to_tensor

    inputs = to_numpy(images)
    failures = {index: missing[index] for index, path in enumerate(files) if path is None}
    rows = []
    for index, (image, path) in enumerate(zip(inputs, files, strict=True)):
        if path is None:
            rows.append(image)
            continue
        try:
            rows.append(read_output(path, image.shape[0], image.shape[1], resize=resize))
        except OutputError as exc:
            failures[index] = str(exc)
            rows.append(image)
    output = to_tensor(rows, device=str(images.device)) if rows else images.clone()
    if failures:
        raise RestoreFailures(output, failures)
    return output
