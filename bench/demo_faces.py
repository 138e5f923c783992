"""The built-in demo dataset: faces from photos that ship inside installed packages.

scikit-image's ``astronaut`` and insightface's sample photos (``insightface/data/images``) go
through the same detection and FFHQ alignment as a ``photos`` dataset (:mod:`bench.photos`); the
crops are written once under ``$DR2BENCH_HOME/cache/demo_faces`` and then read as a plain folder,
so the demo needs no data beyond the installed packages.
"""

from __future__ import annotations

from bench.contracts import Item
from bench.faces import package_file
from bench.photos import FaceCropParams, FacesFromPhotos

SOURCES = (
    ("skimage", ("data", "astronaut.png")),
    ("insightface", ("data", "images", "Tom_Hanks_54745.png")),
    ("insightface", ("data", "images", "t1.jpg")),
)


class DemoFaces(FacesFromPhotos):
    """Aligned faces from photos inside scikit-image and insightface."""

    version = 2
    description = "Demo faces: photos shipped in scikit-image and insightface, FFHQ-aligned"
    cache = "demo_faces"
    Params = FaceCropParams

    def photos(self) -> list[Item]:
        return [Item(id=parts[-1], gt=package_file(package, *parts)) for package, parts in SOURCES]
