"""Gaussian diffusion: schedule, respacing maps, q_sample, posterior and reverse step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dr2.diffusion import GaussianDiffusion, linear_betas, space_timesteps


def test_linear_betas() -> None:
    betas = linear_betas(1000)
    assert betas.dtype == np.float64
    assert betas[0] == pytest.approx(1e-4) and betas[-1] == pytest.approx(0.02)
    assert linear_betas(500)[-1] == pytest.approx(0.04)


def test_space_timesteps_100_matches_adm() -> None:
    steps = sorted(space_timesteps(1000, "100"))
    # stride (1000 - 1) / 99, accumulated in float and rounded with Python's round, as ADM does.
    expected, position = [], 0.0
    for _ in range(100):
        expected.append(round(position))
        position += 999 / 99
    assert steps == expected
    assert len(steps) == 100
    assert steps[:8] == [0, 10, 20, 30, 40, 50, 61, 71]
    assert steps[-3:] == [979, 989, 999]


def test_space_timesteps_sections_and_ddim() -> None:
    assert sorted(space_timesteps(300, "10,1")) == [
        0, 17, 33, 50, 66, 83, 99, 116, 132, 149, 150,
    ]  # fmt: skip
    assert sorted(space_timesteps(100, "ddim10")) == list(range(0, 100, 10))
    with pytest.raises(ValueError):
        space_timesteps(10, "20")


def test_respaced_process_keeps_cumulative_alphas() -> None:
    base = GaussianDiffusion()
    spaced = GaussianDiffusion(respacing="100")
    kept = spaced.timestep_map.numpy()
    assert spaced.num_timesteps == 100
    np.testing.assert_allclose(spaced.alphas_cumprod_np, base.alphas_cumprod_np[kept], rtol=1e-12)
    # The model sees the original timestep (ADM's _WrappedModel with rescale_timesteps).
    t = torch.tensor([0, 1, 6, 99])
    assert spaced.model_timesteps(t).tolist() == [0.0, 10.0, 61.0, 999.0]
    assert spaced.model_timesteps(t).dtype == torch.float32


def test_q_sample_statistics() -> None:
    diffusion = GaussianDiffusion(respacing="100")
    generator = torch.Generator().manual_seed(0)
    x0 = torch.full((20000, 1), 0.5)
    t = torch.full((20000,), 40)
    noise = torch.randn(x0.shape, generator=generator)
    xt = diffusion.q_sample(x0, t, noise)
    abar = diffusion.alphas_cumprod_np[40]
    assert xt.mean().item() == pytest.approx(np.sqrt(abar) * 0.5, abs=0.02)
    assert xt.var().item() == pytest.approx(1 - abar, rel=0.03)


def test_q_posterior_against_hand_formula() -> None:
    diffusion = GaussianDiffusion(respacing="10")
    t = torch.tensor([0, 3, 9])
    x0 = torch.randn(3, 2)
    xt = torch.randn(3, 2)
    mean, var, log_var = diffusion.q_posterior(x0, xt, t)
    abar = diffusion.alphas_cumprod_np
    betas = diffusion.betas_np
    for row, step in enumerate(t.tolist()):
        abar_prev = abar[step - 1] if step else 1.0
        alpha = 1 - betas[step]
        c1 = np.sqrt(abar_prev) * betas[step] / (1 - abar[step])
        c2 = np.sqrt(alpha) * (1 - abar_prev) / (1 - abar[step])
        expected = c1 * x0[row].double().numpy() + c2 * xt[row].double().numpy()
        np.testing.assert_allclose(mean[row].numpy(), expected, rtol=1e-5, atol=1e-6)
        tilde = betas[step] * (1 - abar_prev) / (1 - abar[step])
        assert var[row, 0].item() == pytest.approx(tilde, rel=1e-5)
    # log variance at t = 0 is clipped to the value at t = 1.
    first = diffusion.table("posterior_variance")[1].item()
    assert log_var[0, 0].item() == pytest.approx(np.log(first), rel=1e-5)


def _zero_eps_model(learned: float | None = None):
    def model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        eps = torch.zeros_like(x)
        if learned is None:
            return eps
        return torch.cat([eps, torch.full_like(x, learned)], dim=1)

    return model


@pytest.mark.parametrize("variance", ["fixed_small", "fixed_large", "learned_range"])
def test_p_mean_variance(variance: str) -> None:
    diffusion = GaussianDiffusion(respacing="100", variance=variance)  # type: ignore[arg-type]
    model = _zero_eps_model(1.0 if variance == "learned_range" else None)
    x = torch.full((2, 3, 4, 4), 0.3)
    t = torch.tensor([50, 50])
    out = diffusion.p_mean_variance(model, x, t)
    abar = diffusion.alphas_cumprod_np[50]
    assert out["pred_xstart"][0, 0, 0, 0].item() == pytest.approx(min(0.3 / np.sqrt(abar), 1.0))
    expected_log_var = {
        "fixed_small": np.log(
            diffusion.betas_np[50] * (1 - diffusion.alphas_cumprod_np[49]) / (1 - abar)
        ),
        "fixed_large": np.log(diffusion.betas_np[50]),
        "learned_range": np.log(diffusion.betas_np[50]),  # v = 1 -> upper end of the range
    }[variance]
    assert out["log_variance"][0, 0, 0, 0].item() == pytest.approx(expected_log_var, rel=1e-5)


def test_p_sample_adds_no_noise_at_zero() -> None:
    diffusion = GaussianDiffusion(respacing="10", variance="fixed_small")
    x = torch.randn(2, 3, 4, 4)
    t = torch.tensor([0, 5])
    noise = torch.randn_like(x)
    sample, x0 = diffusion.p_sample(_zero_eps_model(), x, t, noise)
    mean = diffusion.p_mean_variance(_zero_eps_model(), x, t)["mean"]
    assert torch.equal(sample[0], mean[0])
    assert not torch.allclose(sample[1], mean[1])
    assert x0.abs().max() <= 1.0


def test_wrong_output_channels_are_reported() -> None:
    diffusion = GaussianDiffusion(variance="learned_range")
    with pytest.raises(ValueError, match="6 output channels"):
        diffusion.p_mean_variance(_zero_eps_model(), torch.zeros(1, 3, 2, 2), torch.tensor([3]))
