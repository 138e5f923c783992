"""The NTIRE 2025 challenge's face alignment: five points onto the 112x112 MTCNN reference.

The challenge's ``face_alignment/inference.py`` aligns both images of a pair with
``warp_and_crop_face(image, points, get_reference_facial_points(default_square=True),
crop_size=(112, 112))`` from ``mtcnn_pytorch/src/align_trans.py``. That is:

- the reference points: the 96x112 MTCNN template (:data:`TEMPLATE_96X112`) shifted right by 8
  pixels to centre it in 112x112 (:func:`reference_points`);
- both point sets rounded to float32, as ``np.float32(...)`` does there;
- ``matlab_cp2tform.get_similarity_transform_for_cv2(points, reference)``: a least-squares
  similarity (``cp2tform(..., 'similarity')``), which also fits a reflected similarity and keeps
  the one with the smaller residual. Its ``findSimilarity`` negates the reference x coordinates
  *in place* (``xyR = xy; xyR[:, 0] = -1 * xyR[:, 0]``) before measuring both residuals, so
  each fit is measured against the mirrored reference. :func:`similarity_matrix` keeps that, so
  the same fit is chosen. (On all 900 rows of the challenge's ``val_face.csv`` and
  ``test_face.csv`` the non-reflective fit wins either way.);
- ``cv2.warpAffine`` of the uint8 RGB image to 112x112, bilinear, black border.

The network input (:func:`network_input`) is the challenge's ``to_input``: BGR, ``((x / 255) -
0.5) / 0.5`` in float64, then float32. Tests: ``tests/metrics/test_identity_adaface.py``
(matrices and crop checksums recorded from the original functions).
"""

from __future__ import annotations

import numpy as np

ALIGNED_SIZE = 112
# mtcnn_pytorch align_trans.REFERENCE_FACIAL_POINTS for a 96x112 crop: eyes, nose, mouth corners
TEMPLATE_96X112 = np.array(
    [
        [30.29459953, 51.69630051],
        [65.53179932, 51.50139999],
        [48.02519989, 71.73660278],
        [33.54930115, 92.3655014],
        [62.72990036, 92.20410156],
    ],
    dtype=np.float64,
)
TEMPLATE_SIZE = (96, 112)  # (width, height)


class DegeneratePoints(ValueError):
    """Five points that do not determine a similarity transform (fewer than two distinct)."""


def reference_points() -> np.ndarray:
    """``get_reference_facial_points(default_square=True)``: the template centred in 112x112.

    Example:
        >>> reference_points()[0]
        array([38.29459953, 51.69630051])
    """
    width, height = TEMPLATE_SIZE
    side = max(width, height)
    return TEMPLATE_96X112 + np.array([side - width, side - height], dtype=np.float64) / 2


def _fit(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``findNonreflectiveSimilarity``: the 3x3 ``T`` with ``[u, v, 1] T ~ [x, y, 1]``.

    Solves ``u = a x + b y + c``, ``v = a y - b x + d`` (target ``(x, y)`` to source ``(u, v)``)
    by least squares in float64, then inverts, as the original does.

    Raises:
        DegeneratePoints: the system has rank under 4.
    """
    count = len(target)
    x, y = target[:, :1], target[:, 1:]
    ones, zeros = np.ones((count, 1)), np.zeros((count, 1))
    design = np.vstack([np.hstack([x, y, ones, zeros]), np.hstack([y, -x, zeros, ones])])
    values = np.vstack([source[:, :1], source[:, 1:]])
    if np.linalg.matrix_rank(design) < 4:
        raise DegeneratePoints("the five points do not determine a similarity transform")
    a, b, c, d = np.squeeze(np.linalg.lstsq(design, values, rcond=-1)[0])
    inverse = np.array([[a, -b, 0], [b, a, 0], [c, d, 1]])
    forward = np.linalg.inv(inverse)
    forward[:, 2] = np.array([0, 0, 1])
    return forward


def _apply(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``tformfwd``: points (rows ``(u, v)``) through a 3x3 transform, ``[u, v, 1] T``."""
    return np.dot(np.hstack([points, np.ones((len(points), 1))]), transform)[:, :-1]


def similarity_matrix(points: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """``get_similarity_transform_for_cv2(points, reference)``: the 2x3 matrix for warpAffine.

    Args:
        points: ``5 x 2`` (x, y) face points in the image, in pixels.
        reference: ``5 x 2`` points in the crop (default :func:`reference_points`).

    Raises:
        DegeneratePoints: the points do not determine a transform.

    Example:
        >>> bool(np.allclose(similarity_matrix(reference_points()), [[1, 0, 0], [0, 1, 0]]))
        True
    """
    source = np.asarray(points, dtype=np.float64).astype(np.float32)
    target = np.asarray(reference_points() if reference is None else reference, np.float64)
    target = target.astype(np.float32)
    direct = _fit(source, target)
    mirrored_target = target * np.array([-1, 1], dtype=np.float32)
    reflected = np.dot(_fit(source, mirrored_target), np.diag([-1, 1, 1]))
    # as findSimilarity measures both fits: against the reference mirrored in place
    direct_residual = np.linalg.norm(_apply(direct, source) - mirrored_target)
    reflected_residual = np.linalg.norm(_apply(reflected, source) - mirrored_target)
    chosen = direct if direct_residual <= reflected_residual else reflected
    return chosen[:, 0:2].T


def align(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``warp_and_crop_face``: the ``112 x 112 x 3`` uint8 crop of ``image`` (uint8 RGB).

    Raises:
        DegeneratePoints: the points do not determine a transform.
    """
    import cv2

    matrix = similarity_matrix(points)
    return cv2.warpAffine(image, matrix, (ALIGNED_SIZE, ALIGNED_SIZE))


def network_input(aligned: np.ndarray) -> np.ndarray:
    """``to_input``: ``3 x 112 x 112`` float32 BGR in ``[-1, 1]`` of an aligned uint8 RGB crop.

    Example:
        >>> network_input(np.full((112, 112, 3), 255, np.uint8))[:, 0, 0]
        array([1., 1., 1.], dtype=float32)
    """
    bgr = aligned[:, :, ::-1] / 255.0
    return np.ascontiguousarray((((bgr - 0.5) / 0.5).transpose(2, 0, 1)).astype(np.float32))
