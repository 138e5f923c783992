"""``dr2bench degrade``: byte-identical folders, worker-count independence, replay, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bench.chains import load_chain
from bench.cli import main
from bench.datasets import DatasetError, PairedFolderDataset, read_params
from bench.files import sha256_file
from bench.images import encode_png, list_images, read_image, write_png
from bench.seeding import image_rng
from bench.testset import build_test_set, replay_test_set


@pytest.fixture
def faces(shared_data, tmp_path) -> Path:
    """Four HQ faces (one in a sub-folder) and a smaller JPEG face, in a temporary folder."""
    folder = tmp_path / "faces"
    (folder / "more").mkdir(parents=True)
    hq = list_images(shared_data / "hq")
    for path in hq[:3]:
        shutil.copy(path, folder / path.name)
    shutil.copy(hq[-1], folder / "more" / hq[-1].name)
    small = (read_image(hq[5])[::2, ::2] * 255).round().astype(np.uint8)
    from PIL import Image

    Image.fromarray(small).save(folder / "small.jpg", quality=95)
    return folder


def folder_bytes(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_two_runs_give_byte_identical_folders(faces, tmp_path):
    for name in ("first", "second"):
        build_test_set(faces, tmp_path / name, "gfpgan", 0, seed=3)
    first, second = folder_bytes(tmp_path / "first"), folder_bytes(tmp_path / "second")
    assert first == second
    assert "lq/more/" + list_images(faces / "more")[0].name in first
    assert "lq/small.png" in first and "gt/small.png" in first


@pytest.mark.slow
def test_worker_count_does_not_change_a_byte(faces, tmp_path):
    build_test_set(faces, tmp_path / "one", "unseen", 4, seed=0, workers=1)
    build_test_set(faces, tmp_path / "two", "unseen", 4, seed=0, workers=2)
    assert folder_bytes(tmp_path / "one") == folder_bytes(tmp_path / "two")


def test_output_is_a_paired_dataset_with_records_that_explain_every_lq(faces, tmp_path):
    out = tmp_path / "out"
    manifest = build_test_set(faces, out, "classic", 3, seed=5, dataset="faces")
    chain = load_chain("classic")
    records = read_params(out / "params.jsonl")
    items = PairedFolderDataset(path=out).items()
    assert [item.id for item in items] == sorted(records) and all(item.gt for item in items)
    for item in items:
        record = records[item.id]
        assert (record["chain"], record["chain_version"], record["severity"]) == ("classic", 1, 3)
        assert (record["seed"], record["dataset"]) == (5, "faces")
        rng = image_rng(5, "faces", item.id, "classic", 3)
        assert record["steps"] == chain.sample(rng, 3)
        clean = read_image(item.gt)
        assert item.lq.read_bytes() == encode_png(chain.apply(clean, record["steps"]))
    for relative, digest in manifest["files"].items():
        assert sha256_file(out / relative) == digest
    assert manifest["sizes"] == {"256x256": 1, "512x512": 4}
    assert manifest["arguments"] == {
        "input": str(faces),
        "chain": "classic",
        "severity": 3,
        "seed": 5,
        "dataset": "faces",
    }


def test_seed_changes_lq_but_not_gt(faces, tmp_path):
    build_test_set(faces, tmp_path / "a", "gfpgan", 0, seed=0)
    build_test_set(faces, tmp_path / "b", "gfpgan", 0, seed=1)
    a, b = folder_bytes(tmp_path / "a"), folder_bytes(tmp_path / "b")
    assert all(a[key] == b[key] for key in a if key.startswith("gt/"))
    assert all(a[key] != b[key] for key in a if key.startswith("lq/"))


def test_replay_rebuilds_the_same_lq_bytes(faces, tmp_path):
    build_test_set(faces, tmp_path / "out", "difface", 0, seed=2)
    manifest, mismatched = replay_test_set(tmp_path / "out" / "params.jsonl", tmp_path / "again")
    assert mismatched == [] and manifest["images"] == 5
    original, replayed = folder_bytes(tmp_path / "out"), folder_bytes(tmp_path / "again")
    for key in original:
        if key != "manifest.json":
            assert replayed[key] == original[key], key


def test_replay_reports_images_whose_params_were_edited(faces, tmp_path):
    build_test_set(faces, tmp_path / "out", "gfpgan", 0, seed=2)
    params = tmp_path / "out" / "params.jsonl"
    lines = params.read_text().splitlines()
    record = json.loads(lines[0])
    record["steps"][3]["params"]["quality"] = 5
    params.write_text("\n".join([json.dumps(record), *lines[1:]]) + "\n")
    _, mismatched = replay_test_set(params, tmp_path / "again")
    assert mismatched == [record["id"]]


def test_replay_refuses_records_of_another_chain_version(faces, tmp_path):
    build_test_set(faces, tmp_path / "out", "gfpgan", 0, seed=2)
    params = tmp_path / "out" / "params.jsonl"
    params.write_text(params.read_text().replace('"chain_version":1', '"chain_version":9'))
    with pytest.raises(DatasetError, match="recorded with chain 'gfpgan' v9"):
        replay_test_set(params, tmp_path / "again")


def test_output_folder_rules(faces, tmp_path):
    out = tmp_path / "out"
    build_test_set(faces, out, "jpeg", 1, seed=0)
    with pytest.raises(DatasetError, match="holds an earlier .* output .*--overwrite"):
        build_test_set(faces, out, "jpeg", 1, seed=0)
    before = folder_bytes(out)
    build_test_set(faces, out, "jpeg", 1, seed=0, overwrite=True)
    assert folder_bytes(out) == before
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="refusing to delete"):
        build_test_set(faces, stranger, "jpeg", 1, seed=0, overwrite=True)
    assert (stranger / "notes.txt").read_text() == "mine"


def test_an_interrupted_build_can_be_replaced(faces, tmp_path):
    """Killed before its manifest (kill -9): before, '--overwrite' refused and only rm helped."""
    out = tmp_path / "out"
    build_test_set(faces, out, "jpeg", 1, seed=0)
    before = folder_bytes(out)
    (out / "manifest.json").unlink()
    (out / "params.jsonl").unlink()
    with pytest.raises(DatasetError, match="holds an interrupted .* output .*--overwrite"):
        build_test_set(faces, out, "jpeg", 1, seed=0)
    build_test_set(faces, out, "jpeg", 1, seed=0, overwrite=True)
    assert folder_bytes(out) == before


def test_inputs_that_would_overwrite_each_other_are_refused(tmp_path):
    folder = tmp_path / "faces"
    image = np.full((64, 64, 3), 0.5, dtype=np.float32)
    write_png(folder / "a.png", image)
    (folder / "a.jpg").write_bytes((folder / "a.png").read_bytes())
    with pytest.raises(DatasetError, match="'a.jpg' and 'a.png' would both be written as 'a.png'"):
        build_test_set(folder, tmp_path / "out", "jpeg", 1, seed=0)


def test_cli_builds_and_explains_mistakes(faces, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["degrade", "--input", str(faces), "--chain", "gfpgan", "--output", str(out)]
    assert main(args) == 0
    assert "wrote 5 pairs" in capsys.readouterr().out
    ladder = [
        "degrade",
        "--input",
        str(faces),
        "--chain",
        "classic",
        "--output",
        str(tmp_path / "x"),
    ]
    assert main(ladder) == 2
    assert "has a ladder: pass --severity 1/2/3/4/5" in capsys.readouterr().err
    assert main([*args[:-1], str(tmp_path / "y"), "--severity", "2"]) == 2
    assert "use severity 0" in capsys.readouterr().err
    replay = ["degrade", "--replay", str(out / "params.jsonl"), "--output", str(tmp_path / "r")]
    assert main(replay) == 0
    assert "rebuilt 5 LQ images" in capsys.readouterr().out
