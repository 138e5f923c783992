"""The ``folder`` restorer: matching precomputed outputs to inputs, reporting missing ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bench.config import ConfigError
from bench.contracts import RestoreFailures
from bench.images import to_numpy, to_tensor, to_uint8, write_png
from bench.registry import RESTORERS


def solid(value: float, height: int = 36, width: int = 40) -> np.ndarray:
    return np.full((height, width, 3), value, dtype=np.float32)


def inputs(count: int) -> torch.Tensor:
    return to_tensor([solid(0.5) for _ in range(count)])


def make(path: Path, **params):
    restorer = RESTORERS.create("folder", path=str(path), **params)
    restorer.load()
    return restorer


def values(output: torch.Tensor) -> list[int]:
    """The 8-bit value of each (solid) output image."""
    return [int(to_uint8(image)[0, 0, 0]) for image in to_numpy(output)]


def test_matching_by_relative_path_then_stem(tmp_path):
    root = tmp_path / "released"
    write_png(root / "sub" / "a.png", solid(10 / 255))  # same relative path
    write_png(root / "sub" / "b.png", solid(20 / 255))  # same stem, other suffix than the input
    write_png(root / "c.png", solid(30 / 255))  # at the top, the input was in a subfolder
    write_png(root / "deep" / "er" / "d.png", solid(40 / 255))  # only the name matches
    write_png(root / "extra.png", solid(0.0))
    ids = ["sub/a.png", "sub/b.jpg", "x/c.png", "y/d.jpeg"]
    restorer = make(root)
    assert values(restorer.restore_batch(inputs(4), [0] * 4, ids)) == [10, 20, 30, 40]
    match = restorer.check(ids)
    assert match.missing == {} and match.unused == ("extra.png",)
    assert match.found["y/d.jpeg"] == root / "deep" / "er" / "d.png"


def test_pattern_for_renamed_results(tmp_path):
    root = tmp_path / "gfpgan"
    write_png(root / "restored_faces" / "0001_00.png", solid(50 / 255))
    write_png(root / "cropped_faces" / "0001_00.png", solid(0.0))
    restorer = make(root, pattern="restored_faces/{stem}_00")
    assert values(restorer.restore_batch(inputs(1), [0], ["0001.png"])) == [50]


def test_missing_and_ambiguous_outputs_are_reported(tmp_path):
    root = tmp_path / "released"
    write_png(root / "a.png", solid(10 / 255))
    write_png(root / "one" / "b.png", solid(0.1))
    write_png(root / "two" / "b.png", solid(0.2))
    ids = ["a.png", "b.png", "c.png"]
    restorer = make(root)
    match = restorer.check(ids)
    assert set(match.found) == {"a.png"}
    assert "ambiguous output for 'b.png'" in match.missing["b.png"]
    assert "one/b.png, two/b.png" in match.missing["b.png"]
    assert f"no output for 'c.png' in {root}" in match.missing["c.png"]
    with pytest.raises(RestoreFailures) as caught:
        restorer.restore_batch(inputs(3), [0] * 3, ids)
    assert set(caught.value.failures) == {1, 2}
    assert values(caught.value.output)[0] == 10


def test_outputs_of_another_size(tmp_path):
    root = tmp_path / "released"
    write_png(root / "a.png", solid(0.4, 72, 80))
    output = make(root).restore_batch(inputs(1), [0], ["a.png"])
    assert output.shape == (1, 3, 36, 40)
    np.testing.assert_allclose(to_numpy(output)[0], to_numpy(to_tensor(solid(0.4)))[0], atol=3e-3)
    with pytest.raises(RestoreFailures, match="is 80x72, the input is 40x36"):
        make(root, resize=False).restore_batch(inputs(1), [0], ["a.png"])


def test_unreadable_output_is_a_failure(tmp_path):
    root = tmp_path / "released"
    root.mkdir()
    (root / "a.png").write_bytes(b"not a png")
    with pytest.raises(RestoreFailures, match="broken output .*a.png: not a readable image"):
        make(root).restore_batch(inputs(1), [0], ["a.png"])


def test_restore_without_ids_and_bad_folder(tmp_path):
    (tmp_path / "r").mkdir()
    with pytest.raises(TypeError, match="call restore_batch"):
        make(tmp_path / "r").restore(inputs(1), [0])
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        make(tmp_path / "missing")
    with pytest.raises(ConfigError, match="must use {stem}"):
        RESTORERS.create("folder", path="x", pattern="{name}")
