"""A run of ``protocol: vqfr``: the manifest records the expansion; what cannot run is named."""

from __future__ import annotations

import json

import pandas as pd

from bench.protocols import load_protocol
from bench.run.config import load_run_config
from bench.run.executors import LocalExecutor
from bench.run.runner import Runner


def test_protocol_run_records_its_expansion_and_names_missing_files(make_config, isolated_home):
    config = make_config(protocol="vqfr", metrics=[], restorers=["test_darken"])
    summary = Runner(load_run_config(config), LocalExecutor(), progress=False).run()
    manifest = json.loads((summary.run_dir / "manifest.json").read_text())
    protocol = load_protocol("vqfr")
    assert manifest["protocol"]["name"] == "vqfr"
    assert manifest["protocol"]["follows"] == protocol.follows
    expanded = [entry["name"] for entry in manifest["config"]["metrics"]]
    assert expanded == [entry["name"] for entry in protocol.metrics]
    assert set(manifest["metrics"]) == set(expanded)
    assert manifest["metrics"]["fid"]["params"]["reference"] == "weights:inception_ffhq512_stats"
    # metrics that need files that are not here are unavailable, each naming its file
    unavailable = " ".join(sorted(summary.unavailable))
    for needed in ("resnet18_110.pth", "alignment_WFLW_4HG.pth", "inception_FFHQ_512.pth"):
        assert needed in unavailable, needed
    records = pd.read_parquet(summary.run_dir / "records.parquet")
    paired = records[records.dataset == "pairs"]
    assert paired["psnr.vqfr"].notna().all() and paired["ssim.vqfr"].notna().all()
    assert paired["deg.vqfr"].isna().all() and paired["lmd.fan"].isna().all()
