"""LPIPS plumbing against ``lpips.LPIPS`` with the same random backbone; ST-LPIPS; missing files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.metrics.lpips import Lpips, StLpips
from bench.weights import MissingWeightsError
from tests.metrics.conftest import batch, pattern


@pytest.fixture
def random_backbone(tmp_path, monkeypatch):
    """A random torchvision backbone saved to a file, and torchvision patched to build it."""
    import torchvision.models

    def save(net: str):
        torch.manual_seed(7)
        builder = {"alex": torchvision.models.alexnet, "vgg": torchvision.models.vgg16}[net]
        state = builder(weights=None).state_dict()
        path = tmp_path / f"{net}-random.pth"
        torch.save(state, path)

        def patched(*args, **kwargs):  # what lpips calls for its "pretrained" backbone
            model = builder(weights=None)
            model.load_state_dict(state)
            return model

        monkeypatch.setattr(torchvision.models, "alexnet" if net == "alex" else "vgg16", patched)
        return path

    return save


@pytest.mark.parametrize("net", ["alex", pytest.param("vgg", marks=pytest.mark.slow)])
def test_lpips_matches_the_package_with_the_same_backbone(random_backbone, rng, net):
    import lpips

    path = random_backbone(net)
    images = [rng.integers(0, 256, (96, 96, 3), dtype=np.uint8) for _ in range(3)]
    pred, ref = batch(*images), batch(images[1], images[1], images[0])
    ours = Lpips(net=net, backbone_weights=path)
    ours.load("cpu")
    reference = lpips.LPIPS(pretrained=True, net=net, version="0.1", verbose=False).eval()
    with torch.no_grad():
        expected = reference(pred * 2 - 1, ref * 2 - 1).reshape(-1).numpy()
    values = ours.score(pred, ref).values
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-7)
    assert values[1] == 0.0 and values[0] > 0


def test_missing_backbone_is_unavailable_with_file_and_place(isolated_home, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(MissingWeightsError) as info:
        Lpips().load("cpu")
    message = str(info.value)
    assert "alexnet-owt-7be5be79.pth" in message
    assert str(isolated_home / "weights" / "alexnet-owt-7be5be79.pth") in message
    with pytest.raises(MissingWeightsError, match="vgg16-397923af.pth"):
        Lpips(net="vgg").load("cpu")


def test_a_wrong_file_under_the_published_name_is_refused(isolated_home, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    path = isolated_home / "weights" / "alexnet-owt-7be5be79.pth"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not the weights")
    with pytest.raises(MissingWeightsError, match="sha256 does not start with 7be5be79"):
        Lpips().load("cpu")


@pytest.mark.slow
def test_st_lpips_matches_the_package_and_runs_offline():
    from bench.metrics.lpips import placeholder_modules

    with placeholder_modules():
        from stlpips_pytorch import stlpips

    a, b = pattern(64), pattern(64, shift=30)
    pred, ref = batch(a, b), batch(b, b)
    metric = StLpips()
    metric.load("cpu")
    reference = stlpips.LPIPS(net="alex", variant="shift_tolerant", verbose=False).eval()
    with torch.no_grad():
        expected = reference(pred * 2 - 1, ref * 2 - 1).reshape(-1).numpy()
    values = metric.score(pred, ref).values
    np.testing.assert_allclose(values, expected, rtol=1e-5)
    assert values[0] > 0.01 and values[1] == 0.0
    assert metric.config()["variant"] == "shift_tolerant"
