"""``gfpgan``: GFPGAN v1.4 matches the checkpoint spec, loads it strictly and restores."""

from __future__ import annotations

import pytest
import torch

from baselines.networks.gfpgan import GFPGANv1Clean
from baselines.networks.stylegan2 import ModulatedConv2d
from bench.registry import RESTORERS


def test_parameter_names_and_shapes_match_the_spec(spec):
    shapes = {name: list(value.shape) for name, value in GFPGANv1Clean().state_dict().items()}
    assert shapes == spec("gfpganv1clean_512")


@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv_equals_one_conv_per_image(demodulate):
    layer = ModulatedConv2d(4, 6, 3, num_style_feat=5, demodulate=demodulate, upsample=True)
    x, style = torch.randn(2, 4, 7, 7), torch.randn(2, 5)
    out = layer(x, style)
    for index in range(2):
        scales = style[index] @ layer.modulation.weight.t() + layer.modulation.bias
        weight = layer.weight[0] * scales.view(1, 4, 1, 1)
        if demodulate:
            weight = weight / (weight.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()
        upsampled = torch.nn.functional.interpolate(
            x[index : index + 1], scale_factor=2, mode="bilinear", align_corners=False
        )
        expected = torch.nn.functional.conv2d(upsampled, weight, padding=1)
        torch.testing.assert_close(out[index : index + 1], expected, atol=1e-5, rtol=1e-5)
    assert out.shape == (2, 6, 14, 14)


def test_noise_comes_from_each_image_seed():
    restorer = RESTORERS.create("gfpgan")
    restorer.network = GFPGANv1Clean()
    pair, alone, again = restorer.noises([3, 4]), restorer.noises([4]), restorer.noises([3, 4])
    sizes = [4, 8, 8, 16, 16, 32, 32, 64, 64, 128, 128, 256, 256, 512, 512]
    assert [tuple(noise.shape) for noise in pair] == [(2, 1, s, s) for s in sizes]
    for first, second, repeated in zip(pair, alone, again, strict=True):
        assert torch.equal(first[1:], second) and torch.equal(first, repeated)
        assert not torch.equal(first[0], first[1])


@pytest.mark.slow
def test_official_layout_loads_strictly_and_restores(official_checkpoint):
    path = official_checkpoint("gfpganv1clean_512", "GFPGANv1.4.pth", "params_ema")
    restorer = RESTORERS.create("gfpgan", weights=str(path))
    restorer.load("cpu")
    saved = torch.load(path, weights_only=True)["params_ema"]
    loaded = restorer.network.state_dict()
    assert all(torch.equal(loaded[name], value) for name, value in saved.items())
    image = torch.rand(1, 3, 96, 80)
    restored = restorer.restore(image.expand(2, -1, -1, -1), [1, 2])
    assert restored.shape == (2, 3, 96, 80) and restored.dtype == torch.float32
    assert torch.isfinite(restored).all()
    assert float(restored.min()) >= 0.0 and float(restored.max()) <= 1.0
    assert not torch.equal(restored[0], restored[1])  # the seeds' noise reaches the output
