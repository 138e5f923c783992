"""The dataset contract, checked for every registered dataset (generated from the registry).

A dataset that needs parameters gets an example here (a folder of images); one this suite has
no example for is skipped with the reason. What is checked is what the runner relies on: items
sorted by unique, relative POSIX ids, each with an image file or the reason it cannot be used,
and the same items twice.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pytest

from bench.config import ConfigError
from bench.contracts import Dataset, Unavailable
from bench.faces import package_file
from bench.images import write_png
from bench.registry import DATASETS


def _write_faces(folder: Path, names: list[str]) -> None:
    rng = np.random.default_rng(3)
    for name in names:
        write_png(folder / name, rng.random((16, 16, 3)).astype(np.float32))


def _folder(tmp_path: Path) -> dict[str, Any]:
    _write_faces(tmp_path / "faces", ["b.png", "a/c.png", "a/d.png"])
    return {"path": str(tmp_path / "faces")}


def _paired(tmp_path: Path) -> dict[str, Any]:
    _write_faces(tmp_path / "pairs" / "lq", ["x.png", "y/z.png", "only_lq.png"])
    _write_faces(tmp_path / "pairs" / "gt", ["x.png", "y/z.png"])
    return {"path": str(tmp_path / "pairs")}


def _photos(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "photos").mkdir()
    shutil.copy(package_file("skimage", "data", "astronaut.png"), tmp_path / "photos")
    return {"path": str(tmp_path / "photos"), "size": 64}


EXAMPLES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "folder": _folder,
    "paired": _paired,
    "photos": _photos,
}


@pytest.fixture(params=DATASETS.names())
def dataset(request, tmp_path) -> Dataset:
    name = request.param
    if name == "photos":  # its crops go to the cache of a home of its own
        request.getfixturevalue("isolated_home")
    params = EXAMPLES[name](tmp_path) if name in EXAMPLES else {}
    try:
        return DATASETS.create(name, **params)
    except (ConfigError, TypeError) as exc:
        pytest.skip(f"{name} needs parameters this suite has no example for: {exc}")
    except Unavailable as exc:
        pytest.skip(f"{name} is unavailable here: {exc}")


def test_items_are_sorted_unique_relative_and_usable(dataset):
    items = dataset.items()
    assert items, "an example dataset with images gives items"
    ids = [item.id for item in items]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for item in items:
        path = PurePosixPath(item.id)
        assert not path.is_absolute() and ".." not in path.parts and "\\" not in item.id
        files = [p for p in (item.lq, item.gt) if p is not None]
        assert item.problem or (files and all(Path(p).is_file() for p in files)), item


def test_items_are_the_same_twice(dataset):
    assert dataset.items() == dataset.items()
