"""The ``dr2`` restorer: DR2's first stage (the degradation remover) as a dr2bench plugin.

Inputs are resized (bicubic, antialiased) to the diffusion model's resolution and mapped to
[-1, 1]; the sampler returns the coarse clean face ``x0_hat`` at step tau, which is resized back
to the input size. Compose it with an enhancer as ``dr2+spar`` (or ``dr2+<any restorer>``).

Example:
    >>> restorer = RESTORERS.create("dr2.n8t35")  # doctest: +SKIP
    >>> restorer.load("cpu"); out = restorer.restore(images, seeds=[0, 1])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bench.contracts import Restorer

if TYPE_CHECKING:
    import torch

DEMO_MODEL = Path(__file__).with_name("demo") / "ddpm_celeba64.safetensors"
FACTORS = (1, 2, 4, 8, 16)
TAUS = (10, 20, 35, 50)
# ``weights`` values naming a checkpoint of bench/weights.yaml (FFHQ-256 models, one layout)
CHECKPOINTS = {"official": "dr2_ffhq256", "ilvr": "ilvr_ffhq256", "p2": "p2_ffhq256"}


class DR2(Restorer):
    """DR2 stage one: diffuse the input, then denoise under low-pass guidance."""

    version = 1
    description = "DR2 stage one: diffused input denoised under low-pass guidance (coarse face)"
    stochastic = True
    weights = ("dr2_ffhq256",)
    tags = {f"n{n}t{t}": {"N": n, "tau": t} for n in FACTORS for t in TAUS}

    @dataclass(frozen=True)
    class Params:
        """Attributes:
        N: Low-pass factor of the guidance (1, 2, 4, 8, 16...).
        tau: Output step, in respaced steps (0..K-1).
        omega: Start step (default: tau + 5..30 by N, clamped to K-1).
        K: Number of respaced steps.
        weights: ``demo`` (the model shipped in dr2/demo), ``official`` (DR2_FFHQ.pkl from the
            weights folder), ``ilvr`` (ILVR's ffhq_10m.pt), ``p2`` (P2-weighting's
            ffhq_p2.pt) or the path of a checkpoint.
        autocast: Run the network under ``bf16`` or ``fp16`` autocast (GPU).
        compile: Wrap the network with ``torch.compile`` (GPU).
        batch_invariant: Sample image by image, so an output is bit-identical whatever batch it
            is in (the default: runs are reproducible to the byte with any batch size). Batched
            sampling is faster (more so on GPU) but differs from it by float rounding, ~5e-5.
        guide_step: ``previous`` (the paper) or ``current`` (ILVR's released code).
        """

        N: int = 4
        tau: int = 35
        omega: int | None = None
        K: int = 100
        weights: str = "demo"
        autocast: Literal["bf16", "fp16"] | None = None
        compile: bool = False
        batch_invariant: bool = True
        guide_step: Literal["previous", "current"] = "previous"

        def __post_init__(self) -> None:
            if self.N < 1:
                raise ValueError(f"N must be at least 1, not {self.N}")
            if not 0 <= self.tau < self.K:
                raise ValueError(f"tau={self.tau} must be in 0..K-1 = 0..{self.K - 1}")
            if self.omega is not None and not self.tau <= self.omega < self.K:
                raise ValueError(
                    f"omega={self.omega} must be in tau..K-1 = {self.tau}..{self.K - 1}"
                )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.sampler: Any = None

    def model_path(self) -> Path:
        """The checkpoint this restorer samples with."""
        from bench.weights import locate

        weights = self.params.weights
        if weights == "demo":
            return DEMO_MODEL
        if weights in CHECKPOINTS:
            return locate(CHECKPOINTS[weights])
        return locate("dr2_ffhq256", weights)

    def _lookup_weights(self) -> list[Path | str]:
        """The checkpoint (:meth:`model_path`), or why it is missing."""
        try:
            return [self.model_path()]
        except FileNotFoundError as exc:
            return [str(exc)]

    def load(self, device: str = "cpu") -> None:
        import torch

        from dr2.sampler import DR2Sampler

        path = self.model_path()
        model, diffusion = load_diffusion(path, self.params.K, device)
        size = model.config.image_size
        if size % self.params.N:
            raise ValueError(
                f"N={self.params.N} does not divide the {size}x{size} resolution of {path} "
                "(use 1, 2, 4, 8, ...)"
            )
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, None: None}[self.params.autocast]
        self.sampler = DR2Sampler(
            model,
            diffusion,
            device=device,
            autocast_dtype=dtype,
            compile=self.params.compile,
            guide_step=self.params.guide_step,
        )

    def restore(self, images: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        import torch.nn.functional as F

        if self.sampler is None:
            self.load(str(images.device))
        size = self.sampler.model.config.image_size
        height, width = images.shape[-2:]
        y = F.interpolate(images, size=(size, size), mode="bicubic", antialias=True).clamp(0, 1)
        p = self.params
        x0 = self.sampler.restore(y * 2 - 1, seeds, p.N, p.tau, p.omega, p.batch_invariant)
        out = F.interpolate((x0 + 1) / 2, size=(height, width), mode="bicubic", antialias=True)
        return out.clamp(0, 1).to(images.device)


def load_diffusion(path: Path, respaced_steps: int, device: str) -> tuple[Any, Any]:
    """The UNet and its process respaced to ``respaced_steps``, from a demo or official file."""
    from dataclasses import replace

    from dr2.checkpoints import load_dr2_ffhq256
    from dr2.diffusion import GaussianDiffusion
    from dr2.model_io import UNET_KEY, load_model, read_metadata

    if path.suffix == ".safetensors" and UNET_KEY in read_metadata(path):
        model, config, _ = load_model(path, device)
        return model, GaussianDiffusion.from_config(replace(config, respacing=str(respaced_steps)))
    return load_dr2_ffhq256(path, device, respacing=str(respaced_steps))
