"""Per-dataset references of set metrics, and one metric twice under two labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.images import read_image, write_png
from bench.run.config import load_run_config
from bench.run.executors import LocalExecutor
from bench.run.runner import Runner


def mean_colour(paths) -> np.ndarray:
    return np.stack([read_image(p).mean(axis=(0, 1)) for p in paths]).mean(axis=0)


@pytest.fixture
def references(tmp_path) -> dict[str, object]:
    """Two reference folders of flat images: a grey one and a reddish one."""
    folders = {}
    for name, colour in (("grey", (0.5, 0.5, 0.5)), ("red", (0.9, 0.2, 0.1))):
        for i in range(3):
            image = np.full((40, 40, 3), colour, np.float32) * (0.9 + 0.05 * i)
            write_png(tmp_path / name / f"{i}.png", image)
        folders[name] = tmp_path / name
    return folders


def test_dataset_reference_and_a_metric_twice(make_config, data, references, isolated_home):
    config = make_config(
        datasets=[
            {"name": "pairs", "kind": "paired", "path": str(data / "paired")},
            {
                "name": "real",
                "path": str(data / "real"),
                "paired": False,
                "reference": str(references["grey"]),
            },
        ],
        restorers=["test_darken"],
        metrics=[
            "test_gap",
            {
                "name": "test_gap",
                "label": "gap_red",
                "params": {"reference": str(references["red"])},
            },
        ],
    )
    summary = Runner(load_run_config(config), LocalExecutor(), progress=False).run()
    sets = pd.read_parquet(summary.run_dir / "sets.parquet").set_index(["dataset", "metric"])
    assert (sets["status"] == "ok").all()
    outputs = summary.run_dir / "images" / "outputs" / "test_darken"
    out_pairs = mean_colour(sorted((outputs / "pairs").rglob("*.png")))
    out_real = mean_colour(sorted((outputs / "real").rglob("*.png")))
    gt = mean_colour(sorted((summary.run_dir / "images" / "gt" / "pairs").rglob("*.png")))
    grey = mean_colour(sorted(references["grey"].glob("*.png")))
    red = mean_colour(sorted(references["red"].glob("*.png")))
    expected = {
        ("pairs", "test_gap"): (np.abs(out_pairs - gt).sum(), "ground truth"),
        ("real", "test_gap"): (np.abs(out_real - grey).sum(), str(references["grey"])),
        ("pairs", "gap_red"): (np.abs(out_pairs - red).sum(), str(references["red"])),
        ("real", "gap_red"): (np.abs(out_real - red).sum(), str(references["red"])),
    }
    for key, (value, reference) in expected.items():
        assert sets.loc[key, "value"] == pytest.approx(value, rel=1e-5), key
        assert sets.loc[key, "reference"] == reference
    # the two labels share the outputs' features: extracted once per image
    features = list((summary.run_dir / "cache" / "features").rglob("*.npy"))
    assert len(features) == 6 + 3 + 6  # outputs of both datasets, and the GT of the paired one


def test_a_changed_reference_folder_changes_the_value(make_config, data, references):
    config = make_config(
        datasets=[
            {
                "name": "real",
                "path": str(data / "real"),
                "paired": False,
                "reference": str(references["grey"]),
            },
        ],
        restorers=["test_darken"],
        metrics=["test_gap"],
    )
    first = Runner(load_run_config(config), LocalExecutor(), progress=False).run()
    before = pd.read_parquet(first.run_dir / "sets.parquet")["value"].iloc[0]
    write_png(references["grey"] / "0.png", np.zeros((40, 40, 3), np.float32))
    again = Runner(load_run_config(config), LocalExecutor(), progress=False).run()
    after = pd.read_parquet(again.run_dir / "sets.parquet")["value"].iloc[0]
    assert after != pytest.approx(before)


def test_a_missing_reference_statistics_file_makes_the_metric_unavailable(
    make_config, isolated_home
):
    config = make_config(
        restorers=["test_darken"],
        metrics=[{"name": "test_gap", "params": {"reference": "weights:inception_ffhq512_stats"}}],
    )
    summary = Runner(load_run_config(config), LocalExecutor(), progress=False).run()
    sets = pd.read_parquet(summary.run_dir / "sets.parquet")
    assert (sets["status"] == "unavailable").all()
    assert sets["error"].str.contains("inception_FFHQ_512.pth").all()
