"""With ``timeout_s``, a hanging or crashing restorer fails only the images it hangs or dies on."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bench.run.config import load_run_config
from bench.run.executors import LocalExecutor
from bench.run.isolation import IsolatedWorker, UnitFailed
from bench.run.runner import Runner


@pytest.mark.slow
def test_hangs_and_crashes_fail_only_their_images(make_config, monkeypatch):
    monkeypatch.setenv("DR2BENCH_PLUGIN_MODULES", "runner_plugins")
    monkeypatch.setenv("DR2BENCH_TEST_PLUGINS", "1")
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    config = load_run_config(make_config(restorers=["test_hang"], timeout_s=4, batch_size=6))
    executor = LocalExecutor(timeout_s=config.timeout_s)
    try:
        summary = Runner(config, executor, progress=False).run()
    finally:
        executor.close()
    frame = pd.read_parquet(summary.run_dir / "records.parquet").set_index("image_id")
    assert "timed out after 4 s" in frame.loc["img2.png", "error"]  # the bright image hangs
    assert "worker process died" in frame.loc["img4.png", "error"]  # the dark one crashes
    others = frame.drop(index=["img2.png", "img4.png"])
    assert (others["status"] == "ok").all(), others[["status", "error"]]


def _double(x):
    return 2 * x


def _sleep(seconds):
    import time

    time.sleep(seconds)


def test_isolated_worker_runs_and_times_out():
    worker = IsolatedWorker(timeout_s=30)
    try:
        assert worker.call(_double, (21,)) == 42
        worker.timeout_s = 0.5
        with pytest.raises(UnitFailed, match="timed out after 0.5 s"):
            worker.call(_sleep, (30,))
        worker.timeout_s = 30
        assert worker.call(_double, (2,)) == 4  # a fresh process took over
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            worker.call(divmod, (1, 0))
    finally:
        worker.close()
