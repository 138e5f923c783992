"""One failure count: the terminal, manifest.json and the report agree, and the exit status says it.

Three faceless images scored with ids.dlib (no face: missing per-image values), KID against a
reference that is not there (missing set values) and PSNR (fine); a restorer that fails one image.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import reliability_plugins
import yaml

from bench.cli import main
from bench.images import write_png
from bench.run.records import count_failures


@pytest.mark.slow
def test_terminal_manifest_and_report_count_the_same_failures(tmp_path, capsys):
    reliability_plugins.register()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "bad.png"):
        write_png(tmp_path / "faces" / name, rng.random((64, 64, 3)).astype(np.float32))
    config = {
        "name": "counts",
        "datasets": [{"name": "faces", "path": str(tmp_path / "faces")}],
        "degradations": [{"chain": "classic", "severities": [1]}],
        "restorers": ["identity", {"name": "test_faulty", "params": {"fault": "raise"}}],
        "metrics": ["psnr", "ids.dlib", {"name": "kid", "params": {"reference": "nowhere"}}],
        "output": str(tmp_path / "run"),
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))

    assert main(["run", str(path), "--report"]) == 1  # values are missing: not a success
    printed = capsys.readouterr().out
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    failures = manifest["failures"]
    assert failures["rows_by_status"] == {"failed": 1}  # test_faulty on bad.png
    assert failures["values"] == {"ids.dlib": 5}  # 3 identity rows + 2 test_faulty rows
    assert failures["set_values"] == {"kid": 2}  # one per restorer: no reference set
    assert failures["count"] == 1 + 5 + 2
    assert "1 rows have no output (1 failed)" in printed
    assert "5 per-image metric values are missing (ids.dlib 5)" in printed
    assert "2 set metric values are missing (kid 2)" in printed

    import pandas as pd

    records = pd.read_parquet(tmp_path / "run" / "records.parquet")
    sets = pd.read_parquet(tmp_path / "run" / "sets.parquet")
    again = count_failures(records.to_dict("records"), sets.to_dict("records"), 0)
    assert again.as_json() == failures
    report = next(Path(tmp_path / "run" / "report").glob("*.md")).read_text()
    assert "5 per-image metric values are missing (ids.dlib 5)" in report
    assert "2 set metric values are missing (kid 2)" in report


def test_retry_failed_computes_failures_again_and_leaves_successes_alone(tmp_path, capsys):
    """A transient failure is not cached for ever: '--retry-failed' computes it again."""
    reliability_plugins.register()
    rng = np.random.default_rng(1)
    for name in ("a.png", "b.png"):
        write_png(tmp_path / "faces" / name, rng.random((32, 32, 3)).astype(np.float32))
    gate = tmp_path / "failing"
    gate.touch()
    config = {
        "name": "retry",
        "datasets": [{"name": "faces", "path": str(tmp_path / "faces")}],
        "degradations": [{"chain": "classic", "severities": [1]}],
        "restorers": ["identity", {"name": "test_flaky", "params": {"gate": str(gate)}}],
        "metrics": ["psnr"],
        "output": str(tmp_path / "run"),
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    journal = tmp_path / "run" / "journal.jsonl"

    assert main(["run", str(path), "--quiet"]) == 1
    gate.unlink()  # the cause went away
    assert main(["run", str(path), "--quiet"]) == 1  # a plain rerun keeps the cached failures
    before = journal.read_text().splitlines()
    assert main(["run", str(path), "--quiet", "--retry-failed"]) == 0
    capsys.readouterr()

    import pandas as pd

    records = pd.read_parquet(tmp_path / "run" / "records.parquet")
    assert (records["status"] == "ok").all() and records["psnr"].notna().all()
    added = [json.loads(line) for line in journal.read_text().splitlines()[len(before) :]]
    retried = [entry for entry in added if entry["kind"] == "out"]
    assert len(retried) == 2 and all(entry["attempts"] == 2 for entry in retried)
    assert {entry["kind"] for entry in added} == {"out", "score"}  # the identity's rows stay
    assert all(entry.get("attempts", 1) == 1 for entry in added if entry["kind"] == "score")
    assert main(["run", str(path), "--quiet", "--retry-failed"]) == 0
    assert journal.read_text().splitlines()[len(before) + len(added) :] == []  # nothing to redo
