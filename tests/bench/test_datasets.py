from __future__ import annotations

import json

import numpy as np
import pytest

from bench.datasets import (
    DatasetError,
    FolderDataset,
    PairedFolderDataset,
    read_params,
    write_params,
)
from bench.images import write_png
from bench.registry import DATASETS


def _image(path, value=0):
    write_png(path, np.full((32, 32, 3), value, np.uint8))


def test_folder_dataset_ids_are_relative_sorted(tmp_path):
    for rel in ["z.png", "sub/a.png", "b.jpg"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        _image(tmp_path / rel)
    items = FolderDataset(path=tmp_path).items()
    assert [i.id for i in items] == ["b.jpg", "sub/a.png", "z.png"]
    assert items[0].gt == tmp_path / "b.jpg" and items[0].lq is None
    real = FolderDataset(path=tmp_path, paired=False).items()
    assert real[0].lq == tmp_path / "b.jpg" and real[0].gt is None


def test_folder_dataset_from_registry(tmp_path):
    _image(tmp_path / "a.png")
    dataset = DATASETS.create("folder", path=str(tmp_path))
    assert [i.id for i in dataset.items()] == ["a.png"]


def test_case_folded_duplicates_are_flagged(tmp_path):
    _image(tmp_path / "Face.png")
    _image(tmp_path / "face.png")
    items = FolderDataset(path=tmp_path).items()
    assert [i.id for i in items] == ["Face.png", "face.png"]
    assert items[0].problem is None
    assert "id 'face.png' and 'Face.png' differ only in letter case" in items[1].problem


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="not a folder"):
        FolderDataset(path=tmp_path / "nope").items()


def test_paired_dataset_matches_by_relative_path(tmp_path):
    for rel in ["lq/a.png", "lq/b.png", "lq/sub/c.png", "gt/a.png", "gt/sub/c.jpg", "gt/extra.png"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        _image(tmp_path / rel)
    dataset = PairedFolderDataset(path=tmp_path)
    items = {i.id: i for i in dataset.items()}
    assert items["a.png"].gt == tmp_path / "gt/a.png"
    assert items["b.png"].gt is None  # missing pair: kept, so the runner records it
    assert "no ground truth for" in items["b.png"].problem
    assert items["a.png"].problem is None
    assert items["sub/c.png"].gt == tmp_path / "gt/sub/c.jpg"
    assert dataset.unmatched_gt() == ["extra.png"]
    explicit = PairedFolderDataset(lq=tmp_path / "lq", gt=tmp_path / "gt")
    assert [i.id for i in explicit.items()] == list(items)


def test_paired_dataset_needs_folders():
    with pytest.raises(DatasetError, match="needs 'path'"):
        PairedFolderDataset(lq="x").items()


def _record(id_, **extra):
    return {
        "id": id_,
        "chain": "gfpgan",
        "chain_version": 1,
        "severity": None,
        "seed": 0,
        "steps": [{"name": "jpeg", "version": 1, "params": {"quality": 70}}],
    } | extra


def test_params_round_trip(tmp_path):
    path = tmp_path / "params.jsonl"
    write_params(path, [_record("b.png"), _record("a.png")])
    lines = path.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a.png", "b.png"]
    assert read_params(path)["b.png"] == _record("b.png")


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("{not json", "params.jsonl:2: not valid JSON"),
        ("[1, 2]", "params.jsonl:2: expected a JSON object"),
        ('{"id": "x.png"}', "params.jsonl:2: missing keys chain"),
        (json.dumps(_record("a.png")), "params.jsonl:2: duplicate id 'a.png'"),
        (json.dumps(_record("")), "'id' must be a non-empty string"),
        (json.dumps(_record("c.png", steps={})), "'steps' must be a list"),
    ],
)
def test_params_errors_name_file_and_line(tmp_path, line, pattern):
    path = tmp_path / "params.jsonl"
    path.write_text(json.dumps(_record("a.png")) + "\n" + line + "\n")
    with pytest.raises(DatasetError, match=pattern):
        read_params(path)
