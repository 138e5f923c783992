"""One seed derivation for every stage and every front door.

An image's randomness at a stage depends only on the run seed, the dataset, the image id, the
degradation setting (chain and severity) and the stage, never on order, batching, workers or the
command that asked for it, so ``dr2bench run``, ``dr2bench degrade`` and ``dr2bench restore`` give
the same bytes for the same image and seed.

Derivation (stable across Python versions, processes and machines): the key
``[dataset, image_id, chain, severity]``, followed by the stage name for every stage after the
degradation, is written as canonical JSON (:func:`bench.files.canonical_json`), UTF-8 encoded and
hashed with sha256; the 32-byte digest, read as eight little-endian unsigned 32-bit words, is the
``spawn_key`` of ``numpy.random.SeedSequence(entropy=seed)``. The degradation stage draws from a
``PCG64`` generator of that sequence (its key is the one dr2bench 0.1 used, so test sets built
then are built again byte for byte); the restoration stage takes a 63-bit integer from it, the
seed a stochastic restorer gets for the image. An image outside any degradation (a real or paired
set) has chain ``none`` and severity 0.

Example:
    >>> rng = image_rng(0, "hq", "a.png", "gfpgan", 0)
    >>> image_seed(0, "wider", "0001.png") == image_seed(0, "wider", "0001.png", "none", 0)
    True
"""

from __future__ import annotations

import hashlib

import numpy as np

from bench.config import ConfigError
from bench.files import canonical_json

NO_CHAIN = "none"
DEGRADE = "degrade"
RESTORE = "restore"


def seed_sequence(
    seed: int, dataset: str, image_id: str, chain: str, severity: int, stage: str
) -> np.random.SeedSequence:
    """The seed sequence of one image at one stage (see the module docstring).

    Raises:
        ConfigError: ``seed`` is not a non-negative integer.
    """
    if type(seed) is not int or seed < 0:
        raise ConfigError(f"the seed must be a non-negative integer, got {seed!r}")
    key: list[object] = [dataset, image_id, chain, severity]
    if stage != DEGRADE:
        key.append(stage)
    digest = hashlib.sha256(canonical_json(key).encode("utf-8")).digest()
    words = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4))
    return np.random.SeedSequence(entropy=seed, spawn_key=words)


def image_rng(
    seed: int, dataset: str, image_id: str, chain: str, severity: int
) -> np.random.Generator:
    """The generator that degrades one image."""
    sequence = seed_sequence(seed, dataset, image_id, chain, severity, DEGRADE)
    return np.random.Generator(np.random.PCG64(sequence))


def image_seed(
    seed: int, dataset: str, image_id: str, chain: str = NO_CHAIN, severity: int = 0
) -> int:
    """The 63-bit seed a stochastic restorer gets for one image."""
    sequence = seed_sequence(seed, dataset, image_id, chain, severity, RESTORE)
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))
