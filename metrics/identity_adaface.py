"""The NTIRE 2025 Real-World Face Restoration challenge's identity check: the ``adaface`` backend.

The challenge's ``eval.py`` scores ``ID_Sim`` with ``face_alignment/inference.py``'s
``inference_face``: five facial points of the LQ input, read from a CSV it ships for its own
images (``val_face.csv``, ``test_face.csv``), align both the LQ input and the restored image
onto the 112x112 MTCNN reference (:mod:`metrics.adaface_alignment`); each crop goes, as
BGR in ``[-1, 1]``, through AdaFace's IR-50 trained on MS1MV2 (:mod:`metrics.adaface`),
and the value is the dot product of the two L2-normalised 512-d embeddings: their cosine.
``ids_input.adaface`` is that number; ``ids.adaface`` takes the points from the GT instead and
``deg.adaface`` is ``arccos`` of it in degrees (neither is reported by the challenge).

Where the five points come from is the ``landmarks`` parameter:

- ``detect`` (the default): MTCNN from PyPI ``facenet-pytorch`` 2.6.0 (its weights ship inside
  the package) with the settings of AdaFace's ``face_alignment/mtcnn.py`` (minimum face 20,
  thresholds 0.6 / 0.7 / 0.9, pyramid factor 0.85) on the reference image; the most confident face
  is used, as AdaFace's ``align`` takes the first face after its last, score-sorted NMS. No face
  gives NaN with the reason ``no face found in the input image``. facenet-pytorch's MTCNN is not
  the challenge's implementation, and the challenge's CSV points are not all MTCNN's, so the
  points, hence the values, differ from the challenge's (on the test data: up to 6-18 pixels per
  point on 512x512 faces).
- a path to a CSV in the challenge's format (``filename`` without suffix, ``left_eye_x``, ...,
  ``mouth_right_y``), with ``landmark_images``, the folder of the images it names (the
  challenge's LQ folder, searched recursively as ``eval.py`` does): the challenge's own points.
  Metrics receive pixels, not file names (:class:`bench.contracts.PairedMetric`), and a file
  name cannot honestly be recovered from a tensor; but the reference image *is* one of those
  files, so its 8-bit pixels identify it: when the metric loads, every image of the folder is
  decoded as dr2bench decodes inputs and indexed by a hash of its pixels; scoring looks the
  reference up by the same hash, then its file name up in the CSV. This keeps the contract (no
  ids passed to metrics) and works the same through ``dr2bench run`` and ``dr2bench score``. A
  reference that is not in the folder, or whose name has no row, gives NaN with the reason.

The points of the reference are scaled to the output's size when the two differ, as the other
backends do. The network runs all crops of a batch in one forward (BatchNorm in eval mode; the
challenge runs one image at a time, which moves cosines by float32 rounding only), in full float32
on a GPU. Tests: ``tests/metrics/test_identity_adaface.py`` (golden values of the challenge's own
code on real faces).
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.contracts import Unavailable
from bench.files import cached_sha256
from bench.weights import locate
from metrics.adaface_alignment import DegeneratePoints, align, network_input
from metrics.adaface_alignment import reference_points as crop_reference_points
from metrics.common import quantize, run_network, weights_record

if TYPE_CHECKING:
    import torch

WEIGHTS = "adaface_ir50_ms1mv2"
DETECT = "detect"
POINT_COLUMNS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
MTCNN_SETTINGS: dict[str, Any] = {
    "min_face_size": 20,
    "thresholds": [0.6, 0.7, 0.9],
    "factor": 0.85,
}

CONFIG: dict[str, Any] = {
    "protocol": "NTIRE 2025 Real-World Face Restoration eval.py (inference_face, ID_Sim)",
    "network": "AdaFace IR-50 (net.build_model('ir_50')), MS1MV2, 512-d, eval mode, float32",
    "reference_points": crop_reference_points().tolist(),
    "alignment": "mtcnn_pytorch warp_and_crop_face: get_similarity_transform_for_cv2 (reflective "
    "cp2tform similarity, as implemented), cv2.warpAffine bilinear, black border, 112x112",
    "input_convention": "BGR, ((x / 255) - 0.5) / 0.5 in float64, then float32",
    "similarity": "cosine of normalised embeddings (dot product of the L2-normalised embeddings, "
    "in float64)",
}


def locate_weights(explicit: str | Path | None = None) -> Path:
    """``adaface_ir50_ms1mv2.ckpt``: ``explicit`` if given, else in ``$DR2BENCH_HOME/weights``.

    Raises:
        MissingWeightsError: the file is not there; the message says where to get it and put it.
    """
    return locate(WEIGHTS, explicit)


def config(
    explicit: str | Path | None, landmarks: str, images: Path | None, reference: str
) -> dict[str, Any]:
    """What defines the value: :data:`CONFIG`, the weights and the source of the points."""
    detector: dict[str, str | None]
    if landmarks == DETECT:
        detector = {
            "detector": "facenet-pytorch 2.6.0 MTCNN, min_face_size 20, thresholds "
            "(0.6, 0.7, 0.9), factor 0.85, the most confident face",
            "alignment_policy": f"five MTCNN points of the {reference} image, scaled to the "
            "output's size, for both images",
        }
    else:
        csv_path = Path(landmarks)
        detector = {
            "detector": "none: the challenge's points from a CSV, by file name",
            "landmarks_sha256": cached_sha256(csv_path) if csv_path.is_file() else None,
            "alignment_policy": f"the CSV row of the {reference} image (found by its pixels "
            f"among the images of landmark_images), scaled to the output's size, for both images",
        }
    return CONFIG | weights_record(lambda: locate_weights(explicit)) | detector


class MtcnnPoints:
    """facenet-pytorch's MTCNN with AdaFace's settings: five points of the most confident face.

    The P-, R- and O-nets load their state dicts from inside the package with ``torch.load``,
    which defaults to ``weights_only=True`` on the torch dr2bench requires (>= 2.6).
    """

    def __init__(self, device: str) -> None:
        import torch

        try:
            from facenet_pytorch import MTCNN
        except ImportError as exc:
            raise Unavailable(
                f"landmarks 'detect' needs PyPI facenet-pytorch 2.6.0 (MTCNN): install it with "
                f"`pip install --no-deps facenet-pytorch==2.6.0` ({exc})"
            ) from exc

        self.detector = MTCNN(
            select_largest=False, device=torch.device(device), **MTCNN_SETTINGS
        ).eval()

    def __call__(self, image: np.ndarray, role: str) -> tuple[np.ndarray | None, str | None]:
        """``5 x 2`` (x, y) points of ``image`` (uint8 RGB), or ``None`` and the reason."""
        _, probabilities, points = self.detector.detect(image, landmarks=True)
        if points is None or len(points) == 0:
            return None, f"no face found in the {role} image"
        best = int(np.argmax(np.asarray(probabilities, dtype=np.float64)))
        return np.asarray(points[best], dtype=np.float64).reshape(5, 2), None


def read_points(path: Path) -> dict[str, np.ndarray]:
    """The challenge's CSV: file name (no suffix) -> ``5 x 2`` points.

    Raises:
        ValueError: the file lacks a column or holds a value that is not a number (names both).
    """
    rows: dict[str, np.ndarray] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = [f"{point}_{axis}" for point in POINT_COLUMNS for axis in "xy"]
        missing = [c for c in ["filename", *columns] if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: not the challenge's landmark CSV: no column '{missing[0]}'")
        for line, row in enumerate(reader, start=2):
            try:
                values = [float(row[column]) for column in columns]
            except (TypeError, ValueError):
                raise ValueError(f"{path}, line {line}: a point is not a number") from None
            rows.setdefault(row["filename"], np.array(values).reshape(5, 2))
    return rows


def pixel_key(image: np.ndarray) -> bytes:
    """A hash of a uint8 image's pixels and shape: how a reference image is recognised."""
    return hashlib.sha256(str(image.shape).encode() + image.tobytes()).digest()


