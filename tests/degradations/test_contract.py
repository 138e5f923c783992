"""The contract every registered degradation and every chain must keep.

Generated from the registry and the chain folder: a new degradation or chain is tested as soon
as it is registered. Same seed, same bytes; recorded params replay to the same bytes; float32
output in [0, 1] of the right shape; mean PSNR against the clean image falls strictly as the
severity rises (on ``../shared/data/hq``); invalid severities and params give clear errors.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from bench.chains import available_chains, load_chain
from bench.images import list_images, read_image
from bench.registry import DEGRADATIONS
from bench.seeding import image_rng
from degradations.base import DegradationError, SampledDegradation

DEGRADATION_NAMES = DEGRADATIONS.names()
CHAIN_NAMES = available_chains()
PSNR_IMAGES = 6
# Degradations that run a network (DR2 sampling): fewer severities and images keep the suite fast.
EXPENSIVE = {"dr2_output"}


def severities_of(name: str) -> list[int | None]:
    ladder = sorted(DEGRADATIONS.get(name).severities)
    return [None, ladder[0], ladder[-1]] if name in EXPENSIVE else [None, *ladder]


def smooth_image(size: int) -> np.ndarray:
    """A face-like test image: smooth gradients and some texture, values inside (0, 1)."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([0.5 + 0.3 * np.sin(5 * x + c) * np.cos(3 * y - c) for c in range(3)], axis=2)
    return np.clip(base + 0.05 * rng.standard_normal(base.shape), 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return smooth_image(128)


@pytest.fixture(scope="module")
def hq_images(shared_data) -> list[tuple[str, np.ndarray]]:
    paths = list_images(shared_data / "hq")
    chosen = paths[:: max(1, len(paths) // PSNR_IMAGES)][:PSNR_IMAGES]
    return [(path.name, read_image(path)) for path in chosen]


def psnr(output: np.ndarray, clean: np.ndarray) -> float:
    if output.shape != clean.shape:  # a size-changing step: compare at the clean size
        import cv2

        height, width = clean.shape[:2]
        output = cv2.resize(output, (width, height), interpolation=cv2.INTER_LINEAR)
    error = np.mean((output.astype(np.float64) - clean.astype(np.float64)) ** 2)
    return float(10 * np.log10(1.0 / error))


def expected_shape(plugin, image: np.ndarray, params: dict) -> tuple[int, ...]:
    if getattr(plugin, "keeps_size", True):
        return image.shape
    return (*plugin.output_size(*image.shape[:2], params["scale"]), 3)


# ---------------------------------------------------------------- degradations


@pytest.mark.parametrize("name", DEGRADATION_NAMES)
def test_same_seed_same_bytes_and_input_untouched(name, image):
    plugin = DEGRADATIONS.create(name)
    original = image.copy()
    for severity in severities_of(name):
        first = plugin.sample(np.random.default_rng(5), severity)
        second = plugin.sample(np.random.default_rng(5), severity)
        assert first == second
        assert plugin.apply(image, first).tobytes() == plugin.apply(image, second).tobytes()
    np.testing.assert_array_equal(image, original)


@pytest.mark.parametrize("name", DEGRADATION_NAMES)
def test_ranges_use_the_generator(name):
    plugin = DEGRADATIONS.create(name)
    draws = [
        json.dumps(plugin.sample(np.random.default_rng(seed)), sort_keys=True) for seed in range(4)
    ]
    assert len(set(draws)) > 1


@pytest.mark.parametrize("name", DEGRADATION_NAMES)
def test_replaying_recorded_params_gives_same_bytes(name, image):
    plugin = DEGRADATIONS.create(name)
    for severity in severities_of(name):
        params = plugin.sample(np.random.default_rng(11), severity)
        recorded = json.loads(json.dumps(params))
        assert recorded == params
        replayed = DEGRADATIONS.create(name).apply(image, recorded)
        assert replayed.tobytes() == plugin.apply(image, params).tobytes()


@pytest.mark.parametrize("name", DEGRADATION_NAMES)
def test_output_dtype_range_and_shape(name, image):
    plugin = DEGRADATIONS.create(name)
    for severity in severities_of(name):
        params = plugin.sample(np.random.default_rng(2), severity)
        output = plugin.apply(image, params)
        assert output.dtype == np.float32
        assert output.shape == expected_shape(plugin, image, params)
        assert np.isfinite(output).all()
        assert output.min() >= 0.0 and output.max() <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", DEGRADATION_NAMES)
def test_psnr_falls_strictly_with_severity(name, hq_images):
    plugin = DEGRADATIONS.create(name)
    levels = sorted(plugin.severities)
    assert len(levels) >= 2, f"{name} has no severity ladder"
    means = []
    for level in levels:
        scores = []
        for image_id, clean in hq_images[: 2 if name in EXPENSIVE else None]:
            rng = image_rng(0, "hq", image_id, name, level)
            scores.append(psnr(plugin.apply(clean, plugin.sample(rng, level)), clean))
        means.append(np.mean(scores))
    assert all(a > b for a, b in itertools.pairwise(means)), means


@pytest.mark.parametrize("name", DEGRADATION_NAMES)
@pytest.mark.parametrize("severity", [6, -1, 2.5, True, "3"])
def test_invalid_severity_is_a_clear_error(name, severity):
    with pytest.raises(ValueError, match=name):
        DEGRADATIONS.create(name).sample(np.random.default_rng(0), severity)


@pytest.mark.parametrize("name", DEGRADATION_NAMES)
def test_unknown_and_missing_params_are_clear_errors(name, image):
    plugin = DEGRADATIONS.create(name)
    params = plugin.sample(np.random.default_rng(0), None)
    with pytest.raises(ValueError, match="bogus"):
        plugin.apply(image, params | {"bogus": 1})
    if params:
        first = next(iter(params))
        with pytest.raises(ValueError, match=first):
            plugin.apply(image, {k: v for k, v in params.items() if k != first})


@pytest.mark.parametrize("name", DEGRADATION_NAMES)
def test_out_of_range_and_mistyped_params_are_clear_errors(name, image):
    plugin = DEGRADATIONS.create(name)
    if not isinstance(plugin, SampledDegradation):
        pytest.skip(f"{name} is not built on SampledDegradation; no declared fields to check")
    params = plugin.sample(np.random.default_rng(0), 1)
    for key, field in plugin.fields.items():
        with pytest.raises(DegradationError, match=f"{name}: param '{key}'"):
            plugin.apply(image, params | {key: [1, 2]})
        if field.high is not None:
            too_big = field.kind(field.high + 1)
            with pytest.raises(DegradationError, match=f"{key}' = .* is outside"):
                plugin.apply(image, params | {key: too_big})


@pytest.mark.parametrize("name", DEGRADATION_NAMES)
def test_bad_images_are_clear_errors(name, image):
    plugin = DEGRADATIONS.create(name)
    params = plugin.sample(np.random.default_rng(0), None)
    for bad in (image.astype(np.float64), (image * 255).astype(np.uint8), image[:, :, 0]):
        with pytest.raises(ValueError, match="image"):
            plugin.apply(bad, params)


# ---------------------------------------------------------------- chains


@pytest.mark.parametrize("name", CHAIN_NAMES)
def test_chain_same_seed_same_bytes(name, image):
    chain = load_chain(name)
    for severity in chain.severities:
        first = chain.sample(image_rng(0, "synthetic", "a.png", name, severity), severity)
        second = chain.sample(image_rng(0, "synthetic", "a.png", name, severity), severity)
        assert first == second
        assert chain.apply(image, first).tobytes() == chain.apply(image, second).tobytes()


@pytest.mark.parametrize("name", CHAIN_NAMES)
def test_chain_replay_dtype_range_shape(name, image):
    chain = load_chain(name)
    for severity in chain.severities:
        steps = chain.sample(image_rng(1, "synthetic", "b.png", name, severity), severity)
        recorded = json.loads(json.dumps(steps))
        output = chain.apply(image, steps)
        assert chain.apply(image, recorded).tobytes() == output.tobytes()
        assert [step["name"] for step in steps] == [step.name for step in chain.steps]
        assert output.dtype == np.float32 and output.shape == image.shape
        assert output.min() >= 0.0 and output.max() <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in CHAIN_NAMES if load_chain(n).severities != (0,)])
def test_chain_psnr_falls_strictly_with_severity(name, hq_images):
    chain = load_chain(name)
    means = []
    for severity in chain.severities:
        scores = []
        for image_id, clean in hq_images:
            steps = chain.sample(image_rng(0, "hq", image_id, name, severity), severity)
            scores.append(psnr(chain.apply(clean, steps), clean))
        means.append(np.mean(scores))
    assert all(a > b for a, b in itertools.pairwise(means)), means


@pytest.mark.parametrize("name", CHAIN_NAMES)
def test_chain_rejects_severities_it_is_not_used_at(name):
    chain = load_chain(name)
    invalid = [1, 5] if chain.severities == (0,) else [0]
    for severity in [*invalid, 6, -1, True]:
        with pytest.raises(DegradationError, match=f"chain '{name}': severity"):
            chain.sample(np.random.default_rng(0), severity)


@pytest.mark.parametrize("name", CHAIN_NAMES)
def test_chain_rejects_records_of_another_chain(name, image):
    chain = load_chain(name)
    steps = chain.sample(np.random.default_rng(0), chain.severities[-1])
    with pytest.raises(DegradationError, match="steps"):
        chain.apply(image, [*steps, steps[0]])
    renamed = [dict(steps[0], name="no_such_step"), *steps[1:]]
    with pytest.raises(DegradationError, match="no_such_step"):
        chain.apply(image, renamed)
    newer = [dict(steps[0], version=steps[0]["version"] + 1), *steps[1:]]
    with pytest.raises(DegradationError, match="installed is v"):
        chain.apply(image, newer)
