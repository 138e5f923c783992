"""Folders that would silently change what a run counts (docs/reliability.md, round two)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from bench.cli import main
from bench.images import write_png


def _faces(folder, count=2):
    rng = np.random.default_rng(2)
    for i in range(count):
        write_png(folder / f"f{i}.png", rng.random((32, 32, 3)).astype(np.float32))
    return folder


def _config(tmp_path, faces, **fields):
    """A run config over ``faces`` (real images unless ``datasets`` says otherwise), written."""
    config = {
        "name": "mistakes",
        "datasets": [{"name": "faces", "path": str(faces), "paired": False}],
        "restorers": ["identity"],
        "output": str(tmp_path / "run"),
    } | fields
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_run_folder_inside_its_dataset_folder_is_refused(tmp_path, capsys):
    """Before: each rerun read the run's own images as new faces (2 -> 8 -> 26 -> 80 rows)."""
    faces = _faces(tmp_path / "faces")
    path = _config(tmp_path, faces, output=str(faces / "runs" / "nested"))
    assert main(["run", str(path)]) == 2
    error = capsys.readouterr().err
    assert "is inside the folder of dataset 'faces'" in error
    assert not (faces / "runs").exists()


def test_restore_into_a_folder_inside_its_input_is_refused(tmp_path, capsys):
    faces = _faces(tmp_path / "faces")
    argv = ["restore", "--restorer", "identity", "--input", str(faces),
            "--output", str(faces / "restored")]  # fmt: skip
    assert main(argv) == 2
    assert "is inside the folder of dataset" in capsys.readouterr().err
    assert sorted(p.name for p in faces.rglob("*")) == ["f0.png", "f1.png"]


def test_names_that_cannot_be_ids_become_failed_items_not_a_crash(tmp_path):
    """A name that is not UTF-8 crashed the whole run; 'a.jpg' beside 'a.png' shared outputs."""
    import os

    from bench.datasets import FolderDataset

    faces = _faces(tmp_path / "faces", count=1)
    (faces / "f0.png").rename(os.fsdecode(bytes(faces) + b"/\xffbad.png"))
    _faces(faces, count=2)  # f0.png and f1.png
    write_png(faces / "F0.jpg", np.zeros((32, 32, 3), np.float32))
    problems = {item.id: item.problem for item in FolderDataset(path=faces).items()}
    assert set(problems) == {"\\xffbad.png", "F0.jpg", "f0.png", "f1.png"}
    assert "not valid UTF-8" in problems["\\xffbad.png"]
    assert "'f0.png' and 'F0.jpg' differ only in letter case or suffix" in problems["f0.png"]
    assert problems["F0.jpg"] is problems["f1.png"] is None


def test_a_non_utf8_name_fails_its_row_and_the_run_goes_on(tmp_path, capsys):
    import os

    faces = _faces(tmp_path / "faces")
    (faces / "f0.png").rename(os.fsdecode(bytes(faces) + b"/\xffbad.png"))
    out = tmp_path / "restored"
    argv = ["restore", "--restorer", "identity", "--input", str(faces), "--output", str(out)]
    assert main(argv) == 1  # one image failed
    assert (out / "f1.png").is_file()
    said = capsys.readouterr().out + (out / "restore.log").read_text()
    assert "not valid UTF-8" in said and "InputProblem" not in said


def test_broken_links_and_gifs(tmp_path):
    """A dangling symlink is listed as left out; a GIF is read (its first frame)."""
    from PIL import Image

    from bench.datasets import FolderDataset

    faces = _faces(tmp_path / "faces", count=1)
    (faces / "gone.png").symlink_to(tmp_path / "nowhere.png")
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue")]
    frames[0].save(faces / "anim.gif", save_all=True, append_images=frames[1:])
    dataset = FolderDataset(path=faces)
    assert [item.id for item in dataset.items()] == ["anim.gif", "f0.png"]
    (note,) = dataset.skipped()
    assert note.startswith(f"{faces / 'gone.png'}: a symbolic link to nothing")


