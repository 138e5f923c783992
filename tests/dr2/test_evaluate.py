"""Unconditional sampling for the model card: shapes, seeding, the grid."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from dr2.demo_models import PRESETS
from dr2.diffusion import GaussianDiffusion
from dr2.evaluate import sample_faces, save_grid
from dr2.unet import UNet


def test_sample_faces_is_seeded_and_uint8(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = UNet(PRESETS["tiny"])
    diffusion = GaussianDiffusion(respacing="4", variance="fixed_small")
    first = sample_faces(model, diffusion, count=5, batch_size=3, seed=1)
    again = sample_faces(model, diffusion, count=5, batch_size=3, seed=1)
    assert first.shape == (5, 3, 16, 16) and first.dtype == torch.uint8
    assert torch.equal(first, again)
    save_grid(torch.cat([first, first, first]), tmp_path / "grid.png", columns=4)
    with Image.open(tmp_path / "grid.png") as grid:
        assert grid.size == (64, 48)
