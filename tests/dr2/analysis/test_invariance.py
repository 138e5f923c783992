"""The invariance experiment end to end on a tiny folder, its files and its command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.cli import main
from bench.config import ConfigError
from bench.images import ImageError, write_png
from dr2.analysis.distances import first_below, noise_energy, signal_energy, signal_ratio
from dr2.analysis.experiment import InvarianceConfig, schedule
from dr2.analysis.inputs import ChainSetting, degrade, read_face, to_model
from dr2.analysis.invariance import measure
from dr2.analysis.outputs import write_invariance

SIZE = 64


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("faces")
    base = rng.random((8, 8, 3))
    for i in range(6):
        coarse = np.clip(base + 0.2 * rng.standard_normal((8, 8, 3)), 0, 1)
        write_png(folder / f"face{i}.png", np.kron(coarse, np.ones((8, 8, 1))))
    return folder


@pytest.fixture(scope="module")
def result(faces):
    config = InvarianceConfig(
        faces,
        chains=("gaussian_noise",),
        severities=(1, 5),
        lowpass=(4,),
        steps=(0, 60),
        size=SIZE,
        folds=3,
    )
    return measure(config)


def test_tables_have_every_degradation_band_and_step(result):
    assert result.image_ids == tuple(f"face{i}.png" for i in range(6))
    assert len(result.closed_form) == 2 * 2 * 100  # degradations x bands x K
    assert set(result.set_distances["t"]) == {0, 60}
    assert len(result.set_distances) == 2 * 2 * 2
    assert len(result.types_probe) == 2 * 2
    assert set(result.embedding) == {(1, 0), (1, 60), (4, 0), (4, 60)}
    features, labels = result.embedding[(1, 0)]
    assert len(features) == len(labels) == 6 * 3  # clean and two degradations per face


def test_closed_form_replays_the_degradation(result, faces):
    """The signal of one face recomputed from the replayed degradation, by hand."""
    image = read_face(faces / "face2.png")
    spec = ChainSetting("gaussian_noise", 5)
    clean = to_model(image, SIZE)[None]
    degraded = to_model(degrade(image, spec, 0, faces.name, "face2.png"), SIZE)[None]
    signals = []
    for name in result.image_ids:
        face = read_face(faces / name)
        y = to_model(degrade(face, spec, 0, faces.name, name), SIZE)[None]
        signals.append(signal_energy(to_model(face, SIZE)[None], y, 4)[0])
    ratio = signal_ratio(np.array(signals), noise_energy(SIZE, 4), schedule(100)).mean(axis=0)
    rows = result.closed_form.query("degradation == 'gaussian_noise-5' and N == 4")
    np.testing.assert_allclose(rows["ratio_mean"], ratio, rtol=1e-9)
    assert signal_energy(clean, degraded, 4)[0] == pytest.approx(signals[2])
    thresholds = result.thresholds.query("degradation == 'gaussian_noise-5' and N == 4")
    assert thresholds["t_closed_form"].iloc[0] == first_below(ratio)


def test_stronger_noise_stays_distinguishable_longer(result):
    table = result.thresholds.set_index(["degradation", "N"])
    assert (
        table.loc[("gaussian_noise-5", 1), "t_closed_form"]
        > table.loc[("gaussian_noise-1", 1), "t_closed_form"]
    )
    probe = result.set_distances.query("N == 1 and t == 0").set_index("degradation")
    assert probe.loc["gaussian_noise-5", "probe_accuracy"] == 1.0  # sigma 50 is obvious at t = 0


@pytest.mark.slow
def test_outputs(result, tmp_path):
    files = write_invariance(result, tmp_path)
    names = {path.relative_to(tmp_path).as_posix() for path in files}
    for table in ("closed_form", "set_distances", "types_probe", "thresholds"):
        assert f"{table}.csv" in names
    for figure in ("closed_form", "set_distances", "embedding"):
        assert {f"figures/{figure}.png", f"figures/{figure}.pdf"} <= names
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["images"] == 6
    assert summary["config"]["bands"] == [1, 4]
    assert set(summary["suggestions"]) == {"gaussian_noise-1", "gaussian_noise-5"}
    markdown = (tmp_path / "thresholds.md").read_text()
    assert "| gaussian_noise-5 |" in markdown


def test_bad_settings_are_named(faces, tmp_path):
    with pytest.raises(ConfigError, match="outside 0..99"):
        measure(InvarianceConfig(faces, chains=("jpeg",), severities=(1,), steps=(100,)))
    with pytest.raises(ConfigError, match="divide the size"):
        measure(InvarianceConfig(faces, chains=("jpeg",), severities=(1,), lowpass=(3,)))
    with pytest.raises(Exception, match="severity 0"):
        measure(InvarianceConfig(faces, chains=("jpeg",), severities=(0,)))
    wide = tmp_path / "wide"
    write_png(wide / "a.png", np.zeros((32, 48, 3), np.float32))
    with pytest.raises(ImageError, match="a.png: 48x32 is not square"):
        measure(InvarianceConfig(wide, chains=("jpeg",), severities=(1,), size=32))


@pytest.mark.slow
def test_invariance_command(faces, tmp_path, capsys):
    code = main(
        [
            "analyze",
            "invariance",
            "--input",
            str(faces),
            "--chains",
            "gaussian_blur",
            "--severities",
            "3",
            "--lowpass",
            "2",
            "--steps",
            "0,50",
            "--size",
            "32",
            "--folds",
            "2",
            "--quiet",
            "--output",
            str(tmp_path),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "| gaussian_blur-3 |" in printed
    assert (tmp_path / "figures" / "embedding.png").is_file()
