from __future__ import annotations

import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from bench.weights import (
    MissingWeightsError,
    UnsafeCheckpointError,
    entry,
    load_checkpoint,
    locate,
    manifest,
)


def test_manifest_entries_are_complete():
    entries = manifest()
    assert {"dr2_ffhq256", "sparnethd_dr2aug", "gfpgan_v1.4", "codeformer"} <= set(entries)
    for item in entries.values():
        assert item.file and item.url and item.licence and item.used_by


def test_locate_in_home_and_explicit(isolated_home, tmp_path):
    with pytest.raises(MissingWeightsError) as err:
        locate("codeformer")
    message = str(err.value)
    assert "codeformer.pth" in message
    assert "github.com/sczhou/CodeFormer" in message
    assert str(isolated_home / "weights" / "codeformer.pth") in message
    target = isolated_home / "weights" / "codeformer.pth"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x")
    assert locate("codeformer") == target
    explicit = tmp_path / "elsewhere.pth"
    explicit.write_bytes(b"y")
    assert locate("codeformer", explicit) == explicit
    with pytest.raises(MissingWeightsError, match="does not exist"):
        locate("codeformer", tmp_path / "nope.pth")


def test_locate_in_torch_hub(isolated_home, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "alexnet-owt-7be5be79.pth").write_bytes(b"z")
    assert locate("alexnet_imagenet") == hub / "alexnet-owt-7be5be79.pth"


def test_unknown_name_suggests():
    with pytest.raises(KeyError, match="did you mean 'codeformer'"):
        entry("codeformr")


def test_state_dict_and_safetensors_load(tmp_path):
    state = {"a.weight": torch.randn(3, 2), "b": torch.zeros(4)}
    torch.save(state, tmp_path / "plain.pth")
    save_file(state, str(tmp_path / "plain.safetensors"))
    for name in ("plain.pth", "plain.safetensors"):
        loaded = load_checkpoint(tmp_path / name)
        assert torch.equal(loaded["a.weight"], state["a.weight"])


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-checkpoint",))


def test_malicious_pickle_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    with open(path, "wb") as handle:
        pickle.dump({"state": _Exploit()}, handle)
    with pytest.raises(UnsafeCheckpointError, match="evil.pth: refused to load"):
        load_checkpoint(path)
    assert not (tmp_path / "pwned-by-checkpoint").exists()


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pth")
