"""Identity: cosine similarity (``ids``, ``ids_input``) and angle (``deg``) of face embeddings.

The face is found on the reference image (the ground truth for ``ids`` and ``deg``, the degraded
input for ``ids_input`` on unpaired real sets) and the same alignment is applied to the output, so
a badly restored face is still scored rather than dropped. A reference without a detectable face
gives NaN with the reason, counted as a failure. ``deg`` is the angle between the embeddings in
degrees, ``arccos(cosine)``.

Each backend gives a different number, so a name always says its backend (the bare names are
refused): ``ids.dlib``, ``ids.sface``, ``ids.arcface``, ``deg.dlib``, ... (see
:mod:`metrics.embeddings`); the backend is recorded in ``config()``. None of these is VQFR's
"Deg.", which embeds the whole grey image without detection: that is the ``vqfr`` backend
(``deg.vqfr``, ``ids.vqfr``, ``ids_input.vqfr``; see :mod:`metrics.identity_vqfr`). The
NTIRE 2025 Real-World Face Restoration challenge's ``ID_Sim`` is ``ids_input.adaface`` (AdaFace
IR-50, five points detected or read from the challenge's CSV; see
:mod:`metrics.identity_adaface`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from bench.config import ConfigError
from bench.contracts import PairedMetric, Scores
from metrics import identity_adaface, identity_vqfr
from metrics.common import cached_network, merge, quantize
from metrics.embeddings import FaceBackend, make_backend

if TYPE_CHECKING:
    import torch

YUNET = {
    "detector": "YuNet 2023mar (int8bq), score >= 0.6, largest face",
    "landmarks": "YuNet 5 points",
    "alignment": "similarity transform onto the 112x112 ArcFace template, bilinear",
}
BACKENDS = {
    "dlib": {
        "detector": "dlib HOG frontal face detector, upsample 1",
        "landmarks": "dlib 5-point shape predictor",
        "alignment": "dlib face chip 150x150, padding 0.25",
        "recogniser": "dlib_face_recognition_resnet_model_v1 (128-D)",
    },
    "sface": YUNET | {"recogniser": "SFace 2021dec int8bq (128-D), RGB 0..255"},
    "arcface": YUNET
    | {"recogniser": "insightface w600k_r50.onnx (512-D), RGB (x - 127.5) / 127.5"},
}


@dataclass(frozen=True)
class IdentityParams:
    """Attributes:
    backend: ``dlib`` (offline default), ``sface``, ``arcface`` (needs ``w600k_r50.onnx``),
        ``vqfr`` (VQFR's script; needs ``resnet18_110.pth`` or ``arcface_resnet18.pth``) or
        ``adaface`` (the NTIRE 2025 challenge's; needs ``adaface_ir50_ms1mv2.ckpt``).
    arcface_weights: An explicit path of ``w600k_r50.onnx`` (else the weights folder is searched).
    weights: For ``vqfr``: an explicit path of the ArcFace ResNet-18 file (else the weights
        folder is searched for either name); for ``adaface``: of ``adaface_ir50_ms1mv2.ckpt``.
    landmarks: For ``adaface``: ``detect`` (MTCNN on the reference image) or the path of a CSV
        of five points per file name in the challenge's format (``val_face.csv``).
    landmark_images: For ``adaface`` with a CSV: the folder of the images it names.
    """

    backend: Literal["dlib", "sface", "arcface", "vqfr", "adaface"] = "dlib"
    arcface_weights: Path | None = None
    weights: Path | None = None
    landmarks: str = identity_adaface.DETECT
    landmark_images: Path | None = None


class _IdentityMetric(PairedMetric):
    Params = IdentityParams
    tags = {name: {"backend": name} for name in (*BACKENDS, "vqfr", "adaface")}
    tag_required = True
    units = "cosine"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        if p.weights is not None and p.backend not in ("vqfr", "adaface"):
            raise ConfigError(
                f"{type(self).__name__}: parameter 'weights' is for backend vqfr or adaface, "
                f"not {p.backend} (backend arcface takes 'arcface_weights')"
            )
        if p.backend != "adaface" and (p.landmarks != "detect" or p.landmark_images is not None):
            raise ConfigError(
                f"{type(self).__name__}: parameters 'landmarks' and 'landmark_images' are for "
                f"backend adaface, not {p.backend}"
            )
        if p.backend == "adaface" and (p.landmarks == "detect") != (p.landmark_images is None):
            raise ConfigError(
                f"{type(self).__name__}: a landmark CSV needs 'landmark_images' (the folder of "
                "the images it names), and 'landmark_images' needs a CSV in 'landmarks'"
            )
        self.backend: (
            FaceBackend | identity_vqfr.VqfrIdentity | identity_adaface.AdafaceIdentity | None
        ) = None
        self.device = "cpu"

    def config(self) -> dict[str, Any]:
        params = super().config()
        p = self.params
        if p.backend == "adaface":
            del params["arcface_weights"]
            extra = identity_adaface.config(
                p.weights, p.landmarks, p.landmark_images, self.reference
            )
            return params | extra | {"units": self.units}
        del params["landmarks"], params["landmark_images"]  # as recorded before they existed
        if p.backend == "vqfr":
            del params["arcface_weights"]
            return params | identity_vqfr.config(p.weights) | {"units": self.units}
        del params["weights"]  # the other backends record what they did before it existed
        policy = (
            f"face found on the {self.reference} image, the same alignment applied to the output"
        )
        return params | BACKENDS[p.backend] | {"units": self.units, "alignment_policy": policy}

    def load(self, device: str = "cpu") -> None:
        p = self.params
        self.device = device
        if p.backend == "adaface":
            path = identity_adaface.locate_weights(p.weights)
            key = ("adaface", str(path), device, p.landmarks, str(p.landmark_images))
            args = (path, device, p.landmarks, p.landmark_images)
            self.backend = cached_network(key, lambda: identity_adaface.AdafaceIdentity(*args))
        elif p.backend == "vqfr":
            path = identity_vqfr.locate_weights(p.weights)
            self.backend = cached_network(
                ("arcface18", str(path), device), lambda: identity_vqfr.VqfrIdentity(path, device)
            )
        else:
            self.backend = cached_network(
                ("faces", p.backend, str(p.arcface_weights), device),
                lambda: make_backend(p.backend, device, p.arcface_weights),
            )

    def score(self, pred: torch.Tensor, ref: torch.Tensor) -> Scores:
        if self.backend is None:
            self.load(self.device)
        backend = self.backend
        if isinstance(backend, identity_vqfr.VqfrIdentity):
            return Scores.ok([self.transform(c) for c in backend.cosines(pred, ref)])
        if isinstance(backend, identity_adaface.AdafaceIdentity):
            cosines, errors = backend.cosines(pred, ref, self.reference)
            return merge(zip(map(self.transform, cosines), errors, strict=True))
        pairs = zip(quantize(pred), quantize(ref), strict=True)
        return merge(self._pair(backend, output, reference) for output, reference in pairs)

    def _pair(
        self, backend: Any, output: np.ndarray, reference: np.ndarray
    ) -> tuple[float, str | None]:
        face, reference_embedding = backend.reference(reference)
        if face is None or reference_embedding is None:
            return float("nan"), f"no face found in the {self.reference} image"
        (ref_h, ref_w), (out_h, out_w) = reference.shape[:2], output.shape[:2]
        aligned = face.scaled(out_w / ref_w, out_h / ref_h)
        cosine = _cosine(backend.embed(output, aligned), reference_embedding)
        return self.transform(cosine), None

    def transform(self, cosine: float) -> float:
        """The metric from the cosine similarity."""
        return cosine


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norms) if norms > 0 else float("nan")


class Ids(_IdentityMetric):
    """Cosine similarity of the output's and the ground truth's face embeddings."""

    version = 1
    description = "Identity: cosine similarity of face embeddings, output vs GT, per backend"
    higher_is_better = True


class IdsInput(_IdentityMetric):
    """Cosine similarity of the output's and the degraded input's embeddings (unpaired sets)."""

    version = 1
    description = "Identity vs the LQ input: cosine similarity, for real sets without GT"
    higher_is_better = True
    reference = "input"


class Deg(_IdentityMetric):
    """Angle in degrees between the output's and the ground truth's embeddings."""

    version = 1
    description = "Identity angle in degrees, arccos of the embedding cosine, per backend"
    higher_is_better = False
    units = "degrees"

    def config(self) -> dict[str, Any]:
        summary = identity_vqfr.SUMMARY if self.params.backend == "vqfr" else {}
        return super().config() | summary

    def transform(self, cosine: float) -> float:
        return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))
