"""VQFR's "Deg." exactly: the ``vqfr`` backend of ``ids``, ``ids_input`` and ``deg``.

VQFR's ``metric_paper/calculate_cos_dist.py`` scores the whole aligned image, with no face
detection: each file is read as grey with ``cv2.imread(path, 0)``, resized to 128x128 with
``cv2.INTER_LINEAR``, scaled as ``(x - 127.5) / 127.5``; the ground truth and the restored image go
through the ArcFace ResNet-18 (:mod:`metrics.arcface18`) together; the angle is the
``arccos`` of the cosine of the two 512-d embeddings, in degrees.

One deliberate difference: the script divides in float32, and a cosine near 1 rounded to float32
moves the angle by up to ``eps32 / sin(angle)`` (about 1e-4 degree at 3 degrees, 0.02 degree for
identical images, where it may even print NaN). That noise depends on the embeddings' last bits,
which no other machine or batch reproduces, so the cosine of the same float32 embeddings is taken
in float64 here, clipped to [-1, 1] before ``arccos``.

The metric receives images, not files. A run stores its outputs as 8-bit PNG (written by
:func:`bench.images.encode_png`, with no gAMA, sRGB or iCCP chunk), so the script would read what
:func:`metrics.common.quantize` gives. For such a PNG, ``cv2.imread(path, 0)`` does not
use ``cvtColor``'s rounded BT.601 formula: OpenCV asks libpng to convert while decoding
(``png_set_rgb_to_gray(png, 1, 0.299, 0.587)``), and libpng computes, per pixel,
``(9797 R + 19234 G + 3737 B) >> 15`` (coefficients ``floor(0.299 * 32768)``,
``floor(0.587 * 32768)`` and the rest of 32768; the sum truncated). :func:`png_grey` is that
arithmetic; it differs from ``cvtColor`` by one level on about half of all colours. (A PNG with a
gAMA or sRGB chunk is converted by libpng through linear light instead, up to 68 levels away;
ours carry no such chunk, nor do the CelebA-HQ files of the test data.)

VQFR prints the mean over pairs of at least 1 degree and counts the others as "almost
identical". Every per-image angle is recorded here; the ``deg.vqfr`` config's
``mean_leaves_out_below`` tells the score command and the reports to summarise it that way.
Tests: ``tests/metrics/test_identity_vqfr.py`` (every 24-bit colour against ``cv2.imdecode``;
angles against GFPGAN's network run the script's way: to 1e-5 degree with the cosine in float64,
and within the float32 rounding bound of the script's own division).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.weights import MissingWeightsError, entry, locate
from metrics.common import quantize, run_network, weights_record

if TYPE_CHECKING:
    import torch

INPUT_SIZE = 128
IDENTICAL_BELOW_DEGREES = 1.0
# libpng's fixed-point weights (out of 2**15) for png_set_rgb_to_gray(png, 1, 0.299, 0.587)
PNG_GREY_WEIGHTS = (9797, 19234, 3737)
PNG_GREY_SHIFT = 15

CONFIG: dict[str, Any] = {
    "protocol": "VQFR metric_paper/calculate_cos_dist.py",
    "network": "ArcFace ResNet-18 (resnet_face18, IRBlock, layers 2-2-2-2, use_se=False), "
    "512-d, eval mode",
    "alignment_policy": "whole image, no detection",
    "grey": "as cv2.imread(png, 0): libpng (9797 R + 19234 G + 3737 B) >> 15 of the 8-bit RGB",
    "input_size": INPUT_SIZE,
    "resize": "cv2.resize INTER_LINEAR (uint8)",
    "input_scaling": "(x - 127.5) / 127.5",
    "embedding": "float32 network, outputs and references in one forward",
    "cosine": "float64 of the float32 embeddings (the script rounds it to float32)",
}
# manifest entries, in the order they are looked for: VQFR's own file first, then GFPGAN's copy
WEIGHTS = ("arcface_resnet18_vqfr", "arcface_resnet18_gfpgan")
# the printed mean leaves out pairs under 1 degree (the score command and reports honour it)
SUMMARY: dict[str, Any] = {"mean_leaves_out_below": IDENTICAL_BELOW_DEGREES}


def locate_weights(explicit: str | Path | None = None) -> Path:
    """The weights file: ``explicit`` if given, else ``resnet18_110.pth``, else GFPGAN's copy.

    Both names are looked for in ``$DR2BENCH_HOME/weights``.

    Raises:
        MissingWeightsError: neither file is there (or ``explicit`` does not exist); the message
            names both files, where to get them and where to put them.

    Example:
        >>> locate_weights()  # doctest: +SKIP
        PosixPath('/home/me/.dr2bench/weights/resnet18_110.pth')
    """
    if explicit is not None:
        return locate(WEIGHTS[0], explicit)
    problems = []
    for name in WEIGHTS:
        try:
            return locate(name)
        except MissingWeightsError as exc:
            problems.append(str(exc))
    gfpgan = entry(WEIGHTS[1])
    raise MissingWeightsError(
        f"{problems[0]}; GFPGAN's copy of the same network, {gfpgan.file} from {gfpgan.url}, "
        f"works too (put it in the same folder)"
    )


def config(explicit: str | Path | None = None) -> dict[str, Any]:
    """What defines the value: :data:`CONFIG`, the weights file found and its sha256.

    A missing file is recorded as ``None`` (loading then says what to do).
    """
    return CONFIG | weights_record(lambda: locate_weights(explicit))


def png_grey(image: np.ndarray) -> np.ndarray:
    """The grey ``H x W`` uint8 image ``cv2.imread(path, 0)`` gives for a PNG of ``image``.

    Args:
        image: ``H x W x 3`` uint8 RGB.

    Example:
        >>> png_grey(np.array([[[0, 255, 0], [255, 255, 255]]], dtype=np.uint8))
        array([[149, 255]], dtype=uint8)
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 uint8 RGB image, got {image.dtype} {image.shape}")
    red, green, blue = (image[..., c].astype(np.uint32) for c in range(3))
    weights = PNG_GREY_WEIGHTS
    total = weights[0] * red + weights[1] * green + weights[2] * blue
    return (total >> PNG_GREY_SHIFT).astype(np.uint8)


def script_input(image: np.ndarray) -> np.ndarray:
    """The script's ``load_image`` of a PNG of ``image``: ``128 x 128`` float32 in [-1, 1]."""
    import cv2

    grey = cv2.resize(png_grey(image), (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
    scaled = grey.astype(np.float32)
    scaled -= 127.5
    scaled /= 127.5
    return scaled


def embedding_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The script's ``cosin_metric`` of two embeddings, computed in float64."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


class VqfrIdentity:
    """The network and the script's preprocessing, for a device (built once per process)."""

    def __init__(self, weights: Path, device: str) -> None:
        from metrics.arcface18 import load_network

        self.weights = weights
        self.device = device
        self.network = load_network(weights, device)

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """``N x 512`` float32 embeddings of ``H x W x 3`` uint8 RGB images, in one forward.

        BatchNorm runs in eval mode, so an image's embedding does not depend on the others.
        """
        batch = np.stack([script_input(image) for image in images])[:, None]
        return run_network(self.network, batch, self.device)

    def cosines(self, pred: torch.Tensor, ref: torch.Tensor) -> list[float]:
        """The cosine of each output with its reference (any sizes: all are resized to 128)."""
        outputs, references = quantize(pred), quantize(ref)
        if len(outputs) == 0:
            return []
        embeddings = self.embed([*outputs, *references])
        count = len(outputs)
        return [embedding_cosine(embeddings[i], embeddings[count + i]) for i in range(count)]
