"""Bad restorer outputs fail only the images they concern, with the reason in the row.

Hangs and crashing processes (``timeout_s``) are covered by tests/bench/run/test_isolation.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import reliability_plugins
import yaml

from bench.images import read_image, to_uint8, write_png
from bench.run.config import load_run_config
from bench.run.executors import LocalExecutor
from bench.run.runner import Runner

IDS = ["a.png", "b.png", "bad.png", "c.png"]  # one batch of four
FAILED = {
    "nan": "restorer output contains NaN or Inf",
    "inf": "restorer output contains NaN or Inf",
    "range": "restorer output range [-1, 2] is outside [0, 1]",
    "size": "restorer output has shape (1, 3, 38, 40), expected (1, 3, 40, 40)",  # retried alone
    "count": "restorer output has shape (0, 3, 40, 40), expected (1, 3, 40, 40)",
    "integer": "restorer output has dtype torch.uint8, expected a float tensor",
    "numpy": "restorer returned ndarray, not a tensor",
    "raise": "RuntimeError: cannot restore bad.png",
    "partial": "no face found in bad.png",
    "exit": "SystemExit: 2",  # sys.exit in a wrapped inference script
}
CONVERTED = ["slightly_out", "double"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """One run of ``test_faulty`` with every fault, over a paired set of four images."""
    reliability_plugins.register()
    root = tmp_path_factory.mktemp("bad-outputs")
    rng = np.random.default_rng(3)
    for name in IDS:
        image = rng.uniform(0.0, 1.0, (40, 40, 3)).astype(np.float32)
        image[0, 0] = [0.0, 1.0, 0.5]  # the full range in every image
        write_png(root / "data" / "lq" / name, image)
        write_png(root / "data" / "gt" / name, image)
    config = {
        "name": "bad-outputs",
        "datasets": [{"name": "pairs", "kind": "paired", "path": str(root / "data")}],
        "restorers": [{"name": "test_faulty", "grid": {"fault": [*FAILED, *CONVERTED]}}],
        "metrics": ["test_mean"],
        "output": str(root / "run"),
        "batch_size": 4,
    }
    (root / "run.yaml").write_text(yaml.safe_dump(config))
    summary = Runner(load_run_config(root / "run.yaml"), LocalExecutor(), progress=False).run()
    assert summary.failures.rows == {"failed": len(FAILED)}
    return summary.run_dir


@pytest.fixture(scope="module")
def records(run_dir) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "records.parquet")


@pytest.mark.parametrize("fault", list(FAILED))
def test_a_bad_output_fails_its_image_only(records, fault):
    rows = records[records.restorer == f"test_faulty[fault={fault}]"].set_index("image_id")
    assert rows.loc["bad.png", "status"] == "failed"
    assert FAILED[fault] in rows.loc["bad.png", "error"]
    assert np.isnan(rows.loc["bad.png", "test_mean"])
    others = rows.drop(index="bad.png")
    assert (others["status"] == "ok").all(), others[["status", "error"]]
    assert others["test_mean"].notna().all()


def test_outputs_within_the_rules_are_converted(records, run_dir):
    rows = records[records.restorer.str.startswith("test_faulty[fault=slightly_out")]
    assert (rows["status"] == "ok").all()
    folder = run_dir / "images/outputs"
    clipped = read_image(folder / "test_faulty[fault=slightly_out]/pairs/none/0/0/bad.png")
    assert (to_uint8(clipped) == 255).all()  # 1.0005 is within the 1e-3 tolerance: clipped
    double = read_image(folder / "test_faulty[fault=double]/pairs/none/0/0/bad.png")
    assert np.array_equal(
        double, read_image(run_dir.parent / "data/lq/bad.png")
    )  # float64 accepted


def test_unavailable_restorer_is_tried_again_on_the_next_run(run_dir, tmp_path):
    weights = tmp_path / "weights.pth"
    config = {
        "name": "unavailable",
        "datasets": [{"name": "pairs", "kind": "paired", "path": str(run_dir.parent / "data")}],
        "restorers": [{"name": "test_needs_file", "params": {"file": str(weights)}}],
        "metrics": ["test_mean"],
        "output": str(tmp_path / "run"),
    }
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    summary = Runner(load_run_config(tmp_path / "run.yaml"), LocalExecutor(), progress=False).run()
    frame = pd.read_parquet(summary.run_dir / "records.parquet")
    assert (frame["status"] == "unavailable").all()
    assert frame["error"].str.contains(f"missing weights {weights}").all()
    weights.touch()
    summary = Runner(load_run_config(tmp_path / "run.yaml"), LocalExecutor(), progress=False).run()
    assert summary.computed["restore"] == len(IDS)
    assert (pd.read_parquet(summary.run_dir / "records.parquet")["status"] == "ok").all()
