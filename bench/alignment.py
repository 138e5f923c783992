"""FFHQ-style face alignment from dlib's 68 landmarks.

The crop is the oriented square the FFHQ dataset was made with: centred a little below the eyes,
rotated so the eyes are level, with a side set by the eye distance and the eye-to-mouth distance.
Pixels outside the photo are filled by reflection, and the square is resampled with 4x
supersampling, so small faces come out smooth.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SUPERSAMPLE = 4


def ffhq_quad(landmarks: np.ndarray) -> np.ndarray:
    """The 4 corners (x, y) of the FFHQ crop for 68 dlib landmarks, in the order PIL's QUAD uses.

    Example:
        >>> quad = ffhq_quad(np.random.default_rng(0).uniform(100, 200, (68, 2)))
        >>> quad.shape
        (4, 2)
    """
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (68, 2):
        raise ValueError(f"expected 68 x 2 landmarks, got {points.shape}")
    eye_left, eye_right = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    eye_mid, eye_span = (eye_left + eye_right) / 2, eye_right - eye_left
    mouth_mid = (points[48] + points[54]) / 2
    eye_to_mouth = mouth_mid - eye_mid
    axis = eye_span - np.flipud(eye_to_mouth) * [-1, 1]
    axis /= np.hypot(*axis)
    axis *= max(np.hypot(*eye_span) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    normal = np.flipud(axis) * [-1, 1]
    centre = eye_mid + eye_to_mouth * 0.1
    return np.stack(
        [
            centre - axis - normal,
            centre - axis + normal,
            centre + axis + normal,
            centre + axis - normal,
        ]
    )


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = 512) -> np.ndarray:
    """The FFHQ-aligned ``size x size`` crop of a uint8 ``H x W x 3`` image."""
    quad = ffhq_quad(landmarks)
    pad = (
        int(
            np.ceil(
                max(
                    0.0,
                    -quad.min(),
                    (quad[:, 0] - image.shape[1]).max(),
                    (quad[:, 1] - image.shape[0]).max(),
                )
            )
        )
        + 2
    )
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    big = size * SUPERSAMPLE
    crop = Image.fromarray(padded).transform(
        (big, big), Image.Transform.QUAD, tuple((quad + pad).flatten()), Image.Resampling.BILINEAR
    )
    return np.asarray(crop.resize((size, size), Image.Resampling.LANCZOS))
