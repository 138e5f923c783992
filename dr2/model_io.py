"""Saving and loading diffusion models as safetensors with their configs in the metadata."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from dr2.diffusion import DiffusionConfig
from dr2.unet import UNet, UNetConfig

UNET_KEY = "unet_config"
DIFFUSION_KEY = "diffusion_config"


def save_model(
    model: nn.Module,
    unet_config: UNetConfig,
    diffusion_config: DiffusionConfig,
    path: str | Path,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write ``model``'s weights to ``path`` atomically, configs as JSON metadata.

    Example:
        >>> save_model(model, model.config, DiffusionConfig(), "m.safetensors")  # doctest: +SKIP
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = dict(metadata or {})
    meta[UNET_KEY] = unet_config.to_json()
    meta[DIFFUSION_KEY] = json.dumps(asdict(diffusion_config), sort_keys=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    """The safetensors metadata of ``path`` (empty if none).

    Raises:
        ValueError: ``path`` is not a safetensors file (a pickle renamed, a damaged download).
    """
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except Exception as exc:  # SafetensorError
        raise ValueError(
            f"{path}: not a readable safetensors file ({exc}); give an official checkpoint "
            "its own suffix (.pt, .pth, .pkl): it is then read as a state_dict"
        ) from exc


def load_model(
    path: str | Path, device: torch.device | str = "cpu"
) -> tuple[UNet, DiffusionConfig, dict[str, str]]:
    """Load a model saved by :func:`save_model`: ``(eval-mode UNet, diffusion config, metadata)``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file has no UNet config in its metadata.
    """
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    metadata = read_metadata(path)
    if UNET_KEY not in metadata:
        raise ValueError(f"{path} has no '{UNET_KEY}' metadata (not saved by dr2.model_io)")
    config = UNetConfig.from_json(metadata[UNET_KEY])
    diffusion = DiffusionConfig(**json.loads(metadata.get(DIFFUSION_KEY, "{}")))
    model = UNet(config)
    model.load_state_dict(load_file(str(path)), strict=True)
    return model.to(device).eval(), diffusion, metadata
