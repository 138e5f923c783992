"""``protocol: ntire2025`` on the challenge's validation faces: every term that can run here
runs, the others name their files, and the weighted score is not invented."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main

REAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real"


@pytest.mark.slow
def test_ntire2025_run_on_the_real_sets(tmp_path, isolated_home, capsys):
    if not REAL.is_dir():
        pytest.skip(f"{REAL} is not there (../shared/data beside the checkout)")
    config = tmp_path / "ntire.yaml"
    config.write_text(
        "name: ntire\nprotocol: ntire2025\nrestorers: [identity]\n"
        f"datasets: [{{name: val, path: {REAL}, paired: false}}]\n"
        f"output: {tmp_path / 'run'}\n"
    )
    assert main(["run", str(config), "--quiet"]) in (0, 1)
    out = capsys.readouterr().out
    records = pd.read_parquet(tmp_path / "run" / "records.parquet")
    assert len(records) == 100 and records["pyiqa.niqe"].notna().all()  # runs offline
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["protocol"]["name"] == "ntire2025"
    for needed in ("inception_FFHQ_512.pth", "adaface_ir50_ms1mv2.ckpt"):
        assert needed in out, needed
    assert "protocol score, identity on val: none (missing terms:" in out
    for term in ("fid", "pyiqa.clipiqa", "pyiqa.maniqa", "pyiqa.musiq", "pyiqa.qalign"):
        assert f"{term}:" in out.split("missing terms:")[1], term
    assert "pyiqa.niqe:" not in out.split("missing terms:")[1]