class CsvPoints:
    """The challenge's points: the reference image found by its pixels, then its CSV row."""

    def __init__(self, path: Path, images: Path) -> None:
        from bench.images import list_images, read_image, to_uint8

        if not path.is_file():
            raise FileNotFoundError(f"landmark CSV {path} does not exist")
        if not images.is_dir():
            raise FileNotFoundError(f"landmark_images folder {images} does not exist")
        self.path, self.images = path, images
        self.rows = read_points(path)
        self.names: dict[bytes, set[str]] = {}
        for file in list_images(images):
            key = pixel_key(to_uint8(read_image(file)))
            self.names.setdefault(key, set()).add(file.name.split(".")[0])

    def __call__(self, image: np.ndarray, role: str) -> tuple[np.ndarray | None, str | None]:
        """The CSV points of the image with ``image``'s pixels, or ``None`` and the reason."""
        names = sorted(self.names.get(pixel_key(image), ()))
        if not names:
            return None, f"the {role} image is not one of the images in {self.images}"
        found = [self.rows[name] for name in names if name in self.rows]
        if not found:
            return None, f"no row for '{names[0]}' in {self.path}"
        if any(not np.array_equal(points, found[0]) for points in found[1:]):
            listed = ", ".join(names)
            return None, f"the {role} image is in {self.images} as {listed}, with other points"
        return found[0], None


class AdafaceIdentity:
    """The network, the source of points and the challenge's preprocessing, for a device."""

    def __init__(
        self, weights: Path, device: str, landmarks: str, images: Path | None = None
    ) -> None:
        from metrics.adaface import load_network

        self.device = device
        self.network = load_network(weights, device)
        if landmarks == DETECT:
            self.points: MtcnnPoints | CsvPoints = MtcnnPoints(device)
        else:
            if images is None:
                raise ValueError("a landmark CSV needs landmark_images, the folder it names")
            self.points = CsvPoints(Path(landmarks), Path(images))

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """``N x 512`` normalised float32 embeddings of aligned uint8 RGB crops, in one forward."""
        batch = np.stack([network_input(crop) for crop in crops])
        return run_network(self.network, batch, self.device)

    def cosines(
        self, pred: torch.Tensor, ref: torch.Tensor, role: str
    ) -> tuple[list[float], list[str | None]]:
        """Each output's cosine with its reference; NaN and the reason where no points."""
        values: list[float] = [float("nan")] * len(pred)
        errors: list[str | None] = [None] * len(pred)
        crops, scored = [], []
        for index, (output, reference) in enumerate(
            zip(quantize(pred), quantize(ref), strict=True)
        ):
            points, errors[index] = self.points(reference, role)
            if points is None:
                continue
            (ref_h, ref_w), (out_h, out_w) = reference.shape[:2], output.shape[:2]
            try:
                pair = [
                    align(output, points * [out_w / ref_w, out_h / ref_h]),
                    align(reference, points),
                ]
            except DegeneratePoints as exc:
                errors[index] = f"{exc} (points of the {role} image)"
                continue
            crops += pair
            scored.append(index)
        if crops:
            embeddings = self.embed(crops).astype(np.float64)
            for number, index in enumerate(scored):
                values[index] = float(np.dot(embeddings[2 * number], embeddings[2 * number + 1]))
        return values, errors
