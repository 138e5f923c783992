"""The metric contract, checked for every registered metric (generated from the registry).

Every backend of a tagged family is a case of its own (``ids.dlib``, ``ids.sface``, ...), except
the pyiqa bridge: two of its metrics stand for it here, and tests/metrics/test_iqa.py checks every
bridged name against pyiqa itself. A metric whose weights are missing here is skipped with the
file it needs. What is checked is what the runner relies on: one value or one reason per image,
inputs left alone, the same values (or features) twice, a value that does not depend on the rest
of its batch, and a config that can be written into a manifest. Set values are checked against
their references in tests/metrics/test_fid.py.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from bench.contracts import Metric, Unavailable
from bench.images import to_tensor
from bench.registry import METRICS

BRIDGE_EXAMPLES = {"pyiqa": ("niqe", "psnr")}


def _names() -> list[str]:
    names = []
    for name in METRICS.names():
        tags = METRICS.info(name).tags
        chosen = BRIDGE_EXAMPLES.get(name, tags)
        names += [f"{name}.{tag}" for tag in chosen] if tags else [name]
    return names


def _images(seed: int) -> torch.Tensor:
    """Three smooth, noisy 96 x 96 images (not faces: a face metric gives reasons, not values)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:96, 0:96] / 96.0
    images = []
    for index in range(3):
        base = np.stack([x, y, (x + y) / 2], axis=-1) * (0.4 + 0.2 * index) + 0.1
        images.append(np.clip(base + rng.normal(0, 0.04, base.shape), 0, 1).astype(np.float32))
    return to_tensor(images)


@pytest.fixture(params=_names(), scope="module")
def metric(request) -> Metric:
    try:
        instance = METRICS.create(request.param)
        instance.load("cpu")
    except Unavailable as exc:
        pytest.skip(f"{request.param} is unavailable here: {exc}")
    return instance


def _compute(metric: Metric, pred: torch.Tensor, ref: torch.Tensor) -> np.ndarray:
    """Per-image values (paired metrics compare ``pred`` with ``ref``), or a set metric's
    features."""
    if metric.kind == "set":
        return np.asarray(metric.features(pred), dtype=np.float64)
    scores = metric.score(pred, ref) if metric.kind == "paired" else metric.score(pred)
    assert len(scores.values) == len(scores.errors) == len(pred)
    for value, error in zip(scores.values, scores.errors, strict=True):
        assert math.isfinite(value) or (isinstance(error, str) and error), (value, error)
    return np.asarray(scores.values, dtype=np.float64)


def test_declares_what_the_runner_reads(metric):
    assert metric.kind in ("paired", "no_reference", "set")
    assert isinstance(metric.higher_is_better, bool)
    assert isinstance(metric.version, int) and metric.version >= 1
    assert metric.reference in ("gt", "input")
    json.dumps(metric.config(), sort_keys=True)  # a manifest entry


def test_one_result_per_image_the_same_twice_inputs_untouched(metric):
    images, refs = _images(1), _images(2)
    copies = images.clone(), refs.clone()
    first = _compute(metric, images, refs)
    assert torch.equal(images, copies[0]) and torch.equal(refs, copies[1])
    assert len(first) == len(images)
    np.testing.assert_array_equal(_compute(metric, images, refs), first)


def test_an_images_result_does_not_depend_on_its_batch(metric):
    images, refs = _images(1), _images(2)
    together = _compute(metric, images, refs)
    alone = [_compute(metric, images[i : i + 1], refs[i : i + 1]) for i in range(len(images))]
    np.testing.assert_allclose(np.concatenate(alone), together, rtol=1e-4, atol=1e-6)
