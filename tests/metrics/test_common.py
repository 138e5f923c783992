"""Shared helpers: 8-bit quantisation and the prefetching iterator."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from bench.images import to_uint8
from bench.parallel import prefetched
from metrics.common import quantize, quantize_tensor


def test_quantize_matches_the_image_convention(rng):
    images = rng.random((2, 8, 9, 3)).astype(np.float32) * 1.2 - 0.1
    batch = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
    expected = np.stack([to_uint8(image) for image in images])
    assert np.array_equal(quantize(batch), expected)
    assert quantize(batch).flags["C_CONTIGUOUS"]
    as_tensor = (quantize_tensor(batch) * 255).round().byte().numpy().transpose(0, 2, 3, 1)
    assert np.array_equal(as_tensor, expected)


def test_prefetched_keeps_order_and_raises_in_the_caller():
    assert list(prefetched(iter(range(50)), depth=3)) == list(range(50))

    def failing():
        yield 1
        raise OSError("disk gone")

    result = []
    with pytest.raises(OSError, match="disk gone"):
        for item in prefetched(failing()):
            result.append(item)
    assert result == [1]


def test_prefetched_stops_its_thread_when_the_caller_stops():
    before = threading.active_count()
    items = prefetched(iter(range(1000)), depth=1)
    assert next(items) == 0
    items.close()
    assert threading.active_count() == before
