"""Fixtures of the reliability tests: misbehaving plugins, a grid runner, run configs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
import reliability_plugins


@pytest.fixture(autouse=True)
def faulty_plugins():
    reliability_plugins.register()
    yield
    reliability_plugins.unregister()


@pytest.fixture
def write_config(tmp_path) -> Callable[..., Path]:
    """Write a run config (YAML) from keyword arguments over small defaults; return its path."""

    def write(name: str = "run.yaml", **keys) -> Path:
        config = {
            "name": "reliability",
            "seed": 0,
            "restorers": ["identity"],
            "metrics": ["test_mean"],
            "output": str(tmp_path / "run"),
            "batch_size": 4,
        } | keys
        path = tmp_path / name
        path.write_text(yaml.safe_dump(config))
        return path

    return write
