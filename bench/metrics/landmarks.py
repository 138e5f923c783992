"""Landmark distance (``lmd.dlib``): how far the output's landmarks are from the ground truth's.

dlib's 68-point shape predictor runs on both images inside the face box that dlib's HOG detector
finds on the ground truth (the same box for both, so a badly restored face is still measured). The
value is the mean Euclidean distance over the 68 points, in pixels of a face scaled to 512 pixels
wide (``distance * 512 / width``). No face on the ground truth gives NaN with the reason. This is
not VQFR's LMD (98 FAN landmarks on the whole image); the name says the backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.contracts import PairedMetric, Scores
from bench.metrics.common import cached_network, failed, merge, quantize, size_mismatch
from bench.metrics.faces import DlibModels

if TYPE_CHECKING:
    import torch


class Lmd(PairedMetric):
    """Mean distance of dlib's 68 landmarks, output vs GT, normalised to a 512-pixel face."""

    version = 1
    description = "Landmark distance: dlib 68 points, mean L2 in pixels of a 512-wide image"
    higher_is_better = False
    tags = {"dlib": {}}
    tag_required = True

    @dataclass(frozen=True)
    class Params:
        """Attributes:
        normalize_width: Distances are scaled as if the image were this many pixels wide.
        """

        normalize_width: int = 512

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.models: DlibModels | None = None

    def config(self) -> dict[str, Any]:
        return super().config() | {
            "detector": "dlib HOG frontal face detector on the gt, upsample 1, largest face",
            "landmarks": "dlib 68-point shape predictor, same face box for output and gt",
            "distance": "mean L2 over 68 points",
        }

    def load(self, device: str = "cpu") -> None:
        self.models = cached_network(("dlib_models",), DlibModels)

    def score(self, pred: torch.Tensor, ref: torch.Tensor) -> Scores:
        problem = size_mismatch(pred, ref)
        if problem:
            return failed(len(pred), problem)
        if self.models is None:
            self.load()
        models = self.models
        values, errors = [], []
        for output, reference in zip(quantize(pred), quantize(ref), strict=True):
            value, error = self._pair(models, output, reference)
            values.append(value)
            errors.append(error)
        return merge(values, errors)

    def _pair(
        self, models: Any, output: np.ndarray, reference: np.ndarray
    ) -> tuple[float, str | None]:
        rect = models.largest_face(reference)
        if rect is None:
            return float("nan"), "no face found in the gt image"
        box = (rect.left(), rect.top(), rect.right(), rect.bottom())
        truth = models.landmarks(models.sixty_eight, reference, box)
        found = models.landmarks(models.sixty_eight, output, box)
        distance = float(np.linalg.norm(found - truth, axis=1).mean())
        return distance * self.params.normalize_width / reference.shape[1], None
