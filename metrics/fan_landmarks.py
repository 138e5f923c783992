"""VQFR's landmark pipeline around the AWing FAN: facexlib's ``get_landmarks`` and the distance.

``FAN.get_landmarks`` is split in two so that the network runs batched while every image is
decoded alone, as the script decodes it: :func:`predict_heatmaps` (8-bit BGR resized to 256x256,
RGB, /255, the last stack's maps) and :func:`decode_heatmaps` (``calculate_points``, quirks
kept); :func:`landmarks_in_pixels` scales the points to the image. :func:`predict_landmarks`
chains them for a batch; :func:`landmark_distance` is the script's ``get_landmark_distance``.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from metrics.common import ieee_float32
from metrics.fan import HEATMAP_SIZE, INPUT_SIZE, LANDMARKS, AwingFan


def network_input(images: np.ndarray) -> torch.Tensor:
    """``get_landmarks``' input from ``N x H x W x 3`` uint8 RGB images: ``N x 3 x 256 x 256``.

    Each image is flipped to BGR (what ``cv2.imread`` gives the script), resized to 256x256 with
    ``cv2.resize``'s default ``INTER_LINEAR`` on the uint8 pixels, flipped back to RGB, and
    divided by 255 in float32.
    """
    batch = []
    for rgb in images:
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        resized = cv2.resize(bgr, (INPUT_SIZE, INPUT_SIZE))
        batch.append(resized[..., ::-1].transpose(2, 0, 1))
    return torch.from_numpy(np.ascontiguousarray(np.stack(batch))).float() / 255.0


def predict_heatmaps(
    network: AwingFan, images: np.ndarray, device: str = "cpu", batch_size: int = 8
) -> np.ndarray:
    """The last stack's 98 landmark heatmaps (boundary map dropped), ``N x 98 x 64 x 64`` float32.

    Args:
        network: From :func:`metrics.fan.load_fan`.
        images: ``N x H x W x 3`` uint8 RGB images (whole images: no face detection).
        device: Where ``network`` is.
        batch_size: Images per forward pass. Each image's maps are its own (BatchNorm is in
            eval mode), but the float32 rounding of the convolutions may change with the batch
            size (about 1e-6 relative on the CPU; a batch of one equals the script bit for bit).
    """
    maps = []
    with torch.inference_mode(), ieee_float32(device):
        for start in range(0, len(images), batch_size):
            batch = network_input(images[start : start + batch_size]).to(device)
            maps.append(network(batch)[:, :-1].float().cpu().numpy())
    return np.concatenate(maps) if maps else np.zeros((0, LANDMARKS, HEATMAP_SIZE, HEATMAP_SIZE))


class PeakAtLastCell(IndexError):
    """VQFR's decoding indexes past the heatmap: the script raises ``IndexError`` on this image."""


def decode_heatmaps(heatmaps: np.ndarray) -> np.ndarray:
    """facexlib's ``calculate_points`` for ONE image: ``98 x 64 x 64`` maps to ``98 x 2`` (x, y).

    Each point is its map's argmax (first maximum in row-major order) plus 0.5, moved a quarter
    cell towards the larger neighbour along x and along y, in heatmap cells. The script runs on a
    batch of one image, so every ``any()`` below spans the 98 maps of this image only; decode the
    images of a batch one at a time. Its quirks are kept on purpose (the protocol is the script):

    1. x neighbours are the flat indices ``peak - 1`` and ``peak + 1``, so at a row end they are
       cells of the previous or next row, and at flat index 0 the left neighbour is the map's
       last cell (numpy's negative index).
    2. A peak at flat index 4095 (the last cell) makes ``peak + 1`` out of range: the script
       raises ``IndexError``; here :class:`PeakAtLastCell`.
    3. If ANY map's peak is in the last row (``peak + 64 >= 4096``), the lower neighbour of
       EVERY map is taken from flat index 4095 instead of ``peak + 64``.
    4. If ANY map's peak has ``peak - 64 <= 0`` (the first row, or flat index 64, the first
       cell of the second row), the upper neighbour of EVERY map is flat index 0.

    The literals 4095/4096 are the script's (its maps are always 64x64). The sign of each
    difference is computed on float32 maps; the points are float64.

    Raises:
        PeakAtLastCell: a map peaks at its last cell (the script fails there).

    Example:
        >>> points = decode_heatmaps(predict_heatmaps(network, images)[0])  # doctest: +SKIP
    """
    count, height, width = heatmaps.shape
    flat = heatmaps.reshape(count, height * width)
    peak = np.argmax(flat, axis=1)
    points = np.stack((peak % width, peak // width), axis=1).astype(np.float64)
    if np.any(peak + 1 >= flat.shape[1]):
        raise PeakAtLastCell(
            f"a heatmap peaks at its last cell (flat index {flat.shape[1] - 1}), where VQFR's "
            "calculate_points indexes past the map and raises IndexError"
        )
    maps = np.arange(count)
    right, left = flat[maps, peak + 1], flat[maps, peak - 1]  # quirk 1: across rows, -1 wraps
    below = flat[maps, 4095] if np.any(peak + width >= 4096) else flat[maps, peak + width]
    above = flat[maps, 0] if np.any(peak - width <= 0) else flat[maps, peak - width]
    steps = np.sign(np.stack((right - left, below - above), axis=1)) * 0.25
    return points + steps + 0.5


def landmarks_in_pixels(heatmaps: np.ndarray, width: int, height: int) -> np.ndarray:
    """``get_landmarks``' points, ``98 x 2`` (x, y) in pixels of a ``width x height`` image:
    :func:`decode_heatmaps` scaled by ``width / 64`` and ``height / 64``.

    Raises:
        PeakAtLastCell: as :func:`decode_heatmaps`.
    """
    return decode_heatmaps(heatmaps) * (width / HEATMAP_SIZE, height / HEATMAP_SIZE)


def landmark_distance(truth: np.ndarray, found: np.ndarray) -> float:
    """The script's ``get_landmark_distance``: mean Euclidean distance over the points."""
    return float(np.sqrt(((truth - found) ** 2).sum(1)).mean())


def predict_landmarks(
    network: AwingFan, images: np.ndarray, device: str = "cpu", batch_size: int = 8
) -> list[np.ndarray | PeakAtLastCell]:
    """``get_landmarks`` on each of ``N x H x W x 3`` uint8 RGB images, the network batched.

    Returns:
        Per image, its ``98 x 2`` points (x, y) in its pixels, or the :class:`PeakAtLastCell`
        error where the script's decoding fails. Each image is decoded alone, as the script
        decodes it (its ``any()`` quirks span one image).

    Example:
        >>> points = predict_landmarks(load_fan(None), quantize(batch))  # doctest: +SKIP
    """
    height, width = images.shape[1:3]
    points: list[np.ndarray | PeakAtLastCell] = []
    for maps in predict_heatmaps(network, images, device, batch_size):
        try:
            points.append(landmarks_in_pixels(maps, width, height))
        except PeakAtLastCell as exc:
            points.append(exc)
    return points
