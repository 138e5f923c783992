"""Faces for the analysis: read, degrade by a chain, and bring to the diffusion model's input.

Degradation chains are defined in pixels of a 512x512 face, so each face is degraded at its own
size (seeded per image with :func:`bench.seeding.image_rng`, replayable), then the clean and
the degraded face are resized to the model's side S with ILVR's exact antialiased bicubic
(:func:`dr2.resize.resize_matrix`) and mapped to [-1, 1].

Example:
    >>> spec = ChainSetting("classic", 3)
    >>> spec.label
    'classic-3'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.config import ConfigError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class ChainSetting:
    """One chain at one severity."""

    chain: str
    severity: int

    @property
    def label(self) -> str:
        """``chain-severity``, as in tables and figures."""
        return f"{self.chain}-{self.severity}"


def degradation_specs(chains: tuple[str, ...], severities: tuple[int, ...]) -> list[ChainSetting]:
    """Every chain at every severity, checked (a severity a chain lacks is an error)."""
    from bench.chains import load_chain

    specs = []
    for name in chains:
        chain = load_chain(name)
        for severity in severities:
            try:
                chain.check_severity(severity)
            except ValueError as exc:
                raise ConfigError(str(exc)) from exc
            specs.append(ChainSetting(name, severity))
    return specs


def face_paths(folder: Path, limit: int | None) -> list[tuple[str, Path]]:
    """``(image_id, path)`` of the images under ``folder`` (ids: relative POSIX paths)."""
    from bench.images import list_images

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of images")
    paths = list_images(folder)
    if not paths:
        raise ConfigError(f"{folder}: no images (png, jpg, ...) found")
    paths = paths[:limit] if limit else paths
    return [(path.relative_to(folder).as_posix(), path) for path in paths]


def read_face(path: Path) -> np.ndarray:
    """A square face as ``H x W x 3`` float32 in [0, 1]; other shapes are refused."""
    from bench.images import ImageError, read_image

    image = read_image(path)
    if image.shape[0] != image.shape[1]:
        raise ImageError(
            path,
            f"{image.shape[1]}x{image.shape[0]} is not square; the analysis needs aligned "
            "square face crops",
        )
    return image


@functools.cache
def _resize_matrix(in_size: int, size: int) -> torch.Tensor:
    import torch

    from dr2.resize import resize_matrix

    matrix = resize_matrix(in_size, size / in_size)
    if matrix.shape[0] != size:
        raise ConfigError(f"cannot resize {in_size} pixels to exactly {size}")
    return torch.from_numpy(matrix)


def to_model(image: np.ndarray, size: int) -> torch.Tensor:
    """``S x S x 3`` [0, 1] numpy to ``3 x size x size`` float64 [-1, 1] torch."""
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).double()
    if tensor.shape[-1] != size:
        matrix = _resize_matrix(tensor.shape[-1], size)
        tensor = matrix @ tensor @ matrix.T
    return tensor * 2 - 1


def degrade(
    image: np.ndarray, spec: ChainSetting, seed: int, dataset: str, image_id: str
) -> np.ndarray:
    """``image`` degraded by ``spec``, with the per-image generator of the runner."""
    from bench.chains import load_chain
    from bench.seeding import image_rng

    chain = load_chain(spec.chain)
    rng = image_rng(seed, dataset, image_id, spec.chain, spec.severity)
    return chain.apply(image, chain.sample(rng, spec.severity))
