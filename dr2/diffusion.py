"""Gaussian diffusion as in ADM (guided-diffusion), with timestep respacing.

The schedule is computed once in float64 (numpy) and kept as float32 tensors, which gives the
same values ADM gets by gathering float64 arrays and casting to float. A
:class:`GaussianDiffusion` built with ``respacing="100"`` is ADM's ``SpacedDiffusion``: its index
``t`` runs over 0..K-1 and the model is called with the original timestep ``timestep_map[t]``
(what ADM's ``_WrappedModel`` passes, with or without ``rescale_timesteps``, for a 1000-step base
process).

Example:
    >>> diffusion = GaussianDiffusion(respacing="100")
    >>> diffusion.num_timesteps, diffusion.timestep_map[:4].tolist()
    (100, [0, 10, 20, 30])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

VarianceType = Literal["learned_range", "fixed_small", "fixed_large"]
Model = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def linear_betas(num_timesteps: int = 1000) -> np.ndarray:
    """ADM's ``linear`` schedule: 1e-4..0.02 scaled by ``1000 / num_timesteps``, float64."""
    scale = 1000 / num_timesteps
    return np.linspace(scale * 0.0001, scale * 0.02, num_timesteps, dtype=np.float64)


def space_timesteps(num_timesteps: int, section_counts: str | list[int]) -> set[int]:
    """Which original timesteps to keep, exactly as ADM's ``space_timesteps``.

    Args:
        num_timesteps: length of the original process.
        section_counts: comma-separated counts per equal section, e.g. ``"100"`` or ``"10,15,20"``;
            ``"ddimN"`` gives ADM's DDIM striding.

    Example:
        >>> sorted(space_timesteps(10, "3"))
        [0, 4, 9]
    """
    if isinstance(section_counts, str):
        if section_counts.startswith("ddim"):
            desired = int(section_counts[len("ddim") :])
            for ddim_stride in range(1, num_timesteps):
                if len(range(0, num_timesteps, ddim_stride)) == desired:
                    return set(range(0, num_timesteps, ddim_stride))
            raise ValueError(f"cannot create exactly {desired} steps with an integer stride")
        section_counts = [int(x) for x in section_counts.split(",")]
    size_per = num_timesteps // len(section_counts)
    extra = num_timesteps % len(section_counts)
    start = 0
    steps: list[int] = []
    for i, count in enumerate(section_counts):
        size = size_per + (1 if i < extra else 0)
        if size < count:
            raise ValueError(f"cannot divide a section of {size} steps into {count}")
        stride = 1 if count <= 1 else (size - 1) / (count - 1)
        position = 0.0
        for _ in range(count):
            steps.append(start + round(position))  # Python's round, as ADM
            position += stride
        start += size
    return set(steps)


@dataclass(frozen=True)
class DiffusionConfig:
    """How the process is defined: base steps, respacing, and what the model predicts.

    Attributes:
        steps: length of the original process (1000 in ADM and DR2).
        respacing: ``space_timesteps`` sections, e.g. ``"100"``; empty for no respacing.
        variance: ``learned_range`` (the model outputs 2C channels) or a fixed variance.
        clip_denoised: clip the predicted x0 to [-1, 1].
    """

    steps: int = 1000
    respacing: str = ""
    variance: VarianceType = "learned_range"
    clip_denoised: bool = True


