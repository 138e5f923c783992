"""Training losses of ADM: epsilon MSE, plus the VLB term for learned-range variance."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from dr2.diffusion import GaussianDiffusion


def normal_kl(
    mean1: torch.Tensor, logvar1: torch.Tensor, mean2: torch.Tensor, logvar2: torch.Tensor
) -> torch.Tensor:
    """KL(N(mean1, exp(logvar1)) || N(mean2, exp(logvar2))), elementwise, in nats."""
    return 0.5 * (
        -1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2)
        + (mean1 - mean2) ** 2 * torch.exp(-logvar2)
    )  # fmt: skip


def approx_standard_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    """The tanh approximation of the standard normal CDF used by ADM."""
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def discretized_gaussian_log_likelihood(
    x: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor
) -> torch.Tensor:
    """Log-likelihood of 8-bit images ``x`` in [-1, 1] under a discretised Gaussian (nats)."""
    centered = x - means
    inv_stdv = torch.exp(-log_scales)
    cdf_plus = approx_standard_normal_cdf(inv_stdv * (centered + 1.0 / 255.0))
    cdf_min = approx_standard_normal_cdf(inv_stdv * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    log_delta = torch.log((cdf_plus - cdf_min).clamp(min=1e-12))
    return torch.where(
        x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_one_minus_cdf_min, log_delta)
    )


def vb_terms_bits(
    diffusion: GaussianDiffusion,
    output: torch.Tensor,
    x_start: torch.Tensor,
    x_t: torch.Tensor,
    t: torch.Tensor,
) -> torch.Tensor:
    """Per-image VLB term in bits: KL for t > 0, decoder NLL at t = 0 (no x0 clipping)."""
    true_mean, _, true_log_var = diffusion.q_posterior(x_start, x_t, t)
    out = diffusion.mean_variance_from_output(output, x_t, t, clip=False)
    kl = normal_kl(true_mean, true_log_var, out["mean"], out["log_variance"])
    kl = kl.flatten(1).mean(1) / math.log(2.0)
    nll = -discretized_gaussian_log_likelihood(
        x_start, means=out["mean"], log_scales=0.5 * out["log_variance"]
    )
    nll = nll.flatten(1).mean(1) / math.log(2.0)
    return torch.where(t == 0, nll, kl)


def training_loss(
    model: nn.Module,
    diffusion: GaussianDiffusion,
    x_start: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
) -> torch.Tensor:
    """ADM's loss: epsilon MSE, plus (learned range) the VLB with the mean's gradient stopped.

    The VLB term is scaled by ``num_timesteps / 1000`` as in ADM's hybrid loss.
    """
    x_t = diffusion.q_sample(x_start, t, noise)
    output = model(x_t, diffusion.model_timesteps(t)).float()
    channels = x_start.shape[1]
    eps = output[:, :channels]
    loss = F.mse_loss(eps, noise)
    if diffusion.variance == "learned_range":
        frozen = torch.cat([eps.detach(), output[:, channels:]], dim=1)
        vb = vb_terms_bits(diffusion, frozen, x_start, x_t, t)
        loss = loss + vb.mean() * (diffusion.num_timesteps / 1000.0)
    return loss
