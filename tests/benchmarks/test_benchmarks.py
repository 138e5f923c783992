"""The scale and GPU benchmarks run end to end in their smallest modes and write their keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_benchmark(module: str, results: Path, *args: str) -> dict:
    command = [sys.executable, "-m", f"benchmarks.{module}", "--results", str(results), *args]
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    (path,) = results.glob("*.json")
    return json.loads(path.read_text())


@pytest.mark.slow
def test_gpu_tiny_mode_writes_every_section(tmp_path):
    result = run_benchmark("gpu", tmp_path, "--tiny")

    assert result["benchmark"] == "gpu_tiny" and result["device"] == "cpu"
    assert set(result["dr2"]["images_per_s"]) == {"fp32", "bf16"}
    assert set(result["dr2"]["images_per_s"]["fp32"]) == {"batch1", "batch2"}
    assert result["dr2"]["network_evaluations_per_image"] == 5
    assert set(result["metrics_images_per_s"]) == {"fid_features", "lpips"}
    assert result["demo_run"]["exit_status"] == 0
    projected = result["projected_study"]
    assert projected["rows"] == 120_000
    assert 0 < projected["dr2_best_batched_s"] <= projected["dr2_batch1_fp32_s"]
    assert set(result["seconds"]) == {"dr2", "metrics_images_per_s", "demo_run", "projected_study"}


@pytest.mark.slow
def test_scale_on_one_image_measures_every_step(tmp_path):
    result = run_benchmark("scale", tmp_path, "--sizes", "40", "--ray", "0")

    (size,) = result["sizes"]
    assert size["rows"] == 40 and size["images"] == 1
    assert set(size["plugin_time_s"]) == {"degrade", "restore", "score"}
    for step in ("first_run", "cached_rerun", "dry_run", "report"):
        assert size[step]["s"] > 0 and size[step]["peak_rss_mib"] > 0
    assert set(size["disk"]) == {"journal", "records", "timings", "images"}
    assert size["disk"]["images"]["files"] == 1 + 8 + 40  # GT, LQ, outputs
    assert size["resume_after_kill"]["records_equal_uninterrupted"]
    assert result["seconds_per_row_ratio_largest_to_smallest"] == 1.0