class GaussianDiffusion:
    """The forward process, its posterior and the model's reverse step (epsilon prediction).

    Args:
        steps: length of the original linear-beta process.
        respacing: ``space_timesteps`` sections ("" keeps every step).
        variance: variance type of the reverse process.
        clip_denoised: clip predicted x0 to [-1, 1].
    """

    def __init__(
        self,
        steps: int = 1000,
        respacing: str = "",
        variance: VarianceType = "learned_range",
        clip_denoised: bool = True,
    ) -> None:
        self.config = DiffusionConfig(steps, respacing, variance, clip_denoised)
        base_betas = linear_betas(steps)
        if respacing:
            keep = space_timesteps(steps, respacing)
            base_cumprod = np.cumprod(1.0 - base_betas)
            betas, timestep_map, last = [], [], 1.0
            for i, alpha_cumprod in enumerate(base_cumprod):
                if i in keep:
                    betas.append(1 - alpha_cumprod / last)
                    last = alpha_cumprod
                    timestep_map.append(i)
            base_betas = np.array(betas, dtype=np.float64)
        else:
            timestep_map = list(range(steps))
        self.variance = variance
        self.clip_denoised = clip_denoised
        self.num_timesteps = len(base_betas)
        self.timestep_map = torch.tensor(timestep_map, dtype=torch.long)
        self._set_schedule(base_betas)

    @classmethod
    def from_config(cls, config: DiffusionConfig) -> GaussianDiffusion:
        """The process described by ``config``."""
        return cls(config.steps, config.respacing, config.variance, config.clip_denoised)

    def _set_schedule(self, betas: np.ndarray) -> None:
        alphas = 1.0 - betas
        cumprod = np.cumprod(alphas)
        cumprod_prev = np.append(1.0, cumprod[:-1])
        posterior_variance = betas * (1.0 - cumprod_prev) / (1.0 - cumprod)
        self.betas_np = betas
        self.alphas_cumprod_np = cumprod
        arrays = {
            "betas": betas,
            "alphas_cumprod": cumprod,
            "alphas_cumprod_prev": cumprod_prev,
            "sqrt_alphas_cumprod": np.sqrt(cumprod),
            "sqrt_one_minus_alphas_cumprod": np.sqrt(1.0 - cumprod),
            "sqrt_recip_alphas_cumprod": np.sqrt(1.0 / cumprod),
            "sqrt_recipm1_alphas_cumprod": np.sqrt(1.0 / cumprod - 1),
            "posterior_variance": posterior_variance,
            "posterior_log_variance_clipped": np.log(
                np.append(posterior_variance[1], posterior_variance[1:])
            ),
            "posterior_mean_coef1": betas * np.sqrt(cumprod_prev) / (1.0 - cumprod),
            "posterior_mean_coef2": (1.0 - cumprod_prev) * np.sqrt(alphas) / (1.0 - cumprod),
            "log_betas": np.log(betas),
            "large_variance": np.append(posterior_variance[1], betas[1:]),
        }
        arrays["log_large_variance"] = np.log(arrays["large_variance"])
        self._cpu = {name: torch.from_numpy(value).float() for name, value in arrays.items()}
        self._device_cache: dict[torch.device, dict[str, torch.Tensor]] = {
            torch.device("cpu"): self._cpu
        }

    def table(self, name: str, device: torch.device | str = "cpu") -> torch.Tensor:
        """The float32 schedule array ``name`` on ``device`` (moved once, then cached)."""
        device = torch.device(device)
        if device not in self._device_cache:
            self._device_cache[device] = {k: v.to(device) for k, v in self._cpu.items()}
        return self._device_cache[device][name]

    def extract(self, name: str, t: torch.Tensor, ndim: int) -> torch.Tensor:
        """Schedule values at indices ``t`` (shape ``(B,)``), shaped ``(B, 1, ..., 1)``."""
        values = self.table(name, t.device)[t]
        return values.reshape(values.shape + (1,) * (ndim - 1))

    def model_timesteps(self, t: torch.Tensor) -> torch.Tensor:
        """The timesteps the network sees for indices ``t``: original steps, as float."""
        mapping = self.timestep_map.to(t.device)
        return mapping[t].float() * (1000.0 / self.config.steps)

    def q_sample(
        self, x_start: torch.Tensor, t: torch.Tensor, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Sample ``q(x_t | x_0)``."""
        if noise is None:
            noise = torch.randn_like(x_start)
        return (
            self.extract("sqrt_alphas_cumprod", t, x_start.ndim) * x_start
            + self.extract("sqrt_one_minus_alphas_cumprod", t, x_start.ndim) * noise
        )

    def q_posterior(
        self, x_start: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mean, variance and clipped log variance of ``q(x_{t-1} | x_t, x_0)``."""
        n = x_t.ndim
        mean = (
            self.extract("posterior_mean_coef1", t, n) * x_start
            + self.extract("posterior_mean_coef2", t, n) * x_t
        )
        return (
            mean,
            self.extract("posterior_variance", t, n),
            self.extract("posterior_log_variance_clipped", t, n),
        )

    def predict_xstart_from_eps(
        self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor
    ) -> torch.Tensor:
        """x0 implied by noise prediction ``eps`` at ``x_t``."""
        n = x_t.ndim
        return (
            self.extract("sqrt_recip_alphas_cumprod", t, n) * x_t
            - self.extract("sqrt_recipm1_alphas_cumprod", t, n) * eps
        )

    def model_log_variance(
        self, t: torch.Tensor, var_values: torch.Tensor | None, ndim: int
    ) -> torch.Tensor:
        """Log variance of ``p(x_{t-1} | x_t)`` for this process's variance type."""
        if self.variance == "learned_range":
            if var_values is None:
                raise ValueError("learned_range variance needs the model's variance channels")
            min_log = self.extract("posterior_log_variance_clipped", t, ndim)
            max_log = self.extract("log_betas", t, ndim)
            frac = (var_values + 1) / 2
            return frac * max_log + (1 - frac) * min_log
        if self.variance == "fixed_small":
            return self.extract("posterior_log_variance_clipped", t, ndim)
        if self.variance == "fixed_large":
            return self.extract("log_large_variance", t, ndim)
        raise ValueError(f"unknown variance type {self.variance!r}")

    def p_mean_variance(
        self, model: Model, x: torch.Tensor, t: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Run the model: mean, log variance and predicted x0 (clipped) of ``p(x_{t-1} | x_t)``.

        Returns:
            A dict with ``mean``, ``log_variance``, ``pred_xstart`` and ``eps``.
        """
        output = model(x, self.model_timesteps(t)).float()
        return self.mean_variance_from_output(output, x, t, self.clip_denoised)

    def mean_variance_from_output(
        self, output: torch.Tensor, x: torch.Tensor, t: torch.Tensor, clip: bool
    ) -> dict[str, torch.Tensor]:
        """:meth:`p_mean_variance` given the model's raw ``output`` for ``(x, t)``."""
        channels = x.shape[1]
        learned = self.variance == "learned_range"
        expected = 2 * channels if learned else channels
        if output.shape[1] != expected:
            raise ValueError(
                f"{self.variance} variance needs {expected} output channels, got {output.shape[1]}"
            )
        eps, var_values = output[:, :channels], (output[:, channels:] if learned else None)
        log_variance = self.model_log_variance(t, var_values, x.ndim)
        pred_xstart = self.predict_xstart_from_eps(x, t, eps)
        if clip:
            pred_xstart = pred_xstart.clamp(-1, 1)
        mean, _, _ = self.q_posterior(pred_xstart, x, t)
        return {"mean": mean, "log_variance": log_variance, "pred_xstart": pred_xstart, "eps": eps}

    def p_sample(
        self, model: Model, x: torch.Tensor, t: torch.Tensor, noise: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One reverse step: ``(x_{t-1}, predicted x0)``; no noise is added at ``t == 0``."""
        out = self.p_mean_variance(model, x, t)
        if noise is None:
            noise = torch.randn_like(x)
        nonzero = (t != 0).float().reshape(-1, *([1] * (x.ndim - 1)))
        sample = out["mean"] + nonzero * torch.exp(0.5 * out["log_variance"]) * noise
        return sample, out["pred_xstart"]

    def p_sample_loop(
        self,
        model: Model,
        shape: tuple[int, ...],
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> torch.Tensor:
        """Unconditional ancestral sampling from pure noise down to ``t = 0``."""
        x = torch.randn(shape, generator=generator, device=device)
        for step in range(self.num_timesteps - 1, -1, -1):
            t = torch.full((shape[0],), step, dtype=torch.long, device=device)
            noise = torch.randn(shape, generator=generator, device=device)
            x, _ = self.p_sample(model, x, t, noise)
        return x
