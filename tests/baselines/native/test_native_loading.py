"""Loading checks shared by the native restorers: missing, unsafe and mismatched files."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from baselines.native.base import CheckpointMismatchError, resize
from bench.registry import RESTORERS
from bench.weights import MissingWeightsError, UnsafeCheckpointError

NATIVE = {
    "spar": ("SPARNetHD_FFHQ_DR2aug.pth", "github.com/Kaiqiwang/DR2", None),
    "gfpgan": ("GFPGANv1.4.pth", "github.com/TencentARC/GFPGAN", "params_ema"),
    "codeformer": ("codeformer.pth", "github.com/sczhou/CodeFormer", "params_ema"),
}


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-checkpoint",))


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_missing_weights_say_what_to_get_and_where(name, isolated_home):
    file_name, source, _ = NATIVE[name]
    restorer = RESTORERS.create(name)
    with pytest.raises(MissingWeightsError) as error:
        restorer.load("cpu")
    message = str(error.value)
    assert file_name in message and source in message
    assert str(isolated_home / "weights" / file_name) in message


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_malicious_pickle_is_refused(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / NATIVE[name][0]
    with open(path, "wb") as handle:
        pickle.dump({"params_ema": {"weight": _Exploit()}}, handle)
    restorer = RESTORERS.create(name, weights=str(path))
    with pytest.raises(UnsafeCheckpointError, match="refused to load"):
        restorer.load("cpu")
    assert not (tmp_path / "pwned-by-checkpoint").exists()


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_foreign_state_dict_is_refused_with_counts(name, tmp_path):
    file_name, _, key = NATIVE[name]
    state = {"conv.weight": torch.zeros(4, 3, 3, 3)}
    path = tmp_path / file_name
    torch.save(state if key is None else {key: state}, path)
    with pytest.raises(CheckpointMismatchError, match=r"missing parameters .* 1 unexpected"):
        RESTORERS.create(name, weights=str(path)).load("cpu")


@pytest.mark.parametrize("name", ["gfpgan", "codeformer"])
def test_state_dict_must_sit_under_params_ema(name, tmp_path):
    path = tmp_path / NATIVE[name][0]
    torch.save({"params": {"conv.weight": torch.zeros(1)}}, path)
    with pytest.raises(CheckpointMismatchError, match="under 'params_ema'.*keys are: params"):
        RESTORERS.create(name, weights=str(path)).load("cpu")


def test_restore_before_load_is_an_error():
    with pytest.raises(RuntimeError, match="call load"):
        RESTORERS.create("spar").restore(torch.zeros(1, 3, 64, 64), [0])


def test_resize_keeps_matching_sizes():
    images = torch.rand(2, 3, 40, 48)
    assert resize(images, (40, 48)) is images


def test_resize_antialiases_when_shrinking():
    """A one-pixel checkerboard shrunk ~8.5x averages to grey instead of aliasing."""
    rows, columns = torch.meshgrid(torch.arange(512), torch.arange(512), indexing="ij")
    checkerboard = ((rows + columns) % 2).float().expand(1, 3, 512, 512)
    shrunk = resize(checkerboard, (60, 60))
    assert float((shrunk - 0.5).abs().max()) < 0.01


def test_resize_round_trip_of_a_smooth_image():
    rows, columns = torch.meshgrid(
        torch.linspace(0, 1, 40), torch.linspace(0, 1, 48), indexing="ij"
    )
    smooth = torch.stack([rows, columns, (rows + columns) / 2])[None]
    back = resize(resize(smooth, (512, 512)), (40, 48))
    assert float((back - smooth)[..., 2:-2, 2:-2].abs().max()) < 0.01
