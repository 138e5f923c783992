"""Specs, fields and the order in which defaults, ladders and given parameters combine."""

from __future__ import annotations

import numpy as np
import pytest

from bench.config import ConfigError
from degradations.base import DegradationError, Field
from degradations.downsample import Downsample
from degradations.gaussian_blur import GaussianBlur
from degradations.gaussian_noise import GaussianNoise


def test_float_field_accepts_ints_and_rejects_bools_and_strings():
    field = Field(float, 0.0, 10.0)
    assert field.check(3, "x") == 3.0 and isinstance(field.check(3, "x"), float)
    for bad in (True, "3", None, [3]):
        with pytest.raises(DegradationError, match="x must be float"):
            field.check(bad, "x")


def test_int_field_rejects_floats_and_bools():
    field = Field(int, 1, 100)
    assert field.check(7, "q") == 7
    for bad in (7.0, False):
        with pytest.raises(DegradationError, match="q must be int"):
            field.check(bad, "q")


def test_bounds_odd_and_choices():
    with pytest.raises(DegradationError, match=r"outside \[1, 255\]"):
        Field(int, 1, 255).check(300, "k")
    with pytest.raises(DegradationError, match="must be odd"):
        Field(int, 1, 255, odd=True).check(40, "k")
    with pytest.raises(DegradationError, match="choose one of a, b"):
        Field(str, choices=("a", "b")).check("c", "mode")


def test_fixed_specs_draw_nothing_from_the_generator():
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    params = GaussianBlur(sigma=2.0, kernel_size=21).sample(rng)
    assert params == {"sigma": 2.0, "kernel_size": 21}
    assert rng.bit_generator.state == before


def test_integer_ranges_include_both_ends():
    field = Field(int, 1, 100)
    rng = np.random.default_rng(0)
    assert {field.draw([1, 3], rng) for _ in range(200)} == {1, 2, 3}


def test_float_ranges_stay_inside_and_vary():
    field = Field(float, 0.0, 100.0)
    rng = np.random.default_rng(0)
    draws = [field.draw([2.0, 3.0], rng) for _ in range(100)]
    assert all(2.0 <= d <= 3.0 for d in draws) and len(set(draws)) == 100


def test_choices_reach_every_option_and_nothing_else():
    field = Field(float, 0.0, 100.0)
    rng = np.random.default_rng(0)
    assert {field.draw({"choice": [4, 8, 16]}, rng) for _ in range(100)} == {4.0, 8.0, 16.0}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([10.0, 1.0], "low > high"),
        ([1.0, 2.0, 3.0], "a range is"),
        ({"choice": []}, "at least one value"),
        ({"choice": [1.0], "extra": 1}, "a choice is written"),
        ([0.01, 5.0], "outside"),
        (-1.0, "outside"),
    ],
)
def test_bad_specs_are_rejected_when_the_plugin_is_created(spec, message):
    with pytest.raises(ConfigError, match=f"gaussian_blur: parameter 'sigma'.*{message}"):
        GaussianBlur(sigma=spec)


def test_ranges_are_only_for_numbers():
    with pytest.raises(DegradationError, match="a range is"):
        GaussianNoise(grey=[False, True])


def test_unknown_parameter_suggests_the_closest():
    with pytest.raises(ConfigError, match="unknown key 'sigam'; did you mean 'sigma'"):
        GaussianBlur(sigam=2.0)


def test_given_parameters_win_over_the_ladder_and_the_ladder_over_defaults():
    rng = np.random.default_rng(0)
    assert GaussianBlur(kernel_size=21).sample(rng, 3) == {"sigma": 4.0, "kernel_size": 21}
    sigma = GaussianBlur(sigma=[2.0, 3.0]).sample(rng, 5)["sigma"]
    assert 2.0 <= sigma <= 3.0
    scale = Downsample().sample(rng, None)["scale"]
    assert 0.8 <= scale <= 8.0  # the class defaults: GFPGAN's range


def test_severity_zero_means_the_continuous_ranges():
    plugin = GaussianBlur()
    assert plugin.sample(np.random.default_rng(4), 0) == plugin.sample(np.random.default_rng(4))


def test_params_dataclass_has_one_optional_spec_per_field():
    plugin = GaussianNoise(sigma=5.0)
    assert plugin.config() == {"sigma": 5.0, "grey": None, "seed": None}
    assert plugin.given() == {"sigma": 5.0}
