"""Landmark distance, one number per backend: ``lmd.dlib`` and ``lmd.fan`` (VQFR's LMD).

``lmd.dlib``: dlib's 68-point shape predictor runs on both images inside the face box that dlib's
HOG detector finds on the ground truth (the same box for both, so a badly restored face is still
measured). The value is the mean Euclidean distance over the 68 points, in pixels of a face scaled
to 512 pixels wide (``distance * 512 / width``). No face on the ground truth gives NaN with the
reason.

``lmd.fan``: VQFR's ``metric_paper/calculate_landmark_distance.py``. facexlib's AWing FAN
(98 WFLW landmarks, ``alignment_WFLW_4HG.pth``) runs on the WHOLE output image and the whole
ground truth, as ``FAN.get_landmarks`` does (8-bit BGR, ``cv2.resize`` to 256x256 bilinear, RGB,
/255, the last stack's heatmaps without the boundary map, ``calculate_points`` with its quirks,
scaled by ``width / 64`` and ``height / 64``), then the mean Euclidean distance over the 98 points,
in pixels of the image, with no detection and no normalisation (see :mod:`metrics.fan`
and :mod:`metrics.fan_landmarks`).
An image on which the script's decoding raises gives NaN with the reason. Each image's points are
in its own pixels, as in the script, which does not check that the two sizes agree.
``tests/metrics/test_landmarks_fan.py`` compares it with facexlib's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from bench.config import ConfigError
from bench.contracts import PairedMetric, Scores
from bench.faces import DlibModels
from metrics.common import cached_network, failed, merge, quantize, size_mismatch, weights_record

if TYPE_CHECKING:
    import torch

FAN_CONVENTIONS = {
    "protocol": "VQFR metric_paper/calculate_landmark_distance.py",
    "network": "facexlib AWing FAN(num_modules=4, num_landmarks=98), 98 WFLW landmarks",
    "weights_file": "alignment_WFLW_4HG.pth (facexlib release v0.1.0)",
    "input": "8-bit image as BGR, cv2.resize to 256x256 INTER_LINEAR, then RGB, float32 / 255",
    "decoding": "last stack's 98 heatmaps (boundary map dropped), VQFR/facexlib calculate_points "
    "per image with its quirks, scaled by width/64 and height/64",
    "region": "whole image, no detection, no normalisation",
    "distance": "mean L2 over 98 points",
    "units": "pixels of the image",
}


class Lmd(PairedMetric):
    """Mean distance between the output's and the GT's landmarks, per backend (tag required)."""

    version = 1
    description = (
        "Landmark distance: .dlib 68 points in pixels of a 512-wide face; "
        ".fan VQFR's LMD (98 FAN points, whole image, pixels)"
    )
    higher_is_better = False
    tags = {"dlib": {"backend": "dlib"}, "fan": {"backend": "fan"}}
    tag_required = True

    @dataclass(frozen=True)
    class Params:
        """Attributes:
        backend: ``dlib`` (68 points in a detected face box) or ``fan`` (VQFR's LMD).
        normalize_width: ``dlib`` only: distances are scaled as if the image were this wide.
        weights: ``fan`` only: an explicit path of ``alignment_WFLW_4HG.pth`` (else it is looked
            for in ``$DR2BENCH_HOME/weights``).
        batch_size: ``fan`` only: images per forward pass. 1 (the default) is the script bit for
            bit on the CPU; more is about 1.5x faster but changes float32 rounding by about 1e-6
            relative, which can flip a landmark's quarter-cell offset where two neighbouring
            heatmap values are that close (see ``fan_landmarks``). Not recorded in the config.
        """

        backend: Literal["dlib", "fan"] = "dlib"
        normalize_width: int = 512
        weights: Path | None = None
        batch_size: int = 1

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        if p.backend == "fan" and p.normalize_width != 512:
            raise ConfigError("lmd.fan: normalize_width does not apply (VQFR's LMD is in pixels)")
        if p.backend == "dlib" and p.weights is not None:
            raise ConfigError("lmd.dlib: weights does not apply (dlib's models are packaged)")
        if p.batch_size < 1:
            raise ConfigError(f"lmd: batch_size must be at least 1, got {p.batch_size}")
        self.models: DlibModels | None = None
        self.network: Any = None
        self.device = "cpu"

    def config(self) -> dict[str, Any]:
        if self.params.backend == "fan":
            from bench.weights import locate
            from metrics.fan import WEIGHTS

            weights = weights_record(lambda: locate(WEIGHTS, self.params.weights))
            return {"backend": "fan", "weights_sha256": weights["weights_sha256"]} | FAN_CONVENTIONS
        return {"normalize_width": self.params.normalize_width} | {  # as before lmd.fan existed
            "detector": "dlib HOG frontal face detector on the gt, upsample 1, largest face",
            "landmarks": "dlib 68-point shape predictor, same face box for output and gt",
            "distance": "mean L2 over 68 points",
        }

    def load(self, device: str = "cpu") -> None:
        self.device = device
        if self.params.backend == "dlib":
            self.models = cached_network(("dlib_models",), DlibModels)
            return
        from bench.weights import locate
        from metrics.fan import WEIGHTS, load_fan

        path = locate(WEIGHTS, self.params.weights)
        stat = path.stat()
        key = ("fan_awing_wflw98", str(path.resolve()), stat.st_size, stat.st_mtime_ns, device)
        self.network = cached_network(key, lambda: load_fan(path, device))

    def score(self, pred: torch.Tensor, ref: torch.Tensor) -> Scores:
        if self.params.backend == "fan":
            return self._score_fan(pred, ref)
        problem = size_mismatch(pred, ref)
        if problem:
            return failed(len(pred), problem)
        if self.models is None:
            self.load()
        pairs = zip(quantize(pred), quantize(ref), strict=True)
        return merge(self._pair(self.models, output, reference) for output, reference in pairs)

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

    def _score_fan(self, pred: torch.Tensor, ref: torch.Tensor) -> Scores:
        from metrics.fan_landmarks import predict_landmarks

        if len(pred) != len(ref):
            return failed(len(pred), f"{len(pred)} outputs but {len(ref)} gt images")
        if self.network is None:
            self.load(self.device)
        size = self.params.batch_size
        found = predict_landmarks(self.network, quantize(pred), self.device, size)
        truth = predict_landmarks(self.network, quantize(ref), self.device, size)
        pairs = zip(found, truth, strict=True)
        return merge(fan_distance(output, reference) for output, reference in pairs)


def fan_distance(output: Any, reference: Any) -> tuple[float, str | None]:
    """VQFR's LMD of two ``predict_landmarks`` results, or NaN naming the image that failed."""
    from metrics.fan_landmarks import landmark_distance

    if isinstance(output, Exception):
        return float("nan"), f"output image: {output}"
    if isinstance(reference, Exception):
        return float("nan"), f"gt image: {reference}"
    return landmark_distance(reference, output), None
