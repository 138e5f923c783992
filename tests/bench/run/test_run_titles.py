"""From a run config to the report's tables: display titles of restorers and grid points, the
config's order with the baseline first, and a metric that is trivial for the restorer that
returns its input (``identity`` scored against its input)."""

from __future__ import annotations

import json

import pytest

from bench.config import ConfigError
from bench.run.config import load_run_config
from bench.run.executors import LocalExecutor
from bench.run.runner import Runner

GRID = {"name": "test_darken", "grid": {"factor": [0.5, 0.25]}, "display": "Darken (×{factor})"}


@pytest.mark.parametrize(
    "overrides, pattern",
    [
        ({"restorers": [{**GRID, "display": "Darken ({f})"}]}, r"restorers\[0\]\.display"),
        ({"restorers": [{**GRID, "display": "Darken"}]}, "display title 'Darken' appears twice"),
        ({"baseline": "test_dark"}, "baseline 'test_dark' is not a restorer label"),
    ],
)
def test_display_and_baseline_errors(make_config, overrides, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_run_config(make_config(**overrides))


@pytest.mark.slow  # a small run and its report: ~10 s on two cores
def test_titles_order_baseline_and_a_trivial_metric_reach_the_report(make_config):
    from reports.contents import analyse
    from reports.results import load_results

    path = make_config(
        restorers=["test_noisy", GRID, "identity"],  # not alphabetical
        metrics=["test_mae", "test_input_mae"],
        baseline="test_darken[factor=0.25]",
    )
    summary = Runner(load_run_config(path), LocalExecutor(), progress=False).run()
    manifest = json.loads((summary.run_dir / "manifest.json").read_text())
    entries = manifest["restorers"]
    assert entries["test_darken[factor=0.5]"]["display"] == "Darken (×0.5)"
    assert entries["test_noisy"]["display"] == "test_noisy"
    assert [entries[label]["position"] for label in sorted(entries)] == [3, 2, 1, 0]
    assert entries["identity"]["keeps_input"] and not entries["test_noisy"]["keeps_input"]

    report = analyse(load_results(summary.run_dir), resamples=20)
    assert report.baseline == "test_darken[factor=0.25]"
    table = next(t for t in report.tables if t.key == "pairs-none-0")
    rows = [table.row_title(label) for label, _ in table.rows]
    assert rows == ["Darken (×0.25)", "test_noisy", "Darken (×0.5)", "identity"]
    index = [column.metric for column in table.columns].index("test_input_mae")
    assert table.rows[-1][1][index].mean == 0.0 and table.rows[-1][1][index].rank == 0
    input_mae = report.comparisons[report.comparisons["metric"] == "test_input_mae"]
    with_identity = (input_mae["first"] == "identity") | (input_mae["second"] == "identity")
    assert set(input_mae.loc[with_identity, "outcome"]) == {"trivial"}
    assert set(input_mae.loc[~with_identity, "outcome"]) <= {"win", "tie", "loss", "too few"}
