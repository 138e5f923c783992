"""``spar``: SPARNetHD matches the checkpoint spec, loads it strictly and restores."""

from __future__ import annotations

import pytest
import torch

from baselines.networks.sparnethd import ConvLayer, SPARNetHD
from bench.registry import RESTORERS


def test_parameter_names_and_shapes_match_the_spec(spec):
    shapes = {name: list(value.shape) for name, value in SPARNetHD().state_dict().items()}
    assert shapes == spec("sparnethd2d")


def test_spectral_norm_divides_by_the_stored_singular_value_in_eval():
    layer = ConvLayer(4, 5).eval()
    weight = torch.randn(5, 4, 3, 3)
    u = torch.nn.functional.normalize(torch.randn(5), dim=0)
    v = torch.nn.functional.normalize(torch.randn(36), dim=0)
    state = {"weight_orig": weight, "weight_u": u, "weight_v": v, "bias": torch.zeros(5)}
    layer.conv2d.load_state_dict(state)
    sigma = u @ weight.flatten(1) @ v
    x = torch.randn(1, 4, 8, 8)
    for _ in range(2):  # no power iteration in eval: u and v stay as stored
        out = layer(x)
        torch.testing.assert_close(layer.conv2d.weight_u, u)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
    torch.testing.assert_close(out, torch.nn.functional.conv2d(padded, weight / sigma))


def test_images_are_restored_independently_of_their_batch(random_state):
    """Instance norm is per image: a batch gives each image what it gets alone (at 64 px).

    Batched convolutions round differently (random weights amplify it to ~2e-4); statistics
    shared across the batch would differ by orders of magnitude more.
    """
    network = SPARNetHD().eval()
    network.load_state_dict(random_state("sparnethd2d"))
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.inference_mode():
        together = network(images)
        alone = network(images[1:])
    assert together.shape == images.shape and torch.isfinite(together).all()
    torch.testing.assert_close(together[1:], alone, atol=1e-3, rtol=0)


@pytest.mark.slow
def test_official_layout_loads_strictly_and_restores(official_checkpoint, tmp_path):
    path = official_checkpoint("sparnethd2d", "SPARNetHD_FFHQ_DR2aug.pth", None)
    restorer = RESTORERS.create("spar", weights=str(path))
    restorer.load("cpu")
    saved = torch.load(path, weights_only=True)
    loaded = restorer.network.state_dict()
    assert all(torch.equal(loaded[name], value) for name, value in saved.items())
    images = torch.rand(1, 3, 96, 80)
    restored = restorer.restore(images, [0])
    assert restored.shape == images.shape and restored.dtype == torch.float32
    assert torch.isfinite(restored).all()
    assert float(restored.min()) >= 0.0 and float(restored.max()) <= 1.0
    assert float(restored.std()) > 0.0
