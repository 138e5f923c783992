"""The ADM UNet: official layout, attention order, shapes and formats."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from dr2.unet import UNet, UNetConfig, count_parameters
from dr2.unet_blocks import AttentionBlock, timestep_embedding

SPEC = Path(__file__).resolve().parents[3] / "shared" / "specs" / "dr2_unet_ffhq256.keys.json"

TINY = UNetConfig(
    image_size=16,
    model_channels=32,
    num_res_blocks=1,
    channel_mult=(1, 2),
    attention_resolutions=(8,),
    num_head_channels=16,
)


@pytest.fixture(scope="module")
def official_model() -> UNet:
    return UNet(UNetConfig.dr2_ffhq256())


def test_official_state_dict_matches_spec(official_model: UNet) -> None:
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is not there")
    spec = json.loads(SPEC.read_text())
    ours = {name: list(t.shape) for name, t in official_model.state_dict().items()}
    assert set(ours) == set(spec), sorted(set(ours) ^ set(spec))[:10]
    wrong = {k: (ours[k], spec[k]) for k in spec if ours[k] != spec[k]}
    assert not wrong
    assert len(ours) == 362
    assert count_parameters(official_model) == 93_563_910


def test_official_attention_heads(official_model: UNet) -> None:
    attention = official_model.middle_block[1]
    assert isinstance(attention, AttentionBlock)
    assert attention.num_heads == 512 // 64


def _legacy_attention(qkv: torch.Tensor, heads: int) -> torch.Tensor:
    """ADM's QKVAttentionLegacy written out with einsum (the reference)."""
    b, width, length = qkv.shape
    ch = width // (3 * heads)
    q, k, v = qkv.reshape(b * heads, ch * 3, length).split(ch, dim=1)
    scale = 1 / math.sqrt(math.sqrt(ch))
    weight = torch.softmax(torch.einsum("bct,bcs->bts", q * scale, k * scale), dim=-1)
    return torch.einsum("bts,bcs->bct", weight, v).reshape(b, -1, length)


def _new_order_attention(qkv: torch.Tensor, heads: int) -> torch.Tensor:
    """ADM's QKVAttention (q, k, v split first, then heads)."""
    b, width, length = qkv.shape
    ch = width // (3 * heads)
    q, k, v = qkv.chunk(3, dim=1)
    scale = 1 / math.sqrt(math.sqrt(ch))
    weight = torch.einsum(
        "bct,bcs->bts",
        (q * scale).reshape(b * heads, ch, length),
        (k * scale).reshape(b * heads, ch, length),
    )
    weight = torch.softmax(weight, dim=-1)
    return torch.einsum("bts,bcs->bct", weight, v.reshape(b * heads, ch, length)).reshape(
        b, -1, length
    )


@pytest.mark.parametrize("legacy", [True, False])
@pytest.mark.parametrize("channels_last", [True, False])
def test_attention_matches_reference(legacy: bool, channels_last: bool) -> None:
    torch.manual_seed(0)
    block = AttentionBlock(64, num_head_channels=16, legacy_order=legacy).eval()
    torch.nn.init.normal_(block.proj_out.weight)
    x = torch.randn(2, 64, 5, 6)
    b, c, h, w = x.shape
    flat = x.reshape(b, c, -1)
    qkv = block.qkv(block.norm(flat))
    reference = _legacy_attention(qkv, 4) if legacy else _new_order_attention(qkv, 4)
    expected = (flat + block.proj_out(reference)).reshape(b, c, h, w)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        assert torch.allclose(block(x), expected, atol=1e-5)


def test_timestep_embedding_layout() -> None:
    emb = timestep_embedding(torch.tensor([0.0, 3.0]), 6)
    freqs = torch.exp(-math.log(10000.0) * torch.arange(3) / 3)
    assert torch.allclose(emb[1], torch.cat([torch.cos(3 * freqs), torch.sin(3 * freqs)]))
    assert torch.equal(emb[0, :3], torch.ones(3))


def test_output_is_zero_at_init_and_shapes() -> None:
    model = UNet(TINY).eval()
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        out = model(x, torch.tensor([0.0, 500.0, 999.0]))
    assert out.shape == (3, 3, 16, 16)
    assert torch.count_nonzero(out) == 0  # zero-initialised last convolution


def test_channels_last_and_batch_independence() -> None:
    torch.manual_seed(1)
    model = UNet(TINY).eval()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.05)
    x = torch.randn(4, 3, 16, 16)
    t = torch.tensor([1.0, 10.0, 100.0, 900.0])
    with torch.no_grad():
        reference = model(x, t)
        single = model(x[2:3], t[2:3])
        fast = model.to(memory_format=torch.channels_last)(
            x.contiguous(memory_format=torch.channels_last), t
        )
    assert torch.allclose(single, reference[2:3], atol=1e-4)
    assert torch.allclose(fast, reference, atol=1e-4)


def test_plain_up_down_and_learned_sigma_variant() -> None:
    config = UNetConfig(
        image_size=16, model_channels=32, num_res_blocks=2, channel_mult=(1, 1, 2),
        attention_resolutions=(4,), num_heads=2, resblock_updown=False,
        use_scale_shift_norm=False, learn_sigma=True, out_channels=6,
    )  # fmt: skip
    model = UNet(config)
    assert model(torch.randn(1, 3, 16, 16), torch.tensor([5])).shape == (1, 6, 16, 16)


def test_config_json_round_trip_and_validation() -> None:
    config = UNetConfig.dr2_ffhq256()
    assert UNetConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="unknown UNetConfig keys: bogus"):
        UNetConfig.from_dict({"bogus": 1})
    with pytest.raises(ValueError, match="learn_sigma"):
        UNetConfig(out_channels=6)
