"""The built-in demo dataset: faces from photos that ship inside installed packages.

scikit-image's ``astronaut`` and insightface's sample photos (``insightface/data/images``) are
searched with dlib's face detector; every face of at least ``min_face`` pixels is FFHQ-aligned
(:mod:`bench.faces`) to ``size`` x ``size``. The crops are written once under
``$DR2BENCH_HOME/cache/demo_faces`` and then read as a plain folder, so the demo needs no data
beyond the installed packages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.contracts import Dataset, Item
from bench.datasets import FolderDataset
from bench.files import atomic_write_text
from bench.home import cache_dir

SOURCES = (
    ("skimage", ("data", "astronaut.png")),
    ("insightface", ("data", "images", "Tom_Hanks_54745.png")),
    ("insightface", ("data", "images", "t1.jpg")),
)


class DemoFaces(Dataset):
    """Aligned faces from photos inside scikit-image and insightface."""

    version = 1
    description = "Demo faces: photos shipped in scikit-image and insightface, FFHQ-aligned"

    @dataclass(frozen=True)
    class Params:
        """Attributes:
        size: Side of the aligned crops.
        min_face: Smallest face (detector box side, in photo pixels) to keep.
        min_score: Smallest detector confidence to keep (drops the astronaut's mission patch).
        """

        size: int = 512
        min_face: int = 60
        min_score: float = 0.3

    def folder(self) -> Path:
        p = self.params
        return cache_dir() / "demo_faces" / f"v{self.version}-{p.size}-{p.min_face}-{p.min_score}"

    def items(self) -> list[Item]:
        folder = self.folder()
        if not (folder / "complete").exists():
            count = build_demo_faces(folder, self.params)
            atomic_write_text(folder / "complete", f"{count} faces\n")
        return FolderDataset(path=folder).items()


def build_demo_faces(folder: Path, params: DemoFaces.Params) -> int:
    """Detect, align and write every demo face; returns how many were written."""
    from bench.faces import DlibModels, align_face, package_file
    from bench.images import read_image, to_uint8, write_png

    models = DlibModels()
    count = 0
    for package, parts in SOURCES:
        photo = to_uint8(read_image(package_file(package, *parts)))
        rects, _, _ = models.detector.run(photo, 1, params.min_score)
        faces = [r for r in rects if min(r.width(), r.height()) >= params.min_face]
        faces.sort(key=lambda r: (r.left(), r.top()))
        for index, rect in enumerate(faces):
            box = (rect.left(), rect.top(), rect.right(), rect.bottom())
            landmarks = models.landmarks(models.sixty_eight, photo, box)
            aligned = align_face(photo, landmarks, params.size)
            write_png(folder / f"{Path(parts[-1]).stem.lower()}_{index}.png", aligned)
            count += 1
    return count
