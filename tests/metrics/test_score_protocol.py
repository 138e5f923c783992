"""``dr2bench score --protocol``: a published protocol's metrics on two folders."""

from __future__ import annotations

import json

import numpy as np

from bench.cli import main
from bench.images import write_png
from tests.metrics.conftest import pattern


def test_score_with_a_protocol(tmp_path, isolated_home, rng, capsys):
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    for i in range(2):
        clean = pattern(64, shift=30 * i)
        write_png(gt / f"{i}.png", clean)
        write_png(pred / f"{i}.png", np.clip(clean * 0.9 + rng.integers(0, 9, clean.shape), 0, 255))
    out = tmp_path / "scores.json"
    argv = ["score", "--pred", str(pred), "--gt", str(gt), "--protocol", "vqfr",
            "--metrics", "psnr", "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    metrics = json.loads(out.read_text())["metrics"]
    names = ["psnr.vqfr", "ssim.vqfr", "lpips.vgg", "fid", "deg.vqfr", "lmd.fan", "niqe", "psnr"]
    assert sorted(metrics) == sorted(names)
    assert metrics["psnr.vqfr"]["config"]["correct_mean_var"] is True
    assert metrics["psnr.vqfr"]["mean"] > metrics["psnr"]["mean"]  # the correction undoes 0.9x
    assert "inception_FFHQ_512.pth" in metrics["fid"]["unavailable"]
    assert "resnet18_110.pth" in metrics["deg.vqfr"]["unavailable"]
    assert "alignment_WFLW_4HG.pth" in metrics["lmd.fan"]["unavailable"]
    printed = capsys.readouterr().out
    assert "deg.vqfr" in printed and "unavailable" in printed


def test_score_refuses_a_metric_named_twice(tmp_path, capsys):
    write_png(tmp_path / "p" / "a.png", pattern(32))
    argv = ["score", "--pred", str(tmp_path / "p"), "--metrics", "psnr,psnr"]
    assert main(argv) == 2
    assert "'psnr' more than once" in capsys.readouterr().err
