"""The restorer contract, checked for every registered restorer (generated from the registry).

A restorer whose ``load`` raises :class:`bench.contracts.Unavailable` (missing weights) or that
needs parameters this suite has no example for is skipped with the reason. ``command`` and
``folder`` get example parameters: a tiny inference script, and a folder of precomputed outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from bench.config import ConfigError
from bench.contracts import Restorer, Unavailable
from bench.images import to_tensor, write_png
from bench.registry import RESTORERS

FAKE_SCRIPT = Path(__file__).with_name("fake_inference.py")
IDS = ("a/face_0.png", "b/face_1.jpg", "face_2.png")
SEEDS = (11, 22, 33)


def _images() -> torch.Tensor:
    """Three smooth, noisy, non-square test images (40 x 48)."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:40, 0:48] / 48.0
    images = []
    for index in range(3):
        base = np.stack([x, y, (x + y) / 2], axis=-1) * (0.5 + 0.2 * index) + 0.1
        noisy = base + rng.normal(0.0, 0.05, base.shape)
        images.append(np.clip(noisy, 0.0, 1.0).astype(np.float32))
    return to_tensor(images)


def _command_params(tmp_path: Path, images: torch.Tensor) -> dict[str, Any]:
    return {"command": f"{{python}} {FAKE_SCRIPT} -i {{input}} -o {{output}}"}


def _folder_params(tmp_path: Path, images: torch.Tensor) -> dict[str, Any]:
    from bench.images import to_numpy

    for image_id, image in zip(IDS, to_numpy(images), strict=True):
        write_png(tmp_path / "released" / Path(image_id).with_suffix(".png"), 1.0 - image)
    return {"path": str(tmp_path / "released")}


def _dr2_params(tmp_path: Path, images: torch.Tensor) -> dict[str, Any]:
    return {"K": 20, "tau": 14}  # 6 sampling steps of the demo model keep the suite fast


EXAMPLES: dict[str, Callable[[Path, torch.Tensor], dict[str, Any]]] = {
    "command": _command_params,
    "folder": _folder_params,
    "dr2": _dr2_params,
}


@pytest.fixture(params=RESTORERS.names())
def restorer(request, tmp_path) -> Restorer:
    name = request.param
    params = EXAMPLES[name](tmp_path, _images()) if name in EXAMPLES else {}
    try:
        instance = RESTORERS.create(name, **params)
    except ConfigError as exc:
        pytest.skip(f"{name} needs parameters this suite has no example for: {exc}")
    except Unavailable as exc:
        pytest.skip(f"{name} is unavailable here: {exc}")
    try:
        instance.load("cpu")
    except Unavailable as exc:
        pytest.skip(f"{name} is unavailable here: {exc}")
    return instance


def test_shape_dtype_and_range(restorer):
    images = _images()
    output = restorer.restore_batch(images, list(SEEDS), list(IDS))
    assert isinstance(output, torch.Tensor)
    assert output.shape == images.shape
    assert output.dtype == torch.float32
    assert output.device == images.device
    assert torch.isfinite(output).all()
    assert float(output.min()) >= 0.0 and float(output.max()) <= 1.0


def test_inputs_are_not_modified(restorer):
    images = _images()
    copy = images.clone()
    restorer.restore_batch(images, list(SEEDS), list(IDS))
    assert torch.equal(images, copy)


def test_deterministic_for_the_same_seeds(restorer):
    first = restorer.restore_batch(_images(), list(SEEDS), list(IDS))
    second = restorer.restore_batch(_images(), list(SEEDS), list(IDS))
    assert torch.equal(first, second)


def test_batch_independence(restorer):
    """Image i's output depends on image i and its seed alone, not on the rest of the batch."""
    images = _images()
    together = restorer.restore_batch(images, list(SEEDS), list(IDS))
    reverse = [2, 1, 0]
    reversed_batch = restorer.restore_batch(
        images[reverse], [SEEDS[i] for i in reverse], [IDS[i] for i in reverse]
    )
    torch.testing.assert_close(reversed_batch, together[reverse], atol=1e-5, rtol=0)
    for index in range(len(IDS)):
        alone = restorer.restore_batch(images[index : index + 1], [SEEDS[index]], [IDS[index]])
        torch.testing.assert_close(alone[0], together[index], atol=1e-5, rtol=0)


def test_suite_covers_the_offline_restorers():
    offline = {"identity", "lanczos", "bilateral", "nlmeans", "richardson_lucy", "wiener"}
    assert offline | {"unsharp", "command", "folder"} <= set(RESTORERS.names())
