"""``codeformer``: CodeFormer matches the checkpoint spec, loads it strictly and restores."""

from __future__ import annotations

import pytest
import torch

from baselines.networks.codeformer import CodeFormer, adaptive_instance_norm
from baselines.networks.vqgan import Codebook
from bench.config import ConfigError
from bench.registry import RESTORERS


def test_parameter_names_and_shapes_match_the_spec(spec):
    shapes = {name: list(value.shape) for name, value in CodeFormer().state_dict().items()}
    assert shapes == spec("codeformer_512")


def test_fidelity_tags_and_range():
    assert RESTORERS.create("codeformer").params.w == 0.5
    for tag, w in {"w00": 0.0, "w05": 0.5, "w07": 0.7, "w10": 1.0}.items():
        assert RESTORERS.create(f"codeformer.{tag}").params.w == w
    with pytest.raises(ConfigError, match=r"w must be in \[0, 1\], got 1.5"):
        RESTORERS.create("codeformer", w=1.5)


def test_adaptive_instance_norm_takes_the_style_statistics():
    content = torch.randn(2, 3, 4, 4) * 5 + 2
    style = torch.randn(2, 3, 4, 4) * 0.5 - 1
    out = adaptive_instance_norm(content, style)
    torch.testing.assert_close(out.mean(dim=(2, 3)), style.mean(dim=(2, 3)), atol=1e-5, rtol=0)
    ratio = out.flatten(2).std(dim=2) / style.flatten(2).std(dim=2)
    torch.testing.assert_close(ratio, torch.ones(2, 3), atol=1e-3, rtol=0)
    centred_out = out.flatten(2) - out.flatten(2).mean(2, keepdim=True)
    centred_content = content.flatten(2) - content.flatten(2).mean(2, keepdim=True)
    correlation = torch.nn.functional.cosine_similarity(centred_out, centred_content, dim=2)
    torch.testing.assert_close(correlation, torch.ones(2, 3), atol=1e-5, rtol=0)


def test_codebook_lookup_places_codes_in_row_major_order():
    codebook = Codebook(5, 3)
    indices = torch.tensor([[4, 0, 2, 2, 1, 3]])
    features = codebook.lookup(indices, 2, 3)
    assert features.shape == (1, 3, 2, 3)
    table = codebook.embedding.weight
    torch.testing.assert_close(features[0, :, 0, 0], table[4])
    torch.testing.assert_close(features[0, :, 1, 2], table[3])
    torch.testing.assert_close(features[0, :, 1, 0], table[2])


@pytest.mark.slow
def test_official_layout_loads_strictly_and_restores(official_checkpoint):
    path = official_checkpoint("codeformer_512", "codeformer.pth", "params_ema")
    restorer = RESTORERS.create("codeformer.w07", weights=str(path))
    restorer.load("cpu")
    saved = torch.load(path, weights_only=True)["params_ema"]
    loaded = restorer.network.state_dict()
    assert all(torch.equal(loaded[name], value) for name, value in saved.items())
    images = torch.rand(1, 3, 96, 80)
    restored = restorer.restore(images, [0])
    assert restored.shape == images.shape and restored.dtype == torch.float32
    assert torch.isfinite(restored).all()
    assert float(restored.min()) >= 0.0 and float(restored.max()) <= 1.0
    assert float(restored.std()) > 0.0
