"""``dr2bench train-ddpm`` trains, exports safetensors the dr2 restorer loads, and resumes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bench.cli import main
from bench.registry import RESTORERS


@pytest.mark.slow
def test_train_ddpm_then_restore_with_the_model(tmp_path):
    rng = np.random.default_rng(0)
    for index in range(6):
        pixels = rng.integers(0, 256, (109, 89, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"{index:06d}.jpg")
    args = [
        "train-ddpm",
        "--data",
        str(tmp_path),
        "--out",
        str(tmp_path / "run"),
        "--preset",
        "tiny",
        "--size",
        "16",
        "--steps",
        "2",
        "--batch-size",
        "2",
        "--threads",
        "1",
    ]
    assert main(args) == 0
    exported = sorted((tmp_path / "run").rglob("*.safetensors"))
    assert exported, "no safetensors written"
    restorer = RESTORERS.create("dr2", weights=str(exported[-1]), K=10, tau=5)
    restorer.load("cpu")
    assert restorer.sampler.model.config.image_size == 16
    assert (
        main([*args[:-6], "--steps", "3", "--batch-size", "2", "--threads", "1", "--resume"]) == 0
    )
