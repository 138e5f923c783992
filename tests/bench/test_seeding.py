"""One seed derivation: what each stage's randomness depends on, and what it does not."""

from __future__ import annotations

import numpy as np
import pytest

from bench.config import ConfigError
from bench.seeding import image_rng, image_seed, seed_sequence


def test_image_seed_depends_on_seed_dataset_id_and_setting_only():
    base = (0, "wider", "a.png", "none", 0)
    assert image_seed(*base) == image_seed(*base) == image_seed(0, "wider", "a.png")
    for changed in [
        (1, "wider", "a.png", "none", 0),
        (0, "lfw", "a.png", "none", 0),
        (0, "wider", "b.png", "none", 0),
        (0, "wider", "a.png", "classic", 3),
    ]:
        assert image_seed(*changed) != image_seed(*base), changed
    assert 0 <= image_seed(5, "d", "x") < 2**63


def test_stages_never_share_randomness():
    degrade = seed_sequence(0, "hq", "a.png", "gfpgan", 0, "degrade").generate_state(4)
    restore = seed_sequence(0, "hq", "a.png", "gfpgan", 0, "restore").generate_state(4)
    assert not np.array_equal(degrade, restore)


def test_the_degradation_key_is_the_one_test_sets_were_built_with():
    """[dataset, id, chain, severity] without a stage name: dr2bench 0.1's generator."""
    import hashlib

    from bench.files import canonical_json

    digest = hashlib.sha256(canonical_json(["hq", "a.png", "gfpgan", 0]).encode()).digest()
    words = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4))
    legacy = np.random.Generator(np.random.PCG64(np.random.SeedSequence(7, spawn_key=words)))
    assert image_rng(7, "hq", "a.png", "gfpgan", 0).random(3).tolist() == legacy.random(3).tolist()


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_seed_must_be_a_non_negative_integer(seed):
    with pytest.raises(ConfigError, match="non-negative integer"):
        image_seed(seed, "d", "a.png")
