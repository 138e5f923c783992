"""The DR2 sampler: diffuse the degraded input, denoise a few steps under low-pass guidance.

With respaced steps ``t`` (0..K-1), input ``y`` in [-1, 1] at the model's resolution, low-pass
factor N, output step tau and start omega:

    x_omega = q_sample(y, omega)
    for t = omega, omega - 1, ..., tau:
        x_{t-1}, x0_hat = p_sample(x_t, t)           # x0 clipped to [-1, 1]
        if t == tau: return x0_hat
        x_{t-1} = x_{t-1} - Phi_N(x_{t-1}) + Phi_N(q_sample(y, t-1))   # N = 1: q_sample(y, t-1)

Every image draws its noise from its own ``torch.Generator`` seeded with its seed, in a fixed
order, so its random numbers never depend on the batch it is in. With ``batch_invariant=True``
the computation itself runs image by image, which makes the output bytes independent of the batch
too; batched runs agree with it to float rounding (about 1e-6): oneDNN and cuDNN pick kernels by
batch size, and the summation order with them.

Example:
    >>> sampler = DR2Sampler(model, GaussianDiffusion(respacing="100"))  # doctest: +SKIP
    >>> x0 = sampler.restore(y, seeds=[0, 1], factor=4, tau=35)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from dr2.diffusion import GaussianDiffusion
from dr2.resize import LowPass

GuideStep = Literal["previous", "current"]
OMEGA_GAPS = ((1, 5), (2, 10), (4, 20), (8, 25))  # (largest N, D) of default_omega; 30 above


def default_omega(tau: int, factor: int, num_timesteps: int) -> int:
    """DR2's start step: ``min(tau + D, K - 1)``, D growing with the low-pass factor N.

    D is 5 for N = 1, 10 for N = 2, 20 for N <= 4, 25 for N <= 8 and 30 above.

    Example:
        >>> default_omega(35, 4, 100), default_omega(90, 16, 100)
        (55, 99)
    """
    gap = next((d for largest, d in OMEGA_GAPS if factor <= largest), 30)
    return min(tau + gap, num_timesteps - 1)


class DR2Sampler:
    """Runs DR2 with one diffusion model.

    The model is moved to ``device``, put in eval mode and (with ``channels_last``) converted to
    channels-last in place.

    Args:
        model: the UNet (epsilon, or epsilon + variance values for learned-range variance).
        diffusion: the (respaced) process the model is sampled with.
        device: where to run; the model is moved there.
        autocast_dtype: ``torch.bfloat16`` / ``torch.float16`` to run the network under autocast.
        channels_last: run the network in channels-last memory format.
        compile: wrap the network with ``torch.compile`` (useful on GPU).
        guide_step: ``previous`` guides ``x_{t-1}`` with ``y_{t-1}`` (the DR2 and ILVR papers);
            ``current`` with ``y_t``, as ILVR's released code does.
    """

    def __init__(
        self,
        model: nn.Module,
        diffusion: GaussianDiffusion,
        device: torch.device | str = "cpu",
        autocast_dtype: torch.dtype | None = None,
        channels_last: bool = True,
        compile: bool = False,
        guide_step: GuideStep = "previous",
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.channels_last = channels_last
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.network: nn.Module = torch.compile(self.model) if compile else self.model  # type: ignore[assignment]
        self.diffusion = diffusion
        self.autocast_dtype = autocast_dtype
        if guide_step not in ("previous", "current"):
            raise ValueError(f"guide_step must be 'previous' or 'current', not {guide_step!r}")
        self.guide_step = guide_step
        self._low_pass: dict[tuple[int, int], LowPass] = {}

    def _net(self, x: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        autocast = (
            torch.autocast(self.device.type, dtype=self.autocast_dtype)
            if self.autocast_dtype is not None
            else contextlib.nullcontext()
        )
        with autocast:
            return self.network(x, timesteps).float()

    def low_pass(self, size: int, factor: int) -> LowPass:
        """The cached Phi_N for ``size`` x ``size`` images."""
        return self._low_pass.setdefault((size, factor), LowPass(size, factor))

    def resolve_omega(self, tau: int, factor: int, omega: int | None) -> int:
        """``omega`` checked against ``tau`` and K, or the default rule."""
        k = self.diffusion.num_timesteps
        if not 0 <= tau < k:
            raise ValueError(f"tau={tau} is outside 0..{k - 1}")
        if omega is None:
            return default_omega(tau, factor, k)
        if not tau <= omega < k:
            raise ValueError(f"omega={omega} must be in tau..K-1 = {tau}..{k - 1}")
        return omega

    @torch.inference_mode()
    def restore(
        self,
        y: torch.Tensor,
        seeds: Sequence[int],
        factor: int,
        tau: int,
        omega: int | None = None,
        batch_invariant: bool = False,
    ) -> torch.Tensor:
        """DR2's output ``x0_hat`` at step ``tau`` for inputs ``y`` (``(B, C, S, S)``, [-1, 1]).

        Args:
            y: degraded images at the model's resolution, in [-1, 1].
            seeds: one seed per image.
            factor: the low-pass factor N.
            tau: output step (respaced index).
            omega: start step (default: :func:`default_omega`).
            batch_invariant: run image by image, so each output is bit-identical whatever the
                batch (slower on CPU than batched).

        Returns:
            ``(B, C, S, S)`` float32 in [-1, 1], on the sampler's device.
        """
        if len(seeds) != y.shape[0]:
            raise ValueError(f"{y.shape[0]} images but {len(seeds)} seeds")
        omega = self.resolve_omega(tau, factor, omega)
        y = y.to(self.device, torch.float32)
        if batch_invariant and y.shape[0] > 1:
            parts = [
                self._restore(y[i : i + 1], seeds[i : i + 1], factor, tau, omega)
                for i in range(y.shape[0])
            ]
            return torch.cat(parts)
        return self._restore(y, seeds, factor, tau, omega)

    def _restore(
        self, y: torch.Tensor, seeds: Sequence[int], factor: int, tau: int, omega: int
    ) -> torch.Tensor:
        diffusion = self.diffusion
        batch, shape = y.shape[0], (1, *y.shape[1:])
        generators = [torch.Generator(self.device).manual_seed(int(s)) for s in seeds]

        def noise() -> torch.Tensor:
            draws = [torch.randn(shape, generator=g, device=self.device) for g in generators]
            return torch.cat(draws)

        def steps(index: int) -> torch.Tensor:
            return torch.full((batch,), index, dtype=torch.long, device=self.device)

        phi = self.low_pass(y.shape[-1], factor)
        x = diffusion.q_sample(y, steps(omega), noise())
        for t in range(omega, tau - 1, -1):
            step_noise = noise()
            if factor == 1 and t > tau:
                # Phi_1 is the identity: x_{t-1} is replaced by y_{t-1}, so skip the network.
                x_prev = None
            else:
                x_prev, x0 = diffusion.p_sample(self._net, x, steps(t), step_noise)
                if t == tau:
                    return x0
            guide_t = t - 1 if self.guide_step == "previous" else t
            y_t = diffusion.q_sample(y, steps(guide_t), noise())
            x = y_t if x_prev is None else x_prev - phi(x_prev) + phi(y_t)
        raise AssertionError("unreachable: the loop returns at t == tau")
