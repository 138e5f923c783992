"""The ``photos`` dataset kind, on photos that ship inside installed packages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from bench.cli import main
from bench.datasets import DatasetError
from bench.faces import DlibModels, dlib_models, package_file
from bench.images import read_image, to_uint8, write_png
from bench.registry import DATASETS

PHOTOS = {
    "astronaut.png": ("skimage", "data", "astronaut.png"),
    "t1.jpg": ("insightface", "data", "images", "t1.jpg"),
    "Tom_Hanks_54745.png": ("insightface", "data", "images", "Tom_Hanks_54745.png"),
}
# where FFHQ alignment puts the eye centres, as fractions of the crop's side
FFHQ_EYES = np.array([[0.375, 0.475], [0.625, 0.475]])


def copy_photos(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True)
    for name in names:
        shutil.copy(package_file(*PHOTOS[name]), folder / name)
    return folder


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """All three photos and a note, with a dr2bench home of their own for the module."""
    root = tmp_path_factory.mktemp("photos")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DR2BENCH_HOME", str(root / "home"))
        folder = copy_photos(root / "photos", *PHOTOS)
        (folder / "notes.txt").write_text("not a photo")
        yield folder


def eyes(models: DlibModels, crop: np.ndarray) -> np.ndarray:
    """The centres of the left and right eye found by dlib on an aligned crop, as fractions."""
    rect = models.largest_face(crop)
    box = (rect.left(), rect.top(), rect.right(), rect.bottom())
    points = models.landmarks(models.sixty_eight, crop, box)
    return np.array([points[36:42].mean(axis=0), points[42:48].mean(axis=0)]) / len(crop)


@pytest.mark.slow
def test_faces_are_aligned_ffhq_style_and_recorded(photos):
    dataset = DATASETS.create("photos", path=str(photos), size=256)
    items = dataset.items()
    t1 = [f"t1_face{k}.png" for k in range(6)]
    assert [i.id for i in items] == ["Tom_Hanks_54745_face0.png", "astronaut_face1.png", *t1]
    assert all(i.gt is not None and i.lq is None for i in items)
    crops = {i.id: to_uint8(read_image(i.gt)) for i in items}
    assert {crop.shape for crop in crops.values()} == {(256, 256, 3)}
    models = dlib_models()
    for name in ("astronaut_face1.png", "Tom_Hanks_54745_face0.png"):  # frontal faces
        assert np.abs(eyes(models, crops[name]) - FFHQ_EYES).max() < 0.02, name
    for name in t1:  # some turn their heads: their eyes move off FFHQ's spots, not their midpoint
        assert np.abs(eyes(models, crops[name]).mean(axis=0) - FFHQ_EYES.mean(axis=0)).max() < 0.03
    records = {face["id"]: face for face in dataset.index()["faces"]}
    for name, crop in crops.items():
        record = records[name]
        assert record["skipped"] is None and record["score"] >= 0.3
        assert Path(record["photo"]).parent == photos
        photo = to_uint8(read_image(record["photo"]))
        warped = cv2.warpAffine(photo, np.array(record["matrix"]), (256, 256), flags=cv2.INTER_AREA)
        assert np.abs(warped[30:-30, 30:-30].astype(float) - crop[30:-30, 30:-30]).mean() < 3
    assert dataset.skipped() == [
        f"{photos / 'notes.txt'}: not an image file (suffix '.txt'); left out of the dataset",
        f"{photos / 'astronaut.png'}: face astronaut_face0.png left out: "
        "score 0.12 is below min_score 0.3",
    ]
    assert [i.id for i in DATASETS.create("photos", path=photos, size=256).items()] == list(crops)


def test_small_faces_and_photos_without_faces_are_listed_with_the_reason(tmp_path, isolated_home):
    folder = copy_photos(tmp_path / "photos", "astronaut.png")
    write_png(folder / "wall.png", np.full((200, 300, 3), 128, np.uint8))
    strict = DATASETS.create("photos", path=folder, min_face=100, min_score=0)
    assert strict.items() == []
    assert strict.skipped() == [
        f"{folder / 'wall.png'}: no face found; left out of the dataset",
        f"{folder / 'astronaut.png'}: face astronaut_face0.png left out: "
        "89 px is smaller than min_face 100",
        f"{folder / 'astronaut.png'}: face astronaut_face1.png left out: "
        "90 px is smaller than min_face 100",
    ]
    loose = DATASETS.create("photos", path=folder, size=64, min_score=0)
    assert [i.id for i in loose.items()] == ["astronaut_face0.png", "astronaut_face1.png"]
    boxes = [[face["box"] for face in d.index()["faces"]] for d in (strict, loose)]
    assert boxes[0] == boxes[1]  # an id names the same face whatever the thresholds


def test_an_unreadable_photo_is_named(tmp_path, isolated_home):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    dataset = DATASETS.create("photos", path=folder)
    with pytest.raises(DatasetError, match="broken.jpg: not a readable image file; its faces"):
        dataset.items()


@pytest.mark.slow
def test_a_run_over_photos_records_the_faces(photos, tmp_path):
    config = tmp_path / "run.yaml"
    dataset = {"name": "group", "kind": "photos", "path": str(photos), "size": 256, "paired": False}
    config.write_text(
        yaml.safe_dump(
            {
                "name": "photos",
                "datasets": [dataset],
                "restorers": ["identity"],
                "metrics": ["niqe"],
                "output": str(tmp_path / "run"),
                "limit": 3,
            }
        )
    )
    assert main(["run", str(config), "--quiet"]) == 0
    import pandas as pd

    records = pd.read_parquet(tmp_path / "run" / "records.parquet")
    expected = ["Tom_Hanks_54745_face0.png", "astronaut_face1.png", "t1_face0.png"]
    assert sorted(records["image_id"]) == expected
    assert (records["status"] == "ok").all() and records["niqe"].notna().all()
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert any("astronaut_face0.png left out" in n for n in manifest["skipped"]["files"]["group"])
