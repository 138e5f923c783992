"""Shared fixtures: the data folder beside the checkout, and small synthetic images."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (tests that read it skip, with a reason, where it is absent)."""
    if not (SHARED_DATA / "hq").is_dir():
        pytest.skip(f"{SHARED_DATA} is not there (it sits beside the checkout in CI)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _seeded_torch() -> None:
    """Every test draws the same torch random numbers on every run (no flaky tolerances)."""
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def isolated_home(tmp_path, monkeypatch) -> Path:
    """A fresh ``$DR2BENCH_HOME`` for the test."""
    home = tmp_path / "dr2bench-home"
    monkeypatch.setenv("DR2BENCH_HOME", str(home))
    return home
