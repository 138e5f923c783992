"""The local and Ray executors give byte-identical records for the same config."""

from __future__ import annotations

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
