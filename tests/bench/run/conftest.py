from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
import runner_plugins

from bench.images import write_png


@pytest.fixture(autouse=True)
def test_plugins():
    runner_plugins.register()
    yield
    runner_plugins.unregister()


@pytest.fixture
def data(tmp_path) -> Path:
    """A paired set (6 images, one very bright and one very dark) and a real set (3 images)."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    levels = [0.5, 0.3, 0.95, 0.6, 0.05, 0.4]
    for i, level in enumerate(levels):
        gt = np.clip(level + 0.05 * rng.standard_normal((40, 40, 3)), 0, 1).astype(np.float32)
        lq = np.clip(gt + 0.1 * rng.standard_normal(gt.shape), 0, 1).astype(np.float32)
        write_png(root / "paired" / "gt" / f"img{i}.png", gt)
        write_png(root / "paired" / "lq" / f"img{i}.png", lq)
    for i in range(3):
        write_png(root / "real" / "sub" / f"r{i}.png", rng.random((40, 40, 3)).astype(np.float32))
    return root


@pytest.fixture
def make_config(tmp_path, data):
    def make(**overrides) -> Path:
        config = {
            "name": "test",
            "seed": 0,
            "datasets": [
                {"name": "pairs", "kind": "paired", "path": str(data / "paired")},
                {"name": "real", "kind": "folder", "path": str(data / "real"), "paired": False},
            ],
            "restorers": ["test_darken", {"name": "test_noisy"}],
            "metrics": ["test_mae", "test_brightness"],
            "output": str(tmp_path / "run"),
            "batch_size": 4,
        } | overrides
        path = tmp_path / "run.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    return make
