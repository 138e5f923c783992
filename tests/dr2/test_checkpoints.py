"""Official checkpoints: strict, safe loading; config from metadata, the spec, or the shapes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from dr2.checkpoints import infer_config, load_dr2_ffhq256, load_unet
from dr2.diffusion import DiffusionConfig
from dr2.model_io import load_model, save_model
from dr2.unet import UNet, UNetConfig

SPEC = Path(__file__).resolve().parents[3] / "shared" / "specs" / "dr2_unet_ffhq256.keys.json"


def _random_state_dict_from_spec() -> dict[str, torch.Tensor]:
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is not there")
    spec = json.loads(SPEC.read_text())
    generator = torch.Generator().manual_seed(0)
    return {name: torch.randn(shape, generator=generator) * 0.01 for name, shape in spec.items()}


@pytest.mark.slow
def test_official_pickle_loads_strictly(isolated_home: Path) -> None:
    state_dict = _random_state_dict_from_spec()
    weights = isolated_home / "weights"
    weights.mkdir(parents=True)
    torch.save(state_dict, weights / "DR2_FFHQ.pkl")
    model, diffusion = load_dr2_ffhq256()
    assert model.config == UNetConfig.dr2_ffhq256()
    assert torch.equal(model.state_dict()["out.2.weight"], state_dict["out.2.weight"])
    assert diffusion.num_timesteps == 100 and diffusion.variance == "learned_range"


def test_missing_file_says_what_and_where(isolated_home: Path) -> None:
    from bench.weights import MissingWeightsError

    with pytest.raises(MissingWeightsError) as caught:
        load_dr2_ffhq256()
    message = str(caught.value)
    assert "DR2_FFHQ.pkl" in message
    assert "Kaiqiwang/DR2" in message
    assert str(isolated_home / "weights") in message


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch /tmp/dr2bench-pwned",))


def test_malicious_pickle_is_refused(tmp_path: Path) -> None:
    from bench.weights import UnsafeCheckpointError

    path = tmp_path / "DR2_FFHQ.pkl"
    torch.save({"input_blocks.0.0.weight": torch.zeros(1), "payload": _Exploit()}, path)
    with pytest.raises(UnsafeCheckpointError, match="DR2_FFHQ.pkl"):
        load_unet(path)
    assert not Path("/tmp/dr2bench-pwned").exists()


CONFIGS = [
    UNetConfig(
        image_size=32, model_channels=32, num_res_blocks=2, channel_mult=(1, 2, 2),
        attention_resolutions=(16,), num_head_channels=64,
    ),
    UNetConfig(
        image_size=64, model_channels=32, num_res_blocks=1, channel_mult=(1, 1, 2, 4),
        attention_resolutions=(16, 8), num_head_channels=64, learn_sigma=True, out_channels=6,
        use_scale_shift_norm=False,
    ),
    UNetConfig(
        image_size=16, model_channels=32, num_res_blocks=1, channel_mult=(1, 2),
        attention_resolutions=(8,), num_head_channels=64, resblock_updown=False,
    ),
]  # fmt: skip


@pytest.mark.parametrize("config", CONFIGS)
def test_infer_config_from_shapes(config: UNetConfig) -> None:
    with torch.device("meta"):
        state_dict = UNet(config).state_dict()
    assert infer_config(state_dict, image_size=config.image_size) == config


def test_infer_config_of_the_official_layout() -> None:
    with torch.device("meta"):
        state_dict = UNet(UNetConfig.dr2_ffhq256()).state_dict()
    assert infer_config(state_dict) == UNetConfig.dr2_ffhq256()


def test_plain_small_checkpoint_and_safetensors_round_trip(tmp_path: Path) -> None:
    config = CONFIGS[2]
    model = UNet(config)
    torch.save(model.state_dict(), tmp_path / "small.pt")
    assert load_unet(tmp_path / "small.pt", image_size=16).config == config
    path = save_model(
        model, config, DiffusionConfig(variance="fixed_small"), tmp_path / "m.safetensors"
    )
    loaded, diffusion, _ = load_model(path)
    assert loaded.config == config and diffusion.variance == "fixed_small"
    assert load_unet(path).config == config
    with pytest.raises(ValueError, match="not an ADM UNet"):
        torch.save({"weight": torch.zeros(2)}, tmp_path / "other.pt")
        load_unet(tmp_path / "other.pt")
