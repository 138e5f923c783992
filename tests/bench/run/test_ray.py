"""The local and Ray executors give byte-identical records for the same config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.run.config import load_run_config
from bench.run.executors import LocalExecutor, RayExecutor
from bench.run.runner import Runner

ray = pytest.importorskip("ray")


@pytest.mark.slow
def test_local_and_ray_executors_agree(shared_data, tmp_path):
    import yaml

    config = {
        "name": "agree",
        "datasets": [
            {"name": "hq", "kind": "folder", "path": str(shared_data / "hq")},
            {
                "name": "wider",
                "kind": "folder",
                "paired": False,
                "path": str(shared_data / "real" / "wider"),
            },
        ],
        "degradations": [{"chain": "classic", "severities": [2]}],
        "restorers": ["identity", "unsharp"],
        "metrics": ["psnr", "niqe"],
        "limit": 3,
        "batch_size": 2,
    }
    outputs = {}
    for name, executor in [("local", LocalExecutor()), ("ray", None)]:
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config | {"output": str(tmp_path / name)}))
        if executor is None:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            executor = RayExecutor()
        try:
            summary = Runner(load_run_config(path), executor, progress=False).run()
        finally:
            executor.close()
            if name == "ray":
                ray.shutdown()
        assert summary.failed == 0
        outputs[name] = summary.run_dir
    for table in ("records.parquet", "sets.parquet"):
        assert (outputs["local"] / table).read_bytes() == (outputs["ray"] / table).read_bytes()


@pytest.mark.slow
def test_ray_timeouts_fail_only_the_images_that_hang_or_crash(make_config, data, monkeypatch):
    """``timeout_s`` under Ray: each Ray worker runs network units in its own child process."""
    import pandas as pd

    here = str(Path(__file__).parent)
    monkeypatch.setenv("DR2BENCH_PLUGIN_MODULES", "runner_plugins")
    monkeypatch.setenv("DR2BENCH_TEST_PLUGINS", "1")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    )
    config = make_config(
        datasets=[{"name": "pairs", "kind": "paired", "path": str(data / "paired")}],
        restorers=["test_hang", "test_darken"],
        timeout_s=4,
        batch_size=6,
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    executor = RayExecutor(timeout_s=4)
    try:
        summary = Runner(load_run_config(config), executor, progress=False).run()
    finally:
        executor.close()
        ray.shutdown()
    frame = pd.read_parquet(summary.run_dir / "records.parquet").set_index(["restorer", "image_id"])
    assert "timed out after 4 s" in frame.loc[("test_hang", "img2.png"), "error"]
    assert "worker process died" in frame.loc[("test_hang", "img4.png"), "error"]
    others = frame.drop(index=[("test_hang", "img2.png"), ("test_hang", "img4.png")])
    assert (others["status"] == "ok").all(), others[["status", "error"]]
