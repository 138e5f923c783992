from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import runner_plugins

from bench.cli import main
from bench.config import ConfigError
from bench.images import read_image, write_png
from bench.run.config import load_run_config
from bench.run.executors import LocalExecutor
from bench.run.runner import ConfigChangedError, Runner


def run(config_path, **kwargs):
    config = load_run_config(config_path)
    return Runner(config, LocalExecutor(), progress=False).run(**kwargs)


def records(summary) -> pd.DataFrame:
    return pd.read_parquet(summary.run_dir / "records.parquet")


def test_small_grid_end_to_end(make_config, data):
    summary = run(make_config())
    frame = records(summary)
    assert len(frame) == (6 + 3) * 2 == summary.rows
    assert set(frame["restorer"]) == {"test_darken", "test_noisy"}
    assert set(frame["dataset_kind"]) == {"paired", "real"}
    assert (frame["status"] == "ok").all()
    # the paired metric equals a direct computation from the files
    row = frame[(frame.restorer == "test_darken") & (frame.image_id == "img1.png")].iloc[0]
    out = read_image(summary.run_dir / "images/outputs/test_darken/pairs/none/0/0/img1.png")
    gt = read_image(data / "paired/gt/img1.png")
    lq = read_image(data / "paired/lq/img1.png")
    assert np.allclose(out, np.rint(lq * 0.5 * 255) / 255, atol=1e-6)
    assert row["test_mae"] == pytest.approx(np.abs(out - gt).mean(), abs=1e-6)
    # a paired metric does not apply to a real set: NaN, and no error recorded
    real = frame[frame.dataset == "real"]
    assert real["test_mae"].isna().all()
    assert (real["metric_errors"] == "{}").all()
    assert real["test_brightness"].notna().all()
    assert set(real["image_id"]) == {"sub/r0.png", "sub/r1.png", "sub/r2.png"}
    manifest = json.loads((summary.run_dir / "manifest.json").read_text())
    assert manifest["metrics"]["test_mae"]["higher_is_better"] is False
    assert manifest["restorers"]["test_noisy"]["name"] == "test_noisy"
    assert manifest["packages"]["numpy"]
    timings = pd.read_parquet(summary.run_dir / "timings.parquet")
    assert len(timings) == len(frame) and (timings["time_restore_s"] >= 0).all()


def test_rerun_computes_nothing_and_writes_same_bytes(make_config, capsys):
    path = make_config()
    first = run(path)
    before = (first.run_dir / "records.parquet").read_bytes()
    assert main(["run", str(path), "--quiet"]) == 0
    assert "nothing new to compute" in capsys.readouterr().out
    assert (first.run_dir / "records.parquet").read_bytes() == before


def test_adding_a_metric_computes_only_that_metric(make_config):
    run(make_config())
    loads_before = runner_plugins.MeanAbsError.loads
    summary = run(
        make_config(metrics=["test_mae", "test_brightness", "test_input_mae"]), resume=True
    )
    assert summary.computed.get("degrade", 0) == 0
    assert summary.computed.get("restore", 0) == 0
    assert summary.computed["score test_input_mae"] == 18
    assert summary.computed.get("score test_mae", 0) == 0
    assert runner_plugins.MeanAbsError.loads == loads_before  # the old metric never reloaded
    assert runner_plugins.InputDistance.loads == 1
    assert records(summary)["test_input_mae"].notna().all()


def test_changed_config_needs_resume(make_config):
    run(make_config())
    with pytest.raises(ConfigChangedError, match=r"\(changed: metrics\); pass --resume"):
        run(make_config(metrics=["test_mae"]))