@pytest.mark.parametrize(
    ("count", "paired", "message"),
    [
        (0, False, "dataset 'faces' has no images (path: "),
        (2, True, "holds clean images to degrade, but the config lists no degradations"),
    ],
)
def test_a_grid_without_rows_is_refused(tmp_path, capsys, count, paired, message):
    """Before: an empty folder, or clean images with no chain, gave 0 rows and exit 0."""
    faces = tmp_path / "faces"
    faces.mkdir()
    _faces(faces, count)
    datasets = [{"name": "faces", "path": str(faces), "paired": paired}]
    path = _config(tmp_path, faces, datasets=datasets)
    assert main(["run", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_report_on_a_run_stopped_before_its_first_finish_says_to_finish_it(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "journal.jsonl").write_text("")  # a run killed during its first pass
    assert main(["report", str(run_dir)]) == 2
    assert "this run has not finished yet" in capsys.readouterr().err


def test_a_pickle_named_safetensors_is_a_one_line_error(tmp_path, capsys):
    import torch

    fake = tmp_path / "model.safetensors"
    torch.save({"w": torch.zeros(1)}, fake)
    faces = _faces(tmp_path / "faces")
    argv = ["restore", "--restorer", "dr2", "--set", f"weights={fake}", "--input", str(faces),
            "--output", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "not a readable safetensors file" in error and "Traceback" not in error


def test_lq_and_gt_of_different_shapes_are_not_stretched(tmp_path):
    """Before: a 48x32 LQ was stretched to its 64x64 GT and scored (PSNR 14.4)."""
    import pandas as pd

    data = tmp_path / "pairs"
    rng = np.random.default_rng(5)
    write_png(data / "gt" / "square.png", rng.random((64, 64, 3)).astype(np.float32))
    write_png(data / "lq" / "square.png", rng.random((32, 32, 3)).astype(np.float32))
    write_png(data / "gt" / "wide.png", rng.random((64, 64, 3)).astype(np.float32))
    write_png(data / "lq" / "wide.png", rng.random((32, 48, 3)).astype(np.float32))
    datasets = [{"name": "pairs", "kind": "paired", "path": str(data)}]
    path = _config(tmp_path, data, datasets=datasets, metrics=["psnr"])
    assert main(["run", str(path), "--quiet"]) == 1
    rows = pd.read_parquet(tmp_path / "run" / "records.parquet").set_index("image_id")
    assert rows.loc["square.png", "status"] == "ok"  # 32 -> 64: the same shape, resized
    assert rows.loc["wide.png", "status"] == "failed"
    assert "is 48x32 and its ground truth" in rows.loc["wide.png", "error"]
    assert "different aspect ratios" in rows.loc["wide.png", "error"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"thesis.tex": "mine"}, "is not empty and holds no dr2bench run (it holds thesis.tex)"),
        ({"manifest.json": '{"project": "theirs"}'}, "manifest.json was not written by dr2bench"),
    ],
)
def test_a_folder_that_is_not_a_run_is_refused_even_with_resume(tmp_path, capsys, files, message):
    """Before: written into silently, or '--resume' suggested, which would replace their file."""
    faces = _faces(tmp_path / "faces")
    folder = tmp_path / "theirs"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    path = _config(tmp_path, faces, output=str(folder))
    assert main(["run", str(path), "--resume"]) == 2
    assert message in capsys.readouterr().err
    assert {p.name: p.read_text() for p in folder.iterdir()} == files


def test_missing_weights_are_said_at_the_start_and_by_the_dry_run(tmp_path, capsys, isolated_home):
    faces = _faces(tmp_path / "faces")
    path = _config(tmp_path, faces, restorers=["identity", "gfpgan"], metrics=["psnr", "kid"])
    assert main(["run", str(path), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "unavailable here: gfpgan: missing weights GFPGANv1.4.pth" in printed
    assert "features kid: 0/4 cached; 2 set values" in printed  # set metrics are counted too
    main(["run", str(path), "--quiet"])
    error = capsys.readouterr().err
    assert error.startswith("dr2bench run: gfpgan cannot run here: missing weights GFPGANv1.4.pth")


def test_a_report_folder_that_cannot_be_written_is_one_line(tmp_path, capsys):
    """Root ignores permissions, so the folder is below a file: the same OSError family."""
    faces = _faces(tmp_path / "faces")
    path = _config(tmp_path, faces)
    assert main(["run", str(path), "--quiet"]) == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["report", str(tmp_path / "run"), "--out", str(blocker / "report")]) == 3
    error = capsys.readouterr().err
    assert f"cannot write {blocker}" in error and "Traceback" not in error


def test_an_unwritable_home_costs_the_cache_not_the_value(tmp_path, monkeypatch):
    """A read-only $DR2BENCH_HOME made a set metric fail; now its features are not cached."""
    from metrics.reference import folder_features

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("DR2BENCH_HOME", str(blocker / "home"))
    faces = _faces(tmp_path / "faces")
    with pytest.warns(UserWarning, match="reference features not cached"):
        features, _ = folder_features(faces, lambda batch: batch.mean(dim=(2, 3)).numpy(), {})
    assert features.shape == (2, 3)
