"""The same config gives byte-identical records and set values: on a rerun into a fresh folder,
with other batch sizes, with degradation in worker processes or not, and with restoration and
scoring in an isolated child process. The Ray executor is compared in tests/bench/run/test_ray.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import reliability_plugins
import yaml

from bench.images import write_png
from bench.run.config import load_run_config
from bench.run.executors import LocalExecutor
from bench.run.runner import Runner

TABLES = ("records.parquet", "sets.parquet")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Clean faces to degrade (two sizes) and a paired set."""
    root = tmp_path_factory.mktemp("determinism")
    rng = np.random.default_rng(8)
    for i in range(6):
        side = 64 if i % 2 else 48
        face = rng.uniform(0, 1, (side, side, 3)).astype(np.float32)
        write_png(root / "faces" / f"face{i}.png", face)
        write_png(root / "pairs/gt" / f"p{i}.png", face)
        write_png(root / "pairs/lq" / f"p{i}.png", np.clip(face * 0.8 + 0.1, 0, 1))
    return root


def _run(data: Path, name: str, executor: LocalExecutor, batch_size: int) -> Path:
    config = {
        "name": "determinism",
        "seeds": [0, 1],
        "datasets": [
            {"name": "faces", "path": str(data / "faces")},
            {"name": "pairs", "kind": "paired", "path": str(data / "pairs")},
        ],
        "degradations": [
            {"chain": "gfpgan", "severities": [0]},
            {"chain": "classic", "severities": [1, 3, 5]},
        ],
        "restorers": ["identity", "unsharp", "test_grain"],
        "metrics": ["psnr", "ssim", "test_mean", "test_spread"],
        "output": str(data / name),
        "batch_size": batch_size,
    }
    path = data / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    try:
        summary = Runner(load_run_config(path), executor, progress=False).run()
    finally:
        executor.close()
    assert summary.failed == 0
    return summary.run_dir


@pytest.fixture(scope="module")
def first(data) -> Path:
    reliability_plugins.register()
    return _run(data, "first", LocalExecutor(), batch_size=4)


def test_a_rerun_into_a_fresh_folder_writes_the_same_bytes(data, first):
    again = _run(data, "again", LocalExecutor(), batch_size=4)
    for table in TABLES:
        assert (again / table).read_bytes() == (first / table).read_bytes(), table


def test_the_records_hold_values_that_vary(first):
    """Guards the byte comparisons: the tables are full of seeded, varying numbers."""
    records = pd.read_parquet(first / "records.parquet")
    assert len(records) == (6 * 4 + 6) * 2 * 3  # (6 faces x 4 settings + 6 pairs) x seeds x runs
    grain = records[records.restorer == "test_grain"].pivot_table(
        index=["dataset", "chain", "severity", "image_id"], columns="seed", values="test_mean"
    )
    assert (grain[0] != grain[1]).all()  # the seed changes every degradation and the noise
    sets = pd.read_parquet(first / "sets.parquet")
    assert len(sets) == (4 + 1) * 2 * 3 and sets["value"].notna().all()  # cells x restorers


@pytest.mark.slow
def test_other_batches_and_executors_write_the_same_bytes(data, first, monkeypatch):
    monkeypatch.setenv("DR2BENCH_PLUGIN_MODULES", "reliability_plugins")  # for the child process
    monkeypatch.setenv("DR2BENCH_TEST_PLUGINS", "1")
    isolated = _run(data, "isolated", LocalExecutor(workers=1, timeout_s=120), batch_size=3)
    for table in TABLES:
        assert (isolated / table).read_bytes() == (first / table).read_bytes(), table
