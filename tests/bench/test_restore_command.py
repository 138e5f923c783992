"""``dr2bench restore``: a restorer over a folder, outputs, failures, parameters from --set."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.cli import main
from bench.commands.restore import parse_settings
from bench.config import ConfigError
from bench.contracts import Restorer
from bench.images import read_image, write_png
from bench.registry import RESTORERS

SCRIPT = Path(__file__).resolve().parents[1] / "baselines" / "fake_inference.py"


@pytest.fixture
def faces(tmp_path, rng) -> Path:
    """Four small images: two sizes, a subfolder, a JPEG."""
    from PIL import Image

    root = tmp_path / "in"
    write_png(root / "a.png", rng.random((40, 48, 3), dtype=np.float32))
    write_png(root / "sub" / "b.png", rng.random((40, 48, 3), dtype=np.float32))
    write_png(root / "c.png", rng.random((64, 64, 3), dtype=np.float32))
    pixels = (rng.random((40, 48, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(root / "sub" / "d.jpg", quality=90)
    return root


def test_identity_writes_the_inputs_byte_stable(faces, tmp_path, capsys):
    for run in ("one", "two"):
        assert main(["restore", "--restorer", "identity", "--input", str(faces),
                     "--output", str(tmp_path / run), "--batch-size", "2"]) == 0  # fmt: skip
    names = ["a.png", "c.png", "sub/b.png", "sub/d.png"]
    for name in names:
        first, second = tmp_path / "one" / name, tmp_path / "two" / name
        assert first.read_bytes() == second.read_bytes()
        source = next(faces.glob(str(Path(name).with_suffix(".*"))))
        np.testing.assert_array_equal(read_image(first), read_image(source))
    report = json.loads((tmp_path / "one" / "restore.json").read_text())
    assert report["restorer"] == "identity" and report["version"] == 1
    assert report["images"] == 4 and report["restored"] == 4 and report["failures"] == {}
    assert report["params"] == {"size": None}
    assert "restored 4 of 4 images" in capsys.readouterr().out


def test_identity_with_an_output_size(faces, tmp_path):
    out = tmp_path / "out"
    assert main(["restore", "--restorer", "identity", "--set", "size=96", "--input", str(faces),
                 "--output", str(out)]) == 0  # fmt: skip
    assert read_image(out / "a.png").shape == (80, 96, 3)
    assert read_image(out / "c.png").shape == (96, 96, 3)


def test_set_goes_through_parameter_validation(faces, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["restore", "--restorer", "nlmeans", "--input", str(faces), "--output", str(out)]
    assert main([*args, "--set", "hh=3"]) == 2
    assert "unknown key 'hh'; did you mean 'h'" in capsys.readouterr().err
    assert main([*args, "--set", "template_window=4"]) == 2
    assert "template_window must be a positive odd number" in capsys.readouterr().err
    assert main(["restore", "--restorer", "unsharp", "--set", "amount=0.5", "--set", "sigma=2",
                 "--input", str(faces), "--output", str(out)]) == 0  # fmt: skip
    report = json.loads((out / "restore.json").read_text())
    assert report["params"] == {"amount": 0.5, "sigma": 2.0}


def test_parse_settings():
    assert parse_settings(["h=7", "x=0.5", "flag=true", "name=per_folder", "s="]) == {
        "h": 7,
        "x": 0.5,
        "flag": True,
        "name": "per_folder",
        "s": "",
    }
    assert parse_settings(["env={A: '1'}", "size=null"]) == {"env": {"A": "1"}, "size": None}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_settings(["h"])
    with pytest.raises(ConfigError, match="given twice"):
        parse_settings(["h=1", "h=2"])
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_settings(["h=[1,"])


def test_text_fields_take_the_value_verbatim():
    """``{python} run.py`` would be a YAML mapping (or invalid); a str field keeps the text."""
    params = RESTORERS.get("command").Params
    settings = ["command={python} run.py -i {input}", "cwd=null", "timeout_s=5", "env={A: b}"]
    assert parse_settings(settings, params) == {
        "command": "{python} run.py -i {input}",
        "cwd": None,
        "timeout_s": 5,
        "env": {"A": "b"},
    }
    assert parse_settings(["output_pattern={stem}"], params) == {"output_pattern": "{stem}"}


def test_failures_are_recorded_per_image(faces, tmp_path, capsys):
    (faces / "broken.png").write_bytes(b"\x89PNG truncated")
    out = tmp_path / "out"
    command = f"{sys.executable} {SCRIPT} -i {{input}} -o {{output}} --skip a"
    code = main(["restore", "--restorer", "command", "--set", f"command={command}",
                 "--input", str(faces), "--output", str(out)])  # fmt: skip
    assert code == 1
    report = json.loads((out / "restore.json").read_text())
    assert set(report["failures"]) == {"a.png", "broken.png"}
    assert "not a readable image file" in report["failures"]["broken.png"]
    assert "no output a.png for input a.png" in report["failures"]["a.png"]
    assert report["restored"] == 3
    assert (out / "sub" / "b.png").is_file() and not (out / "a.png").exists()
    log = (out / "restore.log").read_text()
    assert "skipping a" in log and "processed sub__b" in log
    assert "failed a.png" in capsys.readouterr().out


def test_bad_folders(faces, tmp_path, capsys):
    assert main(["restore", "--restorer", "identity", "--input", str(tmp_path / "none"),
                 "--output", str(tmp_path / "o")]) == 2  # fmt: skip
    assert "not a folder" in capsys.readouterr().err
    assert main(["restore", "--restorer", "identity", "--input", str(faces),
                 "--output", str(faces)]) == 2  # fmt: skip
    assert "must not be the input folder" in capsys.readouterr().err
    write_png(faces / "a.jpg", np.zeros((40, 40, 3), dtype=np.float32))
    assert main(["restore", "--restorer", "identity", "--input", str(faces),
                 "--output", str(tmp_path / "o")]) == 1  # fmt: skip
    # both would be written as a.png: the second in sorted order fails, as in a run
    assert "failed a.png: id 'a.png' and 'a.jpg' differ only" in capsys.readouterr().out


@pytest.mark.slow
def test_nlmeans_on_real_wider_offline(shared_data, tmp_path):
    source = shared_data / "real" / "wider"
    out = tmp_path / "wider"
    assert main(["restore", "--restorer", "nlmeans", "--input", str(source),
                 "--output", str(out)]) == 0  # fmt: skip
    inputs = sorted(p.name for p in source.glob("*.png"))
    assert sorted(p.name for p in out.glob("*.png")) == inputs
    first = read_image(out / inputs[0])
    assert first.shape == read_image(source / inputs[0]).shape
    assert not np.array_equal(first, read_image(source / inputs[0]))


class _Picky(Restorer):
    """Fails on batches of more than one image, and on any image brighter than 0.9 at (0, 0)."""

    def restore(self, images, seeds):
        if len(images) > 1:
            raise RuntimeError("one at a time, please")
        if float(images[0, 0, 0, 0]) > 0.9:
            raise ValueError("too bright")
        return images.clone()


class _OneChannel(Restorer):
    def restore(self, images, seeds):
        return images[:, :1]


@pytest.fixture
def test_restorers():
    RESTORERS.register("picky_for_test", _Picky)
    RESTORERS.register("one_channel_for_test", _OneChannel)
    yield
    RESTORERS.unregister("picky_for_test")
    RESTORERS.unregister("one_channel_for_test")


def test_a_failing_batch_is_retried_image_by_image(test_restorers, tmp_path):
    root = tmp_path / "in"
    for name, value in [("a", 0.2), ("b", 0.95), ("c", 0.4)]:
        write_png(root / f"{name}.png", np.full((40, 40, 3), value, dtype=np.float32))
    out = tmp_path / "out"
    args = ["--input", str(root), "--output", str(out)]
    assert main(["restore", "--restorer", "picky_for_test", *args]) == 1
    report = json.loads((out / "restore.json").read_text())
    assert report["failures"] == {"b.png": "ValueError: too bright"}
    assert sorted(p.name for p in out.glob("*.png")) == ["a.png", "c.png"]
    assert main(["restore", "--restorer", "one_channel_for_test", *args]) == 1
    report = json.loads((out / "restore.json").read_text())
    assert report["failures"]["a.png"] == (
        "restorer output has shape (1, 1, 40, 40), expected (1, 3, 40, 40)"
    )
