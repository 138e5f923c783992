"""'dr2bench compare': two runs of one grid made with different seeds and a changed restorer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from bench.cli import main
from bench.images import write_png
from reports.compare import compare_runs
from reports.results import load_results


def _run(tmp_path, name, seed, restorers):
    config = {
        "name": name,
        "seed": seed,
        "datasets": [{"name": "faces", "path": str(tmp_path / "faces")}],
        "degradations": [{"chain": "classic", "severities": [1]}],
        "restorers": restorers,
        "metrics": ["psnr", "kid"],
        "output": str(tmp_path / name),
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", str(path), "--quiet"]) == 0
    return tmp_path / name


@pytest.mark.slow
def test_compare_two_runs(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for i in range(4):
        write_png(tmp_path / "faces" / f"f{i}.png", rng.random((64, 64, 3)).astype(np.float32))
    first = _run(tmp_path, "before", 0, ["identity", "unsharp"])
    changed = {"name": "unsharp", "params": {"amount": 2.0}}
    second = _run(tmp_path, "after", 1, ["identity", changed, "lanczos"])
    out = tmp_path / "compare"
    assert main(["compare", str(first), str(second), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "note: seeds paired in sorted order: 0 (first) with 1 (second)" in printed
    assert "note: restorer unsharp: different params" in printed
    for suffix in (".md", ".tex", ".html", ".csv"):
        assert (out / f"after-vs-before{suffix}").is_file()

    comparison = compare_runs(load_results(first), load_results(second))
    diffs = comparison.differences.set_index(["restorer", "metric"])
    a = pd.read_parquet(first / "records.parquet").set_index(["restorer", "image_id"])
    b = pd.read_parquet(second / "records.parquet").set_index(["restorer", "image_id"])
    expected = (b.loc["identity", "psnr"] - a.loc["identity", "psnr"]).mean()
    assert diffs.loc[("identity", "psnr"), "difference"] == pytest.approx(expected, rel=1e-12)
    assert diffs.loc[("identity", "psnr"), "n"] == 4
    assert diffs.loc[("identity", "psnr"), "better"] == "too few"  # 4 pairs cannot reach 0.05
    assert "2 comparisons (0 better, 0 worse, 0 without evidence, 2 with too few images" in printed
    only = comparison.only
    assert only[["restorer", "run", "rows_b"]].values.tolist() == [["lanczos", "second", 4]]
    assert set(comparison.sets["restorer"]) == {"identity", "unsharp"}
    text = (out / "after-vs-before.md").read_text()
    assert "## after against before" in text and "Cells only one run has" in text
    assert r"\toprule" in (out / "after-vs-before.tex").read_text()
    assert "<script" not in (out / "after-vs-before.html").read_text()


def test_compare_needs_two_runs(tmp_path, capsys):
    assert main(["compare", str(tmp_path)]) == 2
    assert "at least two run folders" in capsys.readouterr().err
