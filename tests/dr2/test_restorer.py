"""The ``dr2`` restorer: the shipped demo model, tags, parameters and official checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.cli import main
from bench.config import ConfigError
from bench.images import read_image, to_tensor, write_png
from bench.registry import RESTORERS
from dr2.restorer import DEMO_MODEL
from dr2.sampler import default_omega

SPEC = Path(__file__).resolve().parents[3] / "shared" / "specs" / "dr2_unet_ffhq256.keys.json"


def _faces(count: int = 3, size: int = 48) -> torch.Tensor:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:size, 0:size] / size
    images = [
        np.clip(
            np.stack([x, y, x * y], -1) + 0.05 * rng.standard_normal((size, size, 3)), 0, 1
        ).astype(np.float32)
        for _ in range(count)
    ]
    return to_tensor(images)


def test_tags_set_n_and_tau():
    restorer = RESTORERS.create("dr2.n8t35")
    assert (restorer.params.N, restorer.params.tau) == (8, 35)
    assert restorer.weights_files() == [DEMO_MODEL]
    assert RESTORERS.get("dr2").stochastic


@pytest.mark.parametrize(
    ("params", "pattern"),
    [
        ({"tau": 100}, "tau=100 must be in 0..K-1"),
        ({"omega": 10, "tau": 20}, "omega=10"),
        ({"N": 0}, "N must be at least 1"),
        ({"nn": 4}, "did you mean 'N'"),
    ],
)
def test_bad_parameters(params, pattern):
    with pytest.raises(ConfigError, match=pattern):
        RESTORERS.create("dr2", **params)


def test_n_must_divide_the_models_resolution(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"N=3 does not divide the 64x64 resolution of .*demo"):
        RESTORERS.create("dr2", N=3).load("cpu")
    write_png(tmp_path / "in" / "face.png", np.zeros((32, 32, 3), np.float32))
    argv = ["restore", "--restorer", "dr2", "--set", "N=3", "--input", str(tmp_path / "in")]
    assert main([*argv, "--output", str(tmp_path / "out")]) == 2
    assert "dr2 could not be loaded: N=3 does not divide" in capsys.readouterr().err


def test_demo_model_restores_with_the_input_size_and_seeds():
    restorer = RESTORERS.create("dr2", N=4, tau=60)
    images = _faces()
    out = restorer.restore(images, [1, 2, 3])
    assert out.shape == images.shape and out.dtype == torch.float32
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert torch.equal(restorer.restore(images[1:2], [2])[0], out[1])  # batch-invariant bytes
    assert not torch.equal(restorer.restore(images[1:2], [5])[0], out[1])  # the seed matters
    # the output keeps the input's low frequencies: much closer to it than to another face
    low = torch.nn.functional.avg_pool2d
    near = (low(out[0:1], 8) - low(images[0:1], 8)).abs().mean()
    far = (low(out[0:1], 8) - low(images[0:1].flip(-1).flip(-2), 8)).abs().mean()
    assert near < far


def test_omega_equal_tau_with_n1_is_the_models_x0_prediction():
    restorer = RESTORERS.create("dr2", N=1, tau=50, omega=50)
    restorer.load("cpu")
    sampler = restorer.sampler
    images = _faces(1)
    size = sampler.model.config.image_size
    y = (
        torch.nn.functional.interpolate(
            images, size=(size, size), mode="bicubic", antialias=True
        ).clamp(0, 1)
        * 2
        - 1
    )
    generator = torch.Generator().manual_seed(9)
    noise = torch.randn((1, 3, size, size), generator=generator)
    t = torch.full((1,), 50)
    x_t = sampler.diffusion.q_sample(y, t, noise)
    _, x0 = sampler.diffusion.p_sample(sampler._net, x_t, t, torch.zeros_like(x_t))
    direct = sampler.restore(y, [9], factor=1, tau=50, omega=50)
    torch.testing.assert_close(direct, x0)
    assert default_omega(50, 1, 100) == 55


@pytest.mark.slow
def test_official_format_checkpoint_through_set_weights(tmp_path):
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is not there")
    spec = json.loads(SPEC.read_text())
    generator = torch.Generator().manual_seed(0)
    state = {name: torch.randn(shape, generator=generator) * 0.01 for name, shape in spec.items()}
    torch.save(state, tmp_path / "DR2_FFHQ.pkl")
    write_png(tmp_path / "in" / "face.png", np.full((64, 64, 3), 0.5, np.float32))
    code = main(
        [
            "restore",
            "--restorer",
            "dr2",
            "--set",
            f"weights={tmp_path / 'DR2_FFHQ.pkl'}",
            "--set",
            "tau=99",
            "--set",
            "omega=99",
            "--set",
            "N=1",
            "--input",
            str(tmp_path / "in"),
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    assert read_image(tmp_path / "out" / "face.png").shape == (64, 64, 3)


@pytest.mark.parametrize(
    ("weights", "file", "source"),
    [
        ("official", "DR2_FFHQ.pkl", "Kaiqiwang/DR2"),
        ("ilvr", "ffhq_10m.pt", "jychoi118/ilvr_adm"),
        ("p2", "ffhq_p2.pt", "jychoi118/P2-weighting"),
    ],
)
def test_missing_official_checkpoint_names_the_file(isolated_home, weights, file, source):
    restorer = RESTORERS.create("dr2", weights=weights)
    with pytest.raises(FileNotFoundError, match=rf"{file}.*{source}.*{isolated_home}"):
        restorer.load("cpu")


def test_named_checkpoints_are_found_in_the_weights_folder(isolated_home):
    (isolated_home / "weights").mkdir(parents=True)
    (isolated_home / "weights" / "ffhq_p2.pt").write_bytes(b"x")
    restorer = RESTORERS.create("dr2", weights="p2")
    assert restorer.model_path() == isolated_home / "weights" / "ffhq_p2.pt"
    assert list(restorer.fingerprint()) == [str(isolated_home / "weights" / "ffhq_p2.pt")]
