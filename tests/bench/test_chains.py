"""Chain files, their checks, and the per-image seeding rule."""

from __future__ import annotations

import hashlib
import textwrap

import numpy as np
import pytest

from bench.chains import available_chains, load_chain
from bench.config import ConfigError
from bench.seeding import image_rng


def write_chain(folder, body: str):
    path = folder / "mine.yaml"
    path.write_text(body)
    return path


HEADER = """\
name: mine
version: 2
description: a test chain
sizes: as is
"""


def test_image_rng_follows_the_documented_derivation():
    key = b'["hq","faces/a.png","gfpgan",3]'
    digest = hashlib.sha256(key).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4)]
    sequence = np.random.SeedSequence(entropy=7, spawn_key=words)
    expected = np.random.Generator(np.random.PCG64(sequence)).random(4)
    np.testing.assert_array_equal(
        image_rng(7, "hq", "faces/a.png", "gfpgan", 3).random(4), expected
    )


def test_every_part_of_the_key_changes_the_stream():
    base = (0, "hq", "a.png", "gfpgan", 0)
    first = image_rng(*base).integers(2**62)
    for position, other in enumerate([1, "lfw", "b.png", "classic", 1]):
        changed = list(base)
        changed[position] = other
        assert image_rng(*changed).integers(2**62) != first


@pytest.mark.parametrize("seed", [-1, True, 1.5])
def test_seed_must_be_a_non_negative_integer(seed):
    with pytest.raises(ConfigError, match="seed must be a non-negative integer"):
        image_rng(seed, "hq", "a.png", "gfpgan", 0)


def test_the_published_and_ladder_chains_are_there():
    names = available_chains()
    for name in ("gfpgan", "codeformer", "difface", "classic", "unseen"):
        assert name in names
    assert load_chain("gfpgan").severities == (0,)
    assert load_chain("classic").severities == (1, 2, 3, 4, 5)


def test_classic_ladder_goes_up_to_r_32():
    chain = load_chain("classic")
    scales = [chain.sample(np.random.default_rng(0), s)[1]["params"]["scale"] for s in range(1, 6)]
    assert scales == sorted(scales) and scales[-1] == 32.0


def test_published_ranges_are_respected():
    chain = load_chain("gfpgan")
    rng = np.random.default_rng(0)
    for _ in range(50):
        blur, down, noise, jpeg = (step["params"] for step in chain.sample(rng, 0))
        assert 0.1 <= blur["sigma"] <= 10 and blur["kernel_size"] == 41
        assert 0.8 <= down["scale"] <= 8 and down["interpolation"] == "bilinear"
        assert 0 <= noise["sigma"] <= 20 and not noise["grey"]
        assert 60 <= jpeg["quality"] <= 100


def test_difface_draws_from_its_grid():
    chain = load_chain("difface")
    rng = np.random.default_rng(0)
    for _ in range(30):
        blur, down, noise, jpeg = (step["params"] for step in chain.sample(rng, 0))
        assert blur["sigma_x"] in (4, 8, 12, 16) and blur["sigma_y"] in (4, 8, 12, 16)
        assert any(np.isclose(blur["theta"], k * np.pi / 4) for k in range(4))
        assert down["scale"] in range(4, 41, 4)
        assert noise["sigma"] in (1, 5, 10, 15, 20) and jpeg["quality"] in range(30, 71, 5)


def test_unknown_chain_suggests_the_closest():
    with pytest.raises(ConfigError, match="unknown chain 'clasic'; did you mean 'classic'"):
        load_chain("clasic")


def test_a_chain_file_by_path_with_a_builtin_ladder_and_overrides(tmp_path):
    path = write_chain(
        tmp_path,
        HEADER
        + textwrap.dedent(
            """
        steps:
          - name: gaussian_blur
            params: {kernel_size: 21}
            ladder: builtin
        """
        ),
    )
    chain = load_chain(path)
    assert chain.name == "mine" and chain.version == 2
    steps = chain.sample(np.random.default_rng(0), 3)
    assert steps == [
        {"name": "gaussian_blur", "version": 1, "params": {"sigma": 4.0, "kernel_size": 21}}
    ]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("  - name: gaussian_blurr\n", "unknown degradation 'gaussian_blurr'"),
        ("  - name: gaussian_blur\n    parms: {}\n", "unknown key 'parms'; did you mean 'params'"),
        ("  - name: downsample\n", "changes the image size: set resize_back"),
        ("  - name: jpeg\n    ladder: {1: {quality: 90}, 2: {quality: 50}}\n", "severities 1..5"),
        ("  - name: jpeg\n    ladder: mine\n", "ladder is a mapping"),
        ("  - name: jpeg\n    params: {quality: [90, 10]}\n", "low > high"),
        ("  - name: gaussian_blur\n    params: {sigma: 1.0, kernel_size: 40}\n", "odd"),
    ],
)
def test_bad_chain_files_name_the_file_and_the_problem(tmp_path, steps, message):
    path = write_chain(tmp_path, HEADER + "steps:\n" + steps)
    with pytest.raises(ConfigError) as error:
        load_chain(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_chain_resizes_back_to_the_input_size_for_any_shape():
    chain = load_chain("codeformer")
    image = np.random.default_rng(0).random((160, 96, 3), dtype=np.float32)
    output = chain.apply(image, chain.sample(np.random.default_rng(1), 0))
    assert output.shape == image.shape


def test_definition_hash_follows_the_definition(tmp_path):
    body = HEADER + "steps:\n  - name: jpeg\n    params: {quality: %d}\n"
    first = load_chain(write_chain(tmp_path, body % 50)).definition_hash()
    second = load_chain(write_chain(tmp_path, body % 51)).definition_hash()
    assert first != second and len(first) == 64
