"""Fixtures for the native network tests: the checkpoint key specs and random checkpoints.

A random checkpoint is built from a spec (every name and shape of the official file), with
values scaled so activations stay finite (weights ~ N(0, 1/fan_in), norm gains ~ 1), spectral
norm vectors ``u``/``v`` from a few power iterations of their weight (as in a trained file), and
saved the official way: a plain state_dict, or ``{"params_ema": state_dict}``.

The tests run torch on one thread: on a busy shared 2-core machine two OpenMP threads are many
times slower than one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

SPECS = Path(__file__).resolve().parents[4] / "shared" / "specs"


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def spec() -> Callable[[str], dict[str, list[int]]]:
    """Read ``../shared/specs/<name>.keys.json`` (skip where the folder is absent)."""

    def read(name: str) -> dict[str, list[int]]:
        path = SPECS / f"{name}.keys.json"
        if not path.is_file():
            pytest.skip(f"{path} is not there (../shared sits beside the checkout in CI)")
        return json.loads(path.read_text())

    return read


def random_state_dict(spec: dict[str, list[int]], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors of the spec's names and shapes, at a scale that keeps activations finite."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in spec.items():
        values = torch.randn(shape, generator=generator)
        if len(shape) >= 2:
            values /= math.sqrt(math.prod(shape) / shape[0])
        elif name.endswith("weight"):
            values = 1.0 + 0.1 * values
        else:
            values *= 0.1
        state[name] = values
    for name in [n for n in state if n.endswith("_orig")]:
        base = name.removesuffix("_orig")
        state[base + "_u"], state[base + "_v"] = _singular_vectors(state[name], generator)
    return state


def _singular_vectors(
    weight: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    matrix = weight.flatten(1)
    v = torch.nn.functional.normalize(torch.randn(matrix.shape[1], generator=generator), dim=0)
    for _ in range(3):
        u = torch.nn.functional.normalize(matrix @ v, dim=0)
        v = torch.nn.functional.normalize(matrix.t() @ u, dim=0)
    return u, v


@pytest.fixture
def official_checkpoint(spec, tmp_path) -> Callable[[str, str, str | None], Path]:
    """Write a random checkpoint from spec ``name`` as ``file_name``, under ``key`` if given."""

    def write(name: str, file_name: str, key: str | None) -> Path:
        state = random_state_dict(spec(name))
        path = tmp_path / file_name
        torch.save(state if key is None else {key: state}, path)
        return path

    return write


@pytest.fixture(scope="session")
def random_state(spec) -> Callable[[str], dict[str, torch.Tensor]]:
    """A random state_dict built from spec ``name`` (see :func:`random_state_dict`)."""
    return lambda name: random_state_dict(spec(name))
