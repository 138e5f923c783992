"""The DR2 sampler: hand-checked steps, per-image seeds, the omega rule."""

from __future__ import annotations

import pytest
import torch

from dr2.diffusion import GaussianDiffusion
from dr2.sampler import DR2Sampler, default_omega
from dr2.unet import UNet, UNetConfig

TINY = UNetConfig(
    image_size=16,
    model_channels=32,
    num_res_blocks=1,
    channel_mult=(1, 2),
    attention_resolutions=(8,),
    num_head_channels=32,
)


@pytest.fixture
def tiny_model() -> UNet:
    torch.manual_seed(0)
    model = UNet(TINY)
    for parameter in model.parameters():
        torch.nn.init.normal_(parameter, std=0.05)
    return model.eval()


def _inputs(batch: int = 2) -> torch.Tensor:
    return torch.rand(batch, 3, 16, 16, generator=torch.Generator().manual_seed(7)) * 2 - 1


def _noise(seed: int) -> torch.Tensor:
    return torch.randn((1, 3, 16, 16), generator=torch.Generator().manual_seed(seed))


class ZeroEps(torch.nn.Module):
    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


def test_single_step_with_zero_noise_prediction_by_hand() -> None:
    diffusion = GaussianDiffusion(respacing="100", variance="fixed_small")
    sampler = DR2Sampler(ZeroEps(), diffusion)
    y = _inputs()
    out = sampler.restore(y, seeds=[3, 4], factor=1, tau=20, omega=20)
    abar = float(diffusion.alphas_cumprod_np[20])
    noise = torch.cat([_noise(3), _noise(4)])
    expected = (y + (1 - abar) ** 0.5 / abar**0.5 * noise).clamp(-1, 1)
    assert torch.allclose(out, expected, atol=1e-5)


def test_tau_equals_omega_is_the_models_x0_prediction(tiny_model: UNet) -> None:
    diffusion = GaussianDiffusion(respacing="100", variance="fixed_small")
    sampler = DR2Sampler(tiny_model, diffusion, channels_last=False)
    y = _inputs()
    out = sampler.restore(y, seeds=[5, 6], factor=1, tau=30, omega=30)
    t = torch.full((2,), 30)
    x_t = diffusion.q_sample(y, t, torch.cat([_noise(5), _noise(6)]))
    with torch.no_grad():
        eps = tiny_model(x_t, torch.full((2,), float(diffusion.timestep_map[30])))
    expected = diffusion.predict_xstart_from_eps(x_t, t, eps).clamp(-1, 1)
    assert torch.allclose(out, expected, atol=1e-5)


def test_n1_skips_to_tau_with_a_fresh_sample(tiny_model: UNet) -> None:
    """With N = 1 the guided x_{t-1} is y_{t-1}: only the last step uses the network."""
    diffusion = GaussianDiffusion(respacing="100", variance="fixed_small")
    sampler = DR2Sampler(tiny_model, diffusion, channels_last=False)
    y = _inputs(1)
    out = sampler.restore(y, seeds=[9], factor=1, tau=10, omega=12)
    generator = torch.Generator().manual_seed(9)
    draws = [torch.randn((1, 3, 16, 16), generator=generator) for _ in range(6)]
    # Draw order: omega noise, then per step (12, 11): step noise, guide noise; step 10: step noise.
    x_t = diffusion.q_sample(y, torch.tensor([10]), draws[4])
    with torch.no_grad():
        eps = tiny_model(x_t, torch.tensor([101.0]))  # respaced index 10 is step 101
    expected = diffusion.predict_xstart_from_eps(x_t, torch.tensor([10]), eps).clamp(-1, 1)
    assert torch.allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("variance", ["fixed_small", "learned_range"])
def test_same_seed_same_bytes_at_batch_1_and_8(variance: str) -> None:
    learned = variance == "learned_range"
    config = UNetConfig.from_dict(
        {**TINY.to_dict(), "learn_sigma": learned, "out_channels": 6 if learned else 3}
    )
    torch.manual_seed(1)
    model = UNet(config)
    for parameter in model.parameters():
        torch.nn.init.normal_(parameter, std=0.05)
    sampler = DR2Sampler(model, GaussianDiffusion(respacing="100", variance=variance))  # type: ignore[arg-type]
    y = _inputs(8)
    seeds = list(range(100, 108))
    batched = sampler.restore(y, seeds, factor=4, tau=5, omega=9, batch_invariant=True)
    for i in (0, 5):
        single = sampler.restore(y[i : i + 1], seeds[i : i + 1], factor=4, tau=5, omega=9)
        assert torch.equal(single[0], batched[i])
    fast = sampler.restore(y, seeds, factor=4, tau=5, omega=9)
    assert torch.allclose(fast, batched, atol=1e-4)
    other = sampler.restore(y[:1], [999], factor=4, tau=5, omega=9)
    assert not torch.allclose(other[0], batched[0])


def test_guidance_keeps_the_low_frequencies_of_y(tiny_model: UNet) -> None:
    diffusion = GaussianDiffusion(respacing="100", variance="fixed_small")
    sampler = DR2Sampler(tiny_model, diffusion)
    y = _inputs(2)
    out = sampler.restore(y, seeds=[1, 2], factor=2, tau=0, omega=10)
    assert out.shape == y.shape and out.abs().max() <= 1.0
    phi = sampler.low_pass(16, 2)
    unguided = torch.rand_like(y) * 2 - 1
    assert (phi(out) - phi(y)).abs().mean() < (phi(unguided) - phi(y)).abs().mean()


def test_default_omega_rule_and_clamp() -> None:
    assert [default_omega(10, n, 100) for n in (1, 2, 4, 8, 16)] == [15, 20, 30, 35, 40]
    assert default_omega(3, 3, 100) == 23
    assert default_omega(90, 8, 100) == 99
    assert default_omega(99, 1, 100) == 99
    sampler = DR2Sampler(ZeroEps(), GaussianDiffusion(respacing="100", variance="fixed_small"))
    assert sampler.resolve_omega(35, 4, None) == 55
    with pytest.raises(ValueError, match="omega"):
        sampler.resolve_omega(35, 4, 30)
    with pytest.raises(ValueError, match="tau"):
        sampler.resolve_omega(100, 4, None)
    with pytest.raises(ValueError, match="seeds"):
        sampler.restore(torch.zeros(2, 3, 16, 16), [1], factor=1, tau=1)
