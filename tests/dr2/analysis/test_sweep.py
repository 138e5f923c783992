"""The N x tau sweep: its run config, its checks, and a run that feeds the trade-off figure.

The DR2 restorer may not be registered yet, so the run uses a cheap stand-in with the same grid
parameters (``N``, ``tau``): Phi_N of the input blended with the input by ``tau / 100``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.config import ConfigError
from bench.contracts import Restorer
from bench.images import write_png
from bench.registry import RESTORERS
from dr2.analysis.sweep import SweepSpec, sweep_config, write_sweep_config


class LowPassBlend(Restorer):
    version = 1
    description = "test stand-in for DR2: Phi_N blended with the input by tau / 100"

    @dataclass(frozen=True)
    class Params:
        N: int = 4
        tau: int = 20

    def restore(self, images, seeds):
        from dr2.resize import LowPass

        low = LowPass(images.shape[-1], self.params.N)(images)
        weight = self.params.tau / 100
        return (weight * low + (1 - weight) * images).clamp(0, 1)


@pytest.fixture
def stand_in():
    RESTORERS.register("test_dr2", LowPassBlend, source="tests")
    yield "test_dr2"
    RESTORERS.unregister("test_dr2")


@pytest.fixture
def faces(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    folder = tmp_path / "faces"
    for i in range(3):
        coarse = rng.random((12, 12, 3))
        write_png(folder / f"{i}.png", np.kron(coarse, np.ones((16, 16, 1))).astype(np.float32))
    return folder


def test_config_has_the_grid_and_the_baselines(tmp_path):
    spec = SweepSpec(
        tmp_path / "hq",
        tmp_path / "run",
        factors=(4, 8),
        taus=(20, 35),
        params={"K": 100},
        severities=(1, 3),
    )
    config = sweep_config(spec)
    assert config["restorers"] == [
        "identity",
        {"name": "dr2", "grid": {"N": [4, 8], "tau": [20, 35]}, "params": {"K": 100}},
    ]
    assert config["degradations"] == [{"chain": "classic", "severities": [1, 3]}]
    assert config["datasets"] == [{"name": "hq", "path": str(tmp_path / "hq")}]
    assert config["metrics"] == ["psnr", "fid"]


def test_unknown_restorer_or_parameter_is_named(tmp_path, stand_in):
    spec = SweepSpec(tmp_path, tmp_path / "run", restorer="no_such_restorer")
    with pytest.raises(ConfigError, match="no_such_restorer"):
        write_sweep_config(spec)
    spec = SweepSpec(tmp_path, tmp_path / "run", restorer=stand_in, params={"omgea": 3})
    with pytest.raises(ConfigError, match="omgea"):
        write_sweep_config(spec)


@pytest.mark.slow
def test_sweep_runs_and_feeds_the_tradeoff(faces, tmp_path, stand_in):
    from bench.cli import main
    from reports.results import load_results
    from reports.summary import summarize
    from reports.tradeoff import tradeoff_points

    output = tmp_path / "run"
    code = main(
        [
            "analyze",
            "sweep",
            "--input",
            str(faces),
            "--output",
            str(output),
            "--restorer",
            stand_in,
            "--N",
            "2,4",
            "--tau",
            "10,50",
            "--chains",
            "gaussian_blur",
            "--severities",
            "2",
            "--metrics",
            "psnr,niqe",
            "--quiet",
        ]
    )
    assert code == 0
    saved = yaml.safe_load((output / "sweep.yaml").read_text())
    assert saved["restorers"][1]["grid"] == {"N": [2, 4], "tau": [10, 50]}
    run = load_results(output)
    points, fidelity, quality = tradeoff_points(summarize(run, resamples=10), run)
    grid = points[points["grid"]]
    assert (fidelity, quality) == ("psnr", "niqe")
    assert sorted(zip(grid["N"], grid["tau"], strict=True)) == [(2, 10), (2, 50), (4, 10), (4, 50)]
    assert grid["pareto"].any()
    # more blending towards Phi_N (larger tau here) loses fidelity to the sharp ground truth
    psnr = grid.set_index(["N", "tau"])["fidelity"]
    assert psnr[(4, 50)] < psnr[(4, 10)]
