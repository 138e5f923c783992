"""Faces cut out of ordinary photos: the ``photos`` dataset kind, and the base of the demo faces.

Every photo is searched with dlib's face detector (:mod:`bench.faces`) and each face is
FFHQ-aligned to ``size`` x ``size``. A face's id is ``<photo id without suffix>_face<k>.png``,
``k`` counting the faces the detector finds in that photo from left to right, so an id names the
same face whatever ``min_face`` and ``min_score`` (0 or more) are. A face smaller than
``min_face`` or scored below ``min_score``, a photo with no face and a photo whose name cannot be
used are listed by ``skipped()`` with the reason (the runner logs them and lists them in
``manifest.json`` and the report), never dropped silently.

The crops are written once under ``$DR2BENCH_HOME/cache/<cache>/<key>`` (the key covers the
photos' paths, sizes and modification times, and the parameters) beside ``faces.json``: every
photo, and every face found with its photo, box, detector score, the 2 x 3 affine matrix from
photo to crop pixels (:func:`bench.faces.paste_face` puts a restored face back with it) and why
it was skipped, if it was. :meth:`FacesFromPhotos.index` reads it.

Example:
    >>> dataset = PhotoFaces(path="photos", size=256)  # doctest: +SKIP
    >>> dataset.items()[0].id, dataset.index()["faces"][0]["matrix"]  # doctest: +SKIP
    ('group_face0.png', [[0.61, 0.02, -12.3], [-0.02, 0.61, -40.5]])
"""

from __future__ import annotations

import functools
import json
import logging
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from bench.contracts import Dataset, Item
from bench.datasets import DatasetError, FolderDataset
from bench.files import atomic_write_text, hash_value
from bench.home import cache_dir

log = logging.getLogger(__name__)

FACES_FILE = "faces.json"


@dataclass(frozen=True)
class FaceCropParams:
    """Attributes:
    size: Side of the aligned crops, in pixels.
    min_face: Smallest face to keep: the shorter side of the detector's box, in photo pixels.
    min_score: Smallest detector score to keep (dlib's HOG score: 0 is its own threshold; 0.3
        leaves out the astronaut's mission patch).
    paired: True for clean faces (degraded by the run, used as ground truth); False for real
        degraded faces without ground truth.
    """

    size: int = 512
    min_face: int = 60
    min_score: float = 0.3
    paired: bool = True


class FacesFromPhotos(Dataset):
    """Faces found in photos and FFHQ-aligned; a subclass says which photos."""

    cache: ClassVar[str] = "photo_faces"

    @abstractmethod
    def photos(self) -> list[Item]:
        """The photos, as items whose ``gt`` is the file (``problem`` says why one is unusable)."""

    @functools.cached_property
    def folder(self) -> Path:
        """The folder of the crops and ``faces.json``, written on first use."""
        p, photos = self.params, self.photos()
        files = [[i.id, str(i.gt), i.problem, _file_version(i.gt)] for i in photos]
        crop = [p.size, p.min_face, p.min_score]
        key = hash_value({"version": self.version, "crop": crop, "photos": files})
        folder = cache_dir() / self.cache / key[:16]
        if not (folder / FACES_FILE).exists():
            write_faces(folder, photos, p)
        return folder

    def items(self) -> list[Item]:
        return FolderDataset(path=self.folder, paired=self.params.paired).items()

    def index(self) -> dict[str, Any]:
        """``faces.json``: ``photos`` (id, path, skipped) and ``faces`` (id, photo, box, score,
        matrix, skipped), ``skipped`` being the reason or ``None``."""
        return dict(json.loads((self.folder / FACES_FILE).read_text(encoding="utf-8")))

    def skipped(self) -> list[str]:
        """The photos and faces left out of the dataset, each with the reason."""
        index = self.index()
        photos = [f"{p['path']}: {p['skipped']}" for p in index["photos"] if p["skipped"]]
        faces = [
            f"{f['photo']}: face {f['id']} left out: {f['skipped']}"
            for f in index["faces"]
            if f["skipped"]
        ]
        return photos + faces


class PhotoFaces(FacesFromPhotos):
    """The faces in a folder of photos (recursive), FFHQ-aligned."""

    description = "Faces found in a folder of photos (recursive), FFHQ-aligned; see faces.json"

    @dataclass(frozen=True, kw_only=True)
    class Params(FaceCropParams):
        """Attributes:
        path: The folder of photos. The other keys: :class:`FaceCropParams`.
        """

        path: Path

    def photos(self) -> list[Item]:
        return FolderDataset(path=self.params.path).items()

    def skipped(self) -> list[str]:
        """Files of the folder that are not images, then photos and faces left out."""
        return FolderDataset(path=self.params.path).skipped() + super().skipped()


def write_faces(folder: Path, photos: list[Item], params: FaceCropParams) -> None:
    """Detect, align and write the faces of ``photos`` into ``folder``, then ``faces.json``.

    Raises:
        DatasetError: naming a photo that cannot be read.
    """
    faces = [face for photo in photos for face in _faces_of(photo, folder, params)]
    found = {face["photo"] for face in faces}
    rows = [
        {"id": photo.id, "path": str(photo.gt), "skipped": _photo_problem(photo, found)}
        for photo in photos
    ]
    kept = sum(not face["skipped"] for face in faces)
    log.info("%d faces from %d photos aligned into %s", kept, len(photos), folder)
    atomic_write_text(folder / FACES_FILE, json.dumps({"photos": rows, "faces": faces}, indent=1))


def _file_version(path: Path | None) -> list[int] | None:
    """Size and modification time: a photo edited in place makes a new cache folder."""
    if path is None or not path.exists():
        return None
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _photo_problem(photo: Item, found: set[str]) -> str | None:
    if photo.problem:
        return photo.problem
    return None if str(photo.gt) in found else "no face found; left out of the dataset"


def _faces_of(photo: Item, folder: Path, params: FaceCropParams) -> list[dict]:
    """The records of the faces in ``photo``; the crop of each kept face is written."""
    from bench.faces import align_face, dlib_models, ffhq_transform
    from bench.images import ImageError, read_image, to_uint8, write_png

    if photo.problem or photo.gt is None:
        return []
    try:
        image = to_uint8(read_image(photo.gt))
    except ImageError as exc:
        raise DatasetError(f"{exc}; its faces cannot be found: repair or remove it") from exc
    models = dlib_models()
    stem = Path(photo.id).with_suffix("").as_posix()
    records = []
    for k, (box, score) in enumerate(models.detect(image, min(0.0, params.min_score))):
        landmarks = models.landmarks(models.sixty_eight, image, box)
        face_id = f"{stem}_face{k}.png"
        skipped = _too_weak(box, score, params)
        if skipped is None:
            write_png(folder / face_id, align_face(image, landmarks, params.size))
        matrix = ffhq_transform(landmarks, params.size).tolist()
        records.append(
            {
                "id": face_id,
                "photo": str(photo.gt),
                "box": list(box),
                "score": score,
                "matrix": matrix,
                "skipped": skipped,
            }
        )
    return records


def _too_weak(box: tuple[int, ...], score: float, params: FaceCropParams) -> str | None:
    """Why a detected face is left out, or ``None``."""
    left, top, right, bottom = box
    side = min(right - left, bottom - top)
    reasons = []
    if side < params.min_face:
        reasons.append(f"{side} px is smaller than min_face {params.min_face}")
    if score < params.min_score:
        reasons.append(f"score {score:.2f} is below min_score {params.min_score}")
    return "; ".join(reasons) or None
