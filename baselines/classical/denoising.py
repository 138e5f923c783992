"""Denoising baselines from OpenCV: ``bilateral`` and ``nlmeans`` (non-local means)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from baselines.classical.base import PerImageRestorer, PositiveParams, check_positive


class Bilateral(PerImageRestorer):
    """OpenCV's bilateral filter (``cv2.bilateralFilter``) on the float32 image.

    Each pixel becomes a weighted mean of the pixels in a disc of diameter ``diameter``; a
    neighbour's weight is ``exp(-d^2 / (2 sigma_space^2)) * exp(-c^2 / (2 sigma_color^2))``
    with ``d`` its distance in pixels and ``c`` the colour distance, which OpenCV takes as the
    sum of the absolute differences of the three channels (not the Euclidean distance).
    """

    version = 1
    description = "OpenCV bilateral filter: edge-preserving smoothing"

    @dataclass(frozen=True)
    class Params(PositiveParams):
        """Attributes:
        diameter: Diameter of the neighbourhood in pixels (a disc of radius ``diameter // 2``).
        sigma_color: Colour scale, in the units of [0, 1] intensities (0.1 is 25.5 levels).
        sigma_space: Spatial scale in pixels.
        """

        diameter: int = 9
        sigma_color: float = 0.1
        sigma_space: float = 3.0

    def restore_image(self, image: np.ndarray) -> np.ndarray:
        """Filter one image."""
        import cv2

        p = self.params
        return cv2.bilateralFilter(
            np.ascontiguousarray(image, dtype=np.float32),
            p.diameter,
            p.sigma_color,
            p.sigma_space,
            borderType=cv2.BORDER_REFLECT,
        )


class NonLocalMeans(PerImageRestorer):
    """OpenCV's non-local means for colour images (``cv2.fastNlMeansDenoisingColored``).

    OpenCV's colour variant works on 8-bit images: the input is quantised to 8 bits (as
    :func:`bench.images.to_uint8` does), denoised in CIELAB (``h`` for lightness, ``h_color``
    for the colour channels) and converted back, so outputs are multiples of 1/255.
    """

    version = 1
    description = "OpenCV non-local means denoising (colour, 8-bit)"

    @dataclass(frozen=True)
    class Params:
        """Attributes:
        h: Filter strength for lightness, in 8-bit levels (larger removes more noise and detail).
        h_color: Filter strength for the colour channels, in 8-bit levels.
        template_window: Side of the patches compared, in pixels (odd).
        search_window: Side of the window searched for similar patches, in pixels (odd).
        """

        h: float = 10.0
        h_color: float = 10.0
        template_window: int = 7
        search_window: int = 21

        def __post_init__(self) -> None:
            check_positive(h=self.h, h_color=self.h_color)
            for name in ("template_window", "search_window"):
                side = getattr(self, name)
                if side < 1 or side % 2 == 0:
                    raise ValueError(f"{name} must be a positive odd number, got {side}")

    def restore_image(self, image: np.ndarray) -> np.ndarray:
        """Denoise one image."""
        import cv2

        from bench.images import to_float, to_uint8

        p = self.params
        bgr = np.ascontiguousarray(to_uint8(image)[..., ::-1])
        denoised = cv2.fastNlMeansDenoisingColored(
            bgr, None, p.h, p.h_color, p.template_window, p.search_window
        )
        return to_float(np.ascontiguousarray(denoised[..., ::-1]))
