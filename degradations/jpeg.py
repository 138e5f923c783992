"""JPEG compression with OpenCV's encoder (libjpeg), as the published pipelines use."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.images import to_float, to_uint8
from degradations.base import DegradationError, Field, SampledDegradation


def encode_decode(image: np.ndarray, extension: str, flag_name: str, quality: int) -> np.ndarray:
    """Round-trip an RGB float image through OpenCV's encoder for ``extension`` at ``quality``.

    The image is clipped and rounded to 8 bits (half to even, as OpenCV converts basicsr's float
    input), encoded in BGR order with OpenCV's default options, decoded, and scaled back.
    """
    import cv2

    bgr = np.ascontiguousarray(to_uint8(image)[:, :, ::-1])
    ok, buffer = cv2.imencode(extension, bgr, [int(getattr(cv2, flag_name)), int(quality)])
    if not ok:
        raise DegradationError(f"OpenCV could not encode a {bgr.shape} image as {extension}")
    decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    assert decoded is not None  # the bytes OpenCV has just encoded
    return to_float(np.ascontiguousarray(decoded[:, :, ::-1]))


class Jpeg(SampledDegradation):
    """JPEG at an integer ``quality`` (OpenCV defaults: 4:2:0 chroma subsampling, baseline).

    Equals basicsr's ``add_jpg_compression(img, quality)`` on the BGR image. Published
    pipelines draw a float quality that older OpenCV truncated; ranges here draw integers.
    """

    severities = {
        1: {"quality": 80},
        2: {"quality": 60},
        3: {"quality": 40},
        4: {"quality": 20},
        5: {"quality": 10},
    }
    version = 1
    description = "JPEG compression (OpenCV/libjpeg): integer quality 1-100"
    fields = {"quality": Field(int, 1, 100, unit="quality")}
    defaults = {"quality": [30, 95]}

    def transform(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return encode_decode(image, ".jpg", "IMWRITE_JPEG_QUALITY", params["quality"])
