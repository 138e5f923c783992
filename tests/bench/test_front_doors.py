"""One pipeline, several front doors: the same image and seed give the same bytes everywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.cli import main
from bench.config import ConfigError
from bench.images import write_png
from bench.run.config import load_run_config


def faces(folder: Path, count: int = 2, size: int = 64) -> Path:
    """Smooth random images (a degradation or a diffusion model has something to work on)."""
    rng = np.random.default_rng(4)
    for i in range(count):
        coarse = rng.random((8, 8, 3)).astype(np.float32)
        image = np.kron(coarse, np.ones((size // 8, size // 8, 1), np.float32))
        write_png(folder / f"sub/f{i}.png", image)
    return folder


def run_config(tmp_path: Path, **fields) -> Path:
    path = tmp_path / "run.yaml"
    config = {"name": "doors", "output": str(tmp_path / "run"), "keep_images": "all"} | fields
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_restore_and_run_give_a_stochastic_restorer_the_same_noise(tmp_path):
    folder = faces(tmp_path / "faces")
    out = tmp_path / "restored"
    argv = ["restore", "--restorer", "dr2", "--set", "tau=10", "--seed", "3",
            "--input", str(folder), "--output", str(out)]  # fmt: skip
    assert main(argv) == 0
    config = run_config(
        tmp_path,
        seed=3,
        datasets=[{"name": "faces", "path": str(folder), "paired": False}],
        restorers=[{"name": "dr2", "params": {"tau": 10}}],
    )
    assert main(["run", str(config), "--quiet"]) == 0
    outputs = tmp_path / "run" / "images" / "outputs" / "dr2" / "faces" / "none" / "0" / "3"
    for image in sorted((out / "sub").glob("*.png")):
        ran = outputs / image.relative_to(out)
        assert ran.read_bytes() == image.read_bytes(), image.name
    other = tmp_path / "other-seed"
    argv[argv.index("3")] = "4"
    assert main([*argv[:-1], str(other)]) == 0
    assert (other / "sub/f0.png").read_bytes() != (out / "sub/f0.png").read_bytes()


def assert_degrade_and_run_agree(tmp_path: Path, chain: str, severity: int, folder_name: str):
    """``degrade`` and ``run`` with the same chain and seed write the same LQ bytes; the run
    keeps them under ``folder_name``."""
    folder = faces(tmp_path / "hq")
    built = tmp_path / "built"
    argv = ["degrade", "--input", str(folder), "--chain", chain, "--severity", str(severity),
            "--seed", "5", "--output", str(built), "--dataset", "hq"]  # fmt: skip
    assert main(argv) == 0
    config = run_config(
        tmp_path,
        seed=5,
        datasets=[{"name": "hq", "path": str(folder)}],
        degradations=[{"chain": chain, "severities": [severity]}],
        restorers=["identity"],
    )
    assert main(["run", str(config), "--quiet"]) == 0
    lq = tmp_path / "run" / "images" / "lq" / "hq" / folder_name / str(severity) / "5"
    images = sorted((built / "lq").rglob("*.png"))
    assert len(images) == 2
    for image in images:
        assert (lq / image.relative_to(built / "lq")).read_bytes() == image.read_bytes()


def test_degrade_and_run_write_the_same_degraded_images(tmp_path):
    assert_degrade_and_run_agree(tmp_path, "classic", 3, "classic")


MY_CHAIN = {
    "name": "my_blur",
    "version": 1,
    "description": "a chain of one's own",
    "sizes": "any",
    "steps": [{"name": "gaussian_blur", "params": {"sigma": [0.5, 3], "kernel_size": 21}}],
}


def test_a_chain_file_runs_under_its_own_name_as_degrade_makes_it(tmp_path):
    chain = tmp_path / "chains" / "mine.yaml"
    chain.parent.mkdir()
    chain.write_text(yaml.safe_dump(MY_CHAIN))
    assert_degrade_and_run_agree(tmp_path, str(chain), 0, "my_blur")  # the chain's own name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("gaussian_blur", "names its chain 'gaussian_blur' like a built-in chain"),
        ("../up", "'../up' cannot be used as a name inside the run folder"),
    ],
)
def test_a_chain_file_needs_a_name_of_its_own(name, message, tmp_path):
    chain = tmp_path / "mine.yaml"
    chain.write_text(yaml.safe_dump(MY_CHAIN | {"name": name}))
    config = run_config(
        tmp_path,
        datasets=[{"name": "hq", "path": str(faces(tmp_path / "hq"))}],
        degradations=[{"chain": str(chain)}],
        restorers=["identity"],
    )
    with pytest.raises(ConfigError, match=message):
        load_run_config(config)


@pytest.mark.slow
def test_score_on_a_runs_outputs_gives_the_runs_records(tmp_path, shared_data):
    """Every per-image metric of the demo, through 'dr2bench score' and through 'dr2bench run'."""
    import json

    import pandas as pd

    demo = yaml.safe_load((Path(__file__).parents[2] / "configs" / "demo.yaml").read_text())
    per_image = [name for name in demo["metrics"] if name not in ("fid", "kid")]
    config = run_config(
        tmp_path,
        datasets=[{"name": "hq", "path": str(shared_data / "hq")}],
        limit=2,
        degradations=[{"chain": "classic", "severities": [2]}],
        restorers=["unsharp"],
        metrics=per_image,
    )
    assert main(["run", str(config), "--quiet"]) == 0
    images = tmp_path / "run" / "images"
    report = tmp_path / "score.json"
    argv = ["score", "--pred", str(images / "outputs/unsharp/hq/classic/2/0"),
            "--gt", str(images / "gt/hq"), "--input", str(images / "lq/hq/classic/2/0"),
            "--metrics", ",".join(per_image), "--json", str(report)]  # fmt: skip
    assert main(argv) == 0
    scored = {row["id"]: row for row in json.loads(report.read_text())["per_image"]}
    records = pd.read_parquet(tmp_path / "run" / "records.parquet")
    assert len(records) == 2 and set(per_image) <= set(records.columns)
    for row in records.itertuples():
        for metric in per_image:
            ran = records.loc[row.Index, metric]
            again = scored[f"{row.image_id}"][metric]
            assert (ran is None or np.isnan(ran)) == (again is None), (metric, row.image_id)
            if again is not None:
                assert again == ran, (metric, row.image_id)