def test_the_command_line_says_a_changed_config_in_one_line(make_config, capsys):
    from bench.cli import main

    assert main(["run", str(make_config()), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["run", str(make_config(metrics=["test_mae"])), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("dr2bench run: error: ") and "(changed: metrics)" in error
    assert "Traceback" not in error and error.count("\n") == 1


def test_a_key_an_older_version_did_not_write_is_not_a_change(make_config):
    """A run made before a config key existed (unset now) reruns without --resume."""
    first = run(make_config())
    path = first.run_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["config"]["baseline"]
    for restorer in manifest["config"]["restorers"]:
        del restorer["display"]
    path.write_text(json.dumps(manifest))
    assert sum(run(make_config()).computed.values()) == 0


def test_a_moved_run_folder_is_the_same_run(make_config, tmp_path, monkeypatch):
    """The folder's place (moved, or given relative instead of absolute) is not the config."""
    first = run(make_config())
    moved = tmp_path / "moved"
    first.run_dir.rename(moved)
    monkeypatch.chdir(tmp_path)
    again = run(make_config(output="moved"))  # relative, and elsewhere than before
    assert sum(again.computed.values()) == 0 and again.rows == first.rows


def test_adding_a_restorer_reuses_the_rest(make_config):
    run(make_config())
    summary = run(
        make_config(
            restorers=[
                "test_darken",
                "test_noisy",
                {"name": "test_darken", "grid": {"factor": [0.25, 1.0]}},
            ]
        ),
        resume=True,
    )
    assert summary.computed["restore"] == 18
    assert set(records(summary)["restorer"]) == {
        "test_darken",
        "test_noisy",
        "test_darken[factor=0.25]",
        "test_darken[factor=1.0]",
    }


def test_failures_are_isolated_and_recorded(make_config):
    summary = run(make_config(restorers=["test_picky", "test_broken", "test_darken"]))
    frame = records(summary).set_index(["restorer", "dataset", "image_id"]).sort_index()
    assert frame.loc[("test_picky", "pairs", "img2.png"), "status"] == "failed"
    assert "too bright" in frame.loc[("test_picky", "pairs", "img2.png"), "error"]
    assert "NaN" in frame.loc[("test_picky", "pairs", "img4.png"), "error"]
    assert frame.loc[("test_picky", "pairs", "img0.png"), "status"] == "ok"
    assert (frame.loc["test_broken", "status"] == "failed").all()
    assert (frame.loc["test_darken", "status"] == "ok").all()
    assert summary.failures.rows == {"failed": 2 + 9}


def test_cli_exit_code_and_summary(make_config, capsys):
    code = main(["run", str(make_config(restorers=["test_broken"])), "--quiet"])
    assert code == 1
    assert "9 rows have no output (9 failed)" in capsys.readouterr().out


def test_stochastic_restorer_is_seeded_per_image(make_config, tmp_path):
    a = records(run(make_config(restorers=["test_noisy"], batch_size=1)))
    b = records(
        run(make_config(restorers=["test_noisy"], batch_size=5, output=str(tmp_path / "other")))
    )
    assert a["test_brightness"].tolist() == b["test_brightness"].tolist()
    seeds = records(
        run(make_config(restorers=["test_noisy"], seeds=[0, 1], output=str(tmp_path / "seeds")))
    )
    by_seed = seeds.pivot_table(
        index=["dataset", "image_id"], columns="seed", values="test_brightness"
    )
    assert (by_seed[0] != by_seed[1]).all()


def test_set_metric_per_cell(make_config):
    summary = run(make_config(metrics=["test_meangap"]))
    sets = pd.read_parquet(summary.run_dir / "sets.parquet")
    pairs = sets[sets.dataset == "pairs"].set_index("restorer")
    assert pairs.loc["test_darken", "status"] == "ok" and pairs.loc["test_darken", "n"] == 6
    out = np.stack(
        [
            read_image(p).mean(axis=(0, 1))
            for p in sorted((summary.run_dir / "images/outputs/test_darken/pairs").rglob("*.png"))
        ]
    )
    gt = np.stack(
        [
            read_image(p).mean(axis=(0, 1))
            for p in sorted((summary.run_dir / "images/gt/pairs").rglob("*.png"))
        ]
    )
    expected = np.abs(out.mean(axis=0) - gt.mean(axis=0)).sum()
    assert pairs.loc["test_darken", "value"] == pytest.approx(expected, rel=1e-5)
    real = sets[sets.dataset == "real"]
    assert (real["status"] == "failed").all() and real["error"].str.contains("no reference").all()


def test_dry_run_prints_grid_and_cache(make_config, capsys):
    path = make_config()
    assert main(["run", str(path), "--dry-run", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "cell pairs/none/0/0 (paired): 6 images" in out
    assert "restore: 0/18 cached" in out
    run(path)
    main(["run", str(path), "--dry-run"])
    assert "restore: 18/18 cached" in capsys.readouterr().out


def test_keep_images_none(make_config):
    summary = run(make_config(keep_images="none"))
    assert not (summary.run_dir / "images").exists()
    assert len(records(summary)) == 18


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"metircs": []}, "unknown key 'metircs'; did you mean 'metrics'"),
        ({"restorers": ["test_darkn"]}, "restorers\\[0\\].*did you mean 'test_darken'"),
        ({"restorers": [{"name": "test_darken", "params": {"factr": 1}}]}, "did you mean 'factor'"),
        ({"restorers": [{"name": "test_darken", "label": "../x"}]}, "cannot be used as a name"),
        ({"restorers": ["test_darken", "test_darken"]}, "appears twice"),
        # duplicates would count rows twice (reliability #2), values that cannot run (#6, #14)
        (
            {"degradations": [{"chain": "classic", "severities": [2, 2]}]},
            "severity 2 is listed twice",
        ),
        (
            {"degradations": [{"chain": "classic", "severities": [1]}] * 2},
            "chain 'classic' at severity 1 is listed twice",
        ),
        ({"seeds": [0, 0, 1]}, "seed '0' appears twice"),
        ({"seed": 3, "seeds": [1, 2]}, "give 'seed' or 'seeds', not both"),
        ({"seed": -1}, "seeds must be 0 or more, got -1"),
        ({"limit": 0}, "limit must be a positive number of images per dataset, got 0"),
        ({"limit": -3}, "limit must be a positive number"),
        ({"device": "tpu"}, "device 'tpu' is not one of cpu, cuda, cuda:N or mps"),
        (
            {"degradations": [{"chain": "classic", "severities": [9]}]},
            "^[^:]*: chain 'classic': sev",
        ),
    ],
)
def test_config_errors(make_config, overrides, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_run_config(make_config(**overrides))


def test_damaged_manifest_asks_for_resume(make_config):
    path = make_config()
    summary = run(path)
    (summary.run_dir / "manifest.json").write_text("{not json")
    with pytest.raises(ConfigChangedError, match="manifest.json is damaged.*--resume"):
        run(path)
    assert run(path, resume=True).rows == 18


def test_progress_bars_count_images_not_journal_entries(make_config, capsys):
    """A restore unit also returns its outputs' scores; the bar counts only the outputs, and
    names the restorer at work."""
    path = make_config()
    Runner(load_run_config(path), LocalExecutor(), progress=True).run()
    bars = capsys.readouterr().err.replace("\r", "\n")
    finals, restorers = {}, set()
    for line in bars.splitlines():
        if ":" in line and "|" in line:
            phase, rest = line.split(":", 1)
            counts = rest.split("|")[2].split()[0]
            finals[phase.split()[0]] = counts
            restorers.update(phase.split()[1:2] if phase.startswith("restore") else ())
    assert finals["restore"] == "18/18"  # 9 images x 2 restorers, 2 metric values each
    assert finals["degrade"] == "9/9"
    assert restorers == {"test_darken", "test_noisy"}


def test_changed_folder_outputs_are_restored_again(make_config, data, tmp_path):
    """A `folder` restorer's cache key covers the folder's bytes, not only its path."""
    released = tmp_path / "released"
    for i in range(6):
        write_png(released / f"img{i}.png", np.full((40, 40, 3), 0.2, np.float32))
    folder = {"name": "folder", "label": "released", "params": {"path": str(released)}}
    config = make_config(
        datasets=[{"name": "pairs", "kind": "paired", "path": str(data / "paired")}],
        restorers=["test_darken", folder],
    )
    first = records(run(config))
    write_png(released / "img3.png", np.full((40, 40, 3), 0.8, np.float32))
    summary = run(config)
    assert summary.computed["restore"] == 6  # the folder's six outputs; test_darken stays cached
    again = records(summary).set_index(["restorer", "image_id"])
    before = first.set_index(["restorer", "image_id"])
    assert again.loc[("released", "img3.png"), "test_brightness"] == pytest.approx(0.8, abs=0.01)
    assert before.loc[("released", "img3.png"), "test_brightness"] == pytest.approx(0.2, abs=0.01)
    darken = again.xs("test_darken")["test_mae"]
    assert darken.equals(before.xs("test_darken")["test_mae"])


def test_an_unavailable_metric_is_tried_once_per_run(make_config, capsys):
    """Missing weights: unavailable, not retried in the same run, tried again in the next."""
    path = make_config(metrics=["test_mae", "test_needs_weights"])
    summary = run(path)
    assert runner_plugins.NeedsWeights.loads == 1
    assert summary.computed["score test_needs_weights"] == 18  # each value once, not twice
    assert summary.unavailable == {"missing weights needed.pt: put it in the weights folder"}
    errors = records(summary)["metric_errors"]
    assert errors.str.contains("missing weights needed.pt").all()
    # the next run tries again, and says why; its values are still missing: exit status 1
    assert main(["run", str(path), "--quiet"]) == 1
    assert runner_plugins.NeedsWeights.loads == 2
    out = capsys.readouterr().out
    assert "unavailable here (tried again on the next run): missing weights needed.pt" in out


def test_limit_and_only_on_the_command_line(make_config, capsys):
    """A quick check of one restorer on a few images, recorded in the manifest's config."""
    import json

    path = make_config()
    assert main(["run", str(path), "--quiet", "--limit", "1", "--only", "test_noisy"]) == 0
    config = load_run_config(path)
    manifest = json.loads((config.output / "manifest.json").read_text())
    assert manifest["config"]["limit"] == 1
    assert [r["name"] for r in manifest["config"]["restorers"]] == ["test_noisy"]
    rows = pd.read_parquet(config.output / "records.parquet")
    assert set(rows["restorer"]) == {"test_noisy"} and len(rows) == rows["dataset"].nunique()
    assert main(["run", str(path), "--only", "nope"]) == 2
    assert "--only nope: no such restorer in the config (it has: test_darken, test_noisy)" in (
        capsys.readouterr().err
    )


def test_run_log_records_each_phase(make_config):
    summary = run(make_config())
    log = (summary.run_dir / "run.log").read_text()
    for phase in ("degrade", "restore"):  # the outputs are scored inside the restore phase
        assert f"{phase}: " in log and f"{phase} finished: " in log
    assert "restore finished: 18 computed, 0 of them not ok" in log
