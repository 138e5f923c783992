"""Finding and safely loading weights files, from the manifest in ``bench/weights.yaml``.

Lookup order for a manifest entry: an explicit path given by the user, then
``$DR2BENCH_HOME/weights/<file>``, then (for torchvision backbones) torchvision's download cache
``$TORCH_HOME/hub/checkpoints/<file>``. Nothing is ever downloaded: a missing file raises
:class:`MissingWeightsError`, one sentence naming the file, where to get it and where to put it.

Checkpoints are read only as safetensors or with ``torch.load(weights_only=True)``; a pickle that
would run code is refused with :class:`UnsafeCheckpointError`.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bench.config import build, load_yaml
from bench.contracts import Unavailable
from bench.files import sha256_file
from bench.home import weights_dir
from bench.registry import suggest

MANIFEST = Path(__file__).with_name("weights.yaml")


@dataclass(frozen=True)
class WeightsEntry:
    """One file of weights: what it is, where it comes from, who uses it."""

    name: str
    file: str
    url: str
    licence: str
    used_by: tuple[str, ...]
    sha256: str | None = None
    search: tuple[Literal["weights", "torch_hub"], ...] = ("weights",)


class MissingWeightsError(Unavailable, FileNotFoundError):
    """A weights file is not where dr2bench looks; the message says what to do."""


class UnsafeCheckpointError(ValueError):
    """A checkpoint would need to run code to load; it is refused."""


@functools.cache
def manifest() -> dict[str, WeightsEntry]:
    """Every manifest entry by name."""
    entries = [build(WeightsEntry, row, where=str(MANIFEST)) for row in load_yaml(MANIFEST)]
    return {entry.name: entry for entry in entries}


def entry(name: str) -> WeightsEntry:
    """The manifest entry ``name``."""
    entries = manifest()
    if name not in entries:
        raise KeyError(f"no weights named '{name}' in {MANIFEST}{suggest(name, list(entries))}")
    return entries[name]


def torch_hub_dir() -> Path:
    """torchvision's download cache, ``$TORCH_HOME/hub/checkpoints``."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return Path(torch_home) / "hub" / "checkpoints"


def search_paths(item: WeightsEntry) -> list[Path]:
    """Where dr2bench looks for ``item``, in order."""
    folders = {"weights": weights_dir(), "torch_hub": torch_hub_dir()}
    return [folders[place] / item.file for place in item.search]


def locate(name: str, explicit: str | Path | None = None) -> Path:
    """The path of the weights ``name``: ``explicit`` if given, else the first search path.

    Raises:
        MissingWeightsError: no file found (or ``explicit`` does not exist).
    """
    item = entry(name)
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise MissingWeightsError(
                f"weights file {path} does not exist (expected {item.file} from {item.url})"
            )
        return path
    candidates = search_paths(item)
    for path in candidates:
        if path.is_file():
            return path
    users = ", ".join(item.used_by)
    raise MissingWeightsError(
        f"missing weights {item.file} (needed by {users}): download it from {item.url} "
        f"and put it at {candidates[0]}, or pass its path explicitly "
        f"(looked in: {', '.join(str(c.parent) for c in candidates)})"
    )


def verify(path: str | Path, item: WeightsEntry) -> bool | None:
    """Whether ``path`` matches the manifest's sha256 (a prefix is accepted); None if unknown."""
    if not item.sha256:
        return None
    return sha256_file(path).startswith(item.sha256)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint safely: safetensors, or ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnsafeCheckpointError: the file is a pickle that needs arbitrary code to load.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:  # SafetensorError: a damaged or mislabelled file
            raise UnsafeCheckpointError(f"{path}: not a readable safetensors file ({exc})") from exc
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        if "weights_only" in str(exc) or "Unsupported" in str(exc):
            raise UnsafeCheckpointError(
                f"{path}: refused to load: the file is a pickle that would run code or build "
                "objects other than tensors (only safetensors and plain state_dict checkpoints "
                f"are accepted). Detail: {str(exc).splitlines()[0]}"
            ) from exc
        raise UnsafeCheckpointError(f"{path}: not a readable checkpoint ({exc})") from exc
