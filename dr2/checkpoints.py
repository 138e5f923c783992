"""Loading DR2's official diffusion checkpoint and other ADM UNet checkpoints, safely.

``DR2_FFHQ.pkl`` (DR2), and the ILVR and P2-weighting FFHQ-256 models, are plain state_dicts
written with ``torch.save``. They are read with ``torch.load(weights_only=True)`` (or as
safetensors), never by unpickling code: a file that needs code to load is refused with an error
naming it. The UNet configuration comes from safetensors metadata when present, is the official
FFHQ-256 one when every name and shape matches it, and is otherwise inferred from the shapes.

Example:
    >>> model, diffusion = load_dr2_ffhq256()  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch

from dr2.diffusion import DiffusionConfig, GaussianDiffusion
from dr2.model_io import UNET_KEY, read_metadata
from dr2.unet import UNet, UNetConfig

DR2_WEIGHTS = "dr2_ffhq256"
DR2_RESPACING = "100"


def _block_parts(state_dict: Mapping[str, torch.Tensor], prefix: str) -> dict[int, dict[int, str]]:
    """For ``prefix`` (``input_blocks`` / ``output_blocks``): block -> layer -> kind."""
    kinds: dict[int, dict[int, str]] = {}
    pattern = re.compile(rf"^{prefix}\.(\d+)\.(\d+)\.(\w+)")
    for name in state_dict:
        match = pattern.match(name)
        if not match:
            continue
        block, layer, field = int(match[1]), int(match[2]), match[3]
        kind = {"in_layers": "res", "qkv": "attn", "conv": "resample"}.get(field)
        if kind:
            kinds.setdefault(block, {})[layer] = kind
    return kinds


def infer_config(
    state_dict: Mapping[str, torch.Tensor],
    image_size: int = 256,
    num_head_channels: int = 64,
    num_heads: int = 4,
) -> UNetConfig:
    """The :class:`UNetConfig` of an ADM UNet state_dict, from its names and shapes.

    What the weights cannot tell (the image size, which only scales attention resolutions, and
    the attention head split, which has no parameters) comes from the arguments.

    Raises:
        ValueError: the state_dict is not an ADM UNet.
    """
    required = ("time_embed.0.weight", "input_blocks.0.0.weight", "out.2.weight")
    missing = [k for k in required if k not in state_dict]
    if missing:
        raise ValueError(f"not an ADM UNet state_dict (missing {', '.join(missing)})")
    model_channels = state_dict["time_embed.0.weight"].shape[1]
    in_channels = state_dict["input_blocks.0.0.weight"].shape[1]
    out_channels = state_dict["out.2.weight"].shape[0]
    outputs = _block_parts(state_dict, "output_blocks")
    count = max(outputs) + 1
    upsampling = [
        k for k in sorted(outputs) if len(outputs[k]) > 1 and outputs[k][max(outputs[k])] != "attn"
    ]
    num_res_blocks = upsampling[0] if upsampling else count - 1
    levels = count // (num_res_blocks + 1)
    resblock_updown = (
        bool(upsampling) and outputs[upsampling[0]][max(outputs[upsampling[0]])] == "res"
    )
    channel_mult, attention = [], set()
    for level in range(levels):
        block = (levels - 1 - level) * (num_res_blocks + 1)
        width = state_dict[f"output_blocks.{block}.0.out_layers.3.weight"].shape[0]
        channel_mult.append(width // model_channels)
        if "attn" in outputs[block].values():
            attention.add(image_size // 2**level)
    emb_width = state_dict["input_blocks.1.0.emb_layers.1.weight"].shape[0]
    res_width = state_dict["input_blocks.1.0.out_layers.3.weight"].shape[0]
    return UNetConfig(
        image_size=image_size,
        in_channels=in_channels,
        model_channels=model_channels,
        out_channels=out_channels,
        num_res_blocks=num_res_blocks,
        attention_resolutions=tuple(sorted(attention, reverse=True)),
        channel_mult=tuple(channel_mult),
        num_heads=num_heads,
        num_head_channels=num_head_channels,
        use_scale_shift_norm=emb_width == 2 * res_width,
        resblock_updown=resblock_updown,
        learn_sigma=out_channels == 2 * in_channels,
    )


def _matches(state_dict: Mapping[str, torch.Tensor], config: UNetConfig) -> bool:
    with torch.device("meta"):
        reference = UNet(config).state_dict()
    return set(reference) == set(state_dict) and all(
        tuple(reference[k].shape) == tuple(state_dict[k].shape) for k in reference
    )


def config_for(
    path: Path,
    state_dict: Mapping[str, torch.Tensor],
    image_size: int = 256,
    num_head_channels: int = 64,
) -> UNetConfig:
    """The UNet config of a loaded checkpoint: metadata, else official, else inferred."""
    if path.suffix == ".safetensors":
        metadata = read_metadata(path)
        if UNET_KEY in metadata:
            return UNetConfig.from_json(metadata[UNET_KEY])
    official = UNetConfig.dr2_ffhq256()
    if _matches(state_dict, official):
        return official
    return infer_config(state_dict, image_size=image_size, num_head_channels=num_head_channels)


def load_unet(
    path: str | Path,
    device: torch.device | str = "cpu",
    image_size: int = 256,
    num_head_channels: int = 64,
) -> UNet:
    """An eval-mode UNet from a state_dict checkpoint (``.pkl``/``.pt``/``.pth``/safetensors).

    ``image_size`` and ``num_head_channels`` are used only when the configuration has to be
    inferred from the shapes (see :func:`infer_config`).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        bench.weights.UnsafeCheckpointError: the file would need to run code to load.
        ValueError: the file is not an ADM UNet state_dict.
    """
    from bench.weights import load_checkpoint

    path = Path(path).expanduser()
    state_dict = load_checkpoint(path)
    if not isinstance(state_dict, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state_dict.values()
    ):
        raise ValueError(f"{path}: expected a plain state_dict (name -> tensor)")
    config = config_for(path, state_dict, image_size, num_head_channels)
    model = UNet(config)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{path}: does not fit the UNet {config}: {exc}") from exc
    return model.to(device).eval()


def load_dr2_ffhq256(
    path: str | Path | None = None,
    device: torch.device | str = "cpu",
    respacing: str = DR2_RESPACING,
) -> tuple[UNet, GaussianDiffusion]:
    """DR2's official FFHQ-256 diffusion model and its process (100 respaced steps).

    ``path`` defaults to ``DR2_FFHQ.pkl`` in ``$DR2BENCH_HOME/weights`` (default
    ``~/.cache/dr2bench/weights``).

    Raises:
        bench.weights.MissingWeightsError: the file is not there; the message says where to
            download it (the Google Drive link in https://github.com/Kaiqiwang/DR2's README) and
            where to put it.
    """
    from bench.weights import locate

    model = load_unet(locate(DR2_WEIGHTS, path), device)
    config = DiffusionConfig(respacing=respacing, variance="learned_range")
    return model, GaussianDiffusion.from_config(config)
