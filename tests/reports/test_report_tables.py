"""The summary and every result table equal a direct pandas computation on the records."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from bench.run.folder import RunFolderError
from reports import markdown
from reports.results import load_results
from reports.stats import bootstrap_ci
from reports.tables import (
    Column,
    cell_tables,
    decimals,
    headline_severity,
    metric_decimals,
    metric_label,
    paper_table,
    ranks,
)

CELL = ["dataset", "chain", "severity", "restorer"]


def direct_image_means(run_dir) -> pd.DataFrame:
    records = pd.read_parquet(run_dir / "records.parquet")
    ok = records[records["status"] == "ok"]
    metrics = ["psnr", "ssim", "lpips", "ids.sface", "deg.vqfr", "lmd.fan", "niqe"]
    means = ok.groupby(CELL)[metrics].mean().stack().rename("mean")
    counts = ok.groupby(CELL)[metrics].count().stack().rename("n")
    both = pd.concat([means, counts], axis=1).reset_index()
    return both.rename(columns={both.columns[len(CELL)]: "metric"}).dropna(subset=["mean"])


def direct_set_means(run_dir) -> pd.DataFrame:
    sets = pd.read_parquet(run_dir / "sets.parquet")
    ok = sets[(sets["status"] == "ok") & sets["value"].notna()]
    return ok.groupby([*CELL, "metric"])["value"].mean().rename("mean").reset_index()


def test_summary_means_equal_pandas(run_dir, summary):
    expected = pd.concat([direct_image_means(run_dir), direct_set_means(run_dir)])
    merged = summary.merge(expected, on=[*CELL, "metric"], suffixes=("", "_direct"), how="outer")
    assert len(merged) == len(summary) == len(expected)
    np.testing.assert_allclose(merged["mean"], merged["mean_direct"], rtol=1e-12)
    image = merged["n_direct"].notna()
    assert (merged.loc[image, "n"] == merged.loc[image, "n_direct"]).all()


def test_summary_intervals_are_the_bootstrap_of_the_cell(run_dir, summary):
    records = pd.read_parquet(run_dir / "records.parquet")
    row = summary.query("dataset == 'celeba-test' and chain == 'classic' and severity == 5")
    row = row.query("restorer == 'gfpgan' and metric == 'psnr'").iloc[0]
    values = records.query(
        "dataset == 'celeba-test' and chain == 'classic' and severity == 5 "
        "and restorer == 'gfpgan' and status == 'ok'"
    )["psnr"]
    assert row["n"] == len(values) == 11  # one of the 12 rows failed
    ci = bootstrap_ci(values.to_numpy())
    assert (row["ci_low"], row["ci_high"]) == (ci.low, ci.high)
    image_rows = summary[summary["ci_low"].notna()]
    assert (image_rows["ci_low"] <= image_rows["mean"]).all()
    assert (image_rows["mean"] <= image_rows["ci_high"]).all()


def test_real_sets_have_no_paired_metrics(summary):
    wider = summary[summary["dataset"] == "wider"]
    assert set(wider["metric"]) == {"niqe", "fid", "kid"}


def parse_entry(text: str) -> tuple[float, float | None]:
    match = re.fullmatch(r"(-?[\d.]+)(?: ± ([\d.]+))?", text)
    assert match, text
    return float(match[1]), float(match[2]) if match[2] else None


def test_every_cell_table_number_equals_pandas(run, run_dir, summary):
    expected = pd.concat([direct_image_means(run_dir), direct_set_means(run_dir)])
    expected = expected.set_index([*CELL, "metric"])["mean"]
    intervals = summary.set_index([*CELL, "metric"])
    tables = cell_tables(summary, run)
    cells = summary[["dataset", "chain", "severity"]].drop_duplicates()
    checked = 0
    rows = cells.itertuples(index=False)
    for (dataset, chain, severity), table in zip(rows, tables, strict=True):
        assert table.key == f"{dataset}-{chain}-{severity}"
        for index, column in enumerate(table.columns):
            places = metric_decimals(run, column.metric)
            shown_values = []
            for restorer, entries in table.rows:
                key = (dataset, chain, severity, restorer, column.metric)
                shown, half = parse_entry(entries[index].text)
                assert shown == round(expected[key], places)
                low, high = intervals.loc[key, ["ci_low", "ci_high"]]
                if half is None:
                    assert np.isnan(low)
                else:
                    assert half == pytest.approx((high - low) / 2, abs=10**-places / 2 + 1e-12)
                shown_values.append(shown)
                checked += 1
            best, second = sorted(set(shown_values), reverse=column.higher_is_better)[:2]
            ranked = [entries[index].rank for _, entries in table.rows]
            assert [rank == 1 for rank in ranked] == [value == best for value in shown_values]
            assert [rank == 2 for rank in ranked] == [value == second for value in shown_values]
    assert checked == 7 * (10 * 9 + 3)  # 7 restorers; 10 synthetic cells x 9 metrics, wider 3


def test_paper_table_equals_pandas(run, run_dir, summary):
    table = paper_table(summary, run)
    groups = [column.group for column in table.columns]
    assert groups[0] == "celeba-test (blur, s5)" and groups[-1] == "wider"
    assert [c.metric for c in table.columns if c.group == "wider"] == ["fid", "niqe", "kid"]
    synthetic = [c.metric for c in table.columns if c.group == "celeba-test (classic, s5)"]
    assert synthetic[:6] == ["psnr", "ssim", "lpips", "fid", "deg.vqfr", "lmd.fan"]
    labels = [c.label for c in table.columns if c.group == "celeba-test (classic, s5)"]
    assert labels[:6] == ["PSNR", "SSIM", "LPIPS", "FID (N=5–6)", "Deg.", "LMD"]
    expected = pd.concat([direct_image_means(run_dir), direct_set_means(run_dir)])
    expected = expected.set_index([*CELL, "metric"])["mean"]
    for restorer, entries in table.rows:
        for column, entry in zip(table.columns, entries, strict=True):
            if column.group == "wider":
                key = ("wider", "none", 0, restorer, column.metric)
            else:
                chain = column.group.split("(")[1].split(",")[0]
                key = ("celeba-test", chain, 5, restorer, column.metric)
            shown, half = parse_entry(entry.text)
            assert half is None
            assert shown == pytest.approx(expected[key], abs=0.5e-4 if abs(shown) < 1 else 0.006)


def test_markdown_table_shows_the_table_entries(run, summary):
    table = cell_tables(summary, run)[0]
    lines = markdown.render_table(table)
    header = lines[2]
    assert "PSNR ↑" in header and "LPIPS ↓" in header
    body = [line for line in lines[4:] if line.startswith("| ")]
    assert len(body) == len(table.rows)
    for line, (label, entries) in zip(body, table.rows, strict=True):
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        assert cells[0] == markdown.escape(label)
        for cell, entry in zip(cells[1:], entries, strict=True):
            plain = cell.removeprefix("**").removesuffix("**")
            plain = plain.removeprefix("<u>").removesuffix("</u>")
            assert plain == entry.text
            assert cell.startswith("**") == (entry.rank == 1)
            assert cell.startswith("<u>") == (entry.rank == 2)


def test_ranks_and_decimals():
    assert ranks([1.0, 3.0, 2.0, 3.0], higher_is_better=True) == [0, 1, 2, 1]
    assert ranks([1.0, 3.0, None, 2.0], higher_is_better=False) == [1, 0, 0, 2]
    assert ranks([5.0, None], higher_is_better=True) == [0, 0]
    assert [decimals([v]) for v in (250.0, 28.3, 5.1, 0.23)] == [1, 2, 3, 4]
    assert Column("lpips", higher_is_better=False).arrow == "↓"


def test_load_run_names_the_file_and_the_problem(tmp_path, run_dir):
    with pytest.raises(RunFolderError, match="not a run folder"):
        load_results(tmp_path / "nowhere")
    folder = tmp_path / "run"
    folder.mkdir()
    with pytest.raises(RunFolderError, match=r"manifest\.json: missing"):
        load_results(folder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(RunFolderError, match=r"manifest\.json: not valid JSON"):
        load_results(folder)
    (folder / "manifest.json").write_text(json.dumps({"metrics": {}}))
    records = pd.read_parquet(run_dir / "records.parquet").drop(columns=["status"])
    records.to_parquet(folder / "records.parquet")
    with pytest.raises(RunFolderError, match=r"records\.parquet: missing columns \['status'\]"):
        load_results(folder)
    pd.read_parquet(run_dir / "records.parquet").to_parquet(folder / "records.parquet")
    (folder / "sets.parquet").write_bytes(b"not parquet")
    with pytest.raises(RunFolderError, match=r"sets\.parquet: cannot be read as parquet"):
        load_results(folder)
    (folder / "sets.parquet").unlink()
    with pytest.raises(
        RunFolderError, match=r"manifest\.json: 'metrics' has no entry for \['psnr'"
    ):
        _ = load_results(folder).metrics


def test_headline_severity_prefers_the_full_ranges():
    assert headline_severity({0, 1, 5}) == 0
    assert headline_severity({1, 3}) == 3


def test_metric_labels_name_the_variant():
    assert metric_label("psnr") == "PSNR"
    assert metric_label("ids.sface") == "IDS (sface)"
    assert metric_label("psnr.y") == "PSNR (y)"
    assert metric_label("st_lpips") == "ST-LPIPS"
    assert metric_label("my_metric") == "my_metric"


def test_published_column_titles_only_over_the_published_metrics():
    assert metric_label("deg.vqfr") == "Deg." and metric_label("lmd.fan") == "LMD"
    assert metric_label("deg.sface") == "ID angle (sface)"
    assert metric_label("lmd.dlib") == "Landmark dist. (dlib)"
    for name in ("deg.dlib", "deg.sface", "deg.arcface", "ids.vqfr", "lmd.dlib"):
        assert "Deg." not in metric_label(name) and "LMD" not in metric_label(name)
