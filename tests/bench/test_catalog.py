"""``dr2bench list degradations``: every degradation and chain, with its ladder, torch-free."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.chains import available_chains
from bench.cli import main
from bench.registry import DEGRADATIONS

REPO = Path(__file__).resolve().parents[2]


def test_json_lists_degradations_and_chains_with_ladders(capsys):
    assert main(["list", "degradations", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    degradations = {row["name"]: row for row in rows if row["kind"] == "degradation"}
    chains = {row["name"]: row for row in rows if row["kind"] == "chain"}
    assert set(degradations) == set(DEGRADATIONS.names())
    assert set(chains) == set(available_chains())
    assert degradations["gaussian_blur"]["ladder"]["5"] == {"sigma": 8.0, "kernel_size": 41}
    assert degradations["gaussian_noise"]["units"]["sigma"] == "0-255"
    assert "seed" not in degradations["gaussian_noise"]["ladder"]["1"]
    assert list(chains["gfpgan"]["ladder"]) == ["0"]
    classic_5 = chains["classic"]["ladder"]["5"]
    assert [step["name"] for step in classic_5] == [
        "gaussian_blur",
        "downsample",
        "gaussian_noise",
        "jpeg",
    ]
    assert classic_5[1]["params"]["scale"] == 32.0


def test_table_shows_ladders(capsys):
    assert main(["list", "degradations"]) == 0
    out = capsys.readouterr().out
    assert "chain       classic" in out
    assert "    5: gaussian_blur(sigma=8.0, kernel_size=41) > downsample(scale=32.0" in out
    assert "    ranges: sigma=[0.1, 10.0], kernel_size=41" in out


def test_listing_degradations_imports_no_torch_and_no_opencv():
    code = (
        "import sys, io, contextlib\n"
        "from bench.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['list', 'degradations', '--json']) == 0\n"
        "heavy = [m for m in ('torch', 'torchvision', 'cv2', 'pandas') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
