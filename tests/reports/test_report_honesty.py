"""What a table must say to be read right (#18): the N of set metrics and their caveats, one
meaning of ±, metrics that are trivial for a restorer, and the paper-ready layout (display
titles, config order with the baseline first, fixed decimals per metric, every metric)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from reports import html, latex, markdown
from reports.contents import analyse
from reports.pairwise import compare_restorers, wins_ties_losses
from reports.results import Results
from reports.stats import PLUS_MINUS
from reports.summary import summarize
from reports.tables import DECIMALS, RATIO_DECIMALS, cell_tables, paper_table
from tests.reports.synthetic_run import only_cells

RESAMPLES = 50  # enough for shapes and notes; the intervals themselves are tested elsewhere


def changed(run: Results, sets=None, **entries: dict) -> Results:
    """``run`` with manifest entries updated (``restorers={...}``, ``metrics={...}``)."""
    manifest = json.loads(json.dumps(run.manifest))
    for key, updates in entries.items():
        for name, update in updates.items():
            manifest[key][name].update(update)
    return dataclasses.replace(run, manifest=manifest, sets=run.sets if sets is None else sets)


@pytest.fixture(scope="module")
def small(run):
    """Three severities of one chain (for the robustness tables) and the real set."""
    return only_cells(run, ("blur", 1), ("blur", 2), ("classic", 5), ("none", 0))


@pytest.fixture(scope="module")
def report(small):
    return analyse(small, resamples=RESAMPLES)


def all_tables(report):
    return [report.paper, *report.tables, *report.auc_tables, *report.robustness_tables]


def column(table, metric, group=""):
    index = next(i for i, c in enumerate(table.columns) if c.metric == metric and c.group == group)
    return table.columns[index], [entries[index] for _, entries in table.rows]


def test_set_metrics_show_their_n_and_fid_warns_under_its_minimum(report):
    table = report.tables[0]  # celeba-test, 6 images per set
    fid, _ = column(table, "fid")
    kid, _ = column(table, "kid")
    assert fid.label == "FID (N=6)" and kid.label == "KID (N=6)"
    assert "FID: N (images per set, in the header) is under the 2048" in table.note
    failed = next(t for t in report.tables if t.key == "celeba-test-classic-5")
    assert column(failed, "fid")[0].label == "FID (N=5–6)"  # gfpgan lost one image there
    psnr, _ = column(table, "psnr")
    assert psnr.label == "PSNR"


def test_kid_notes_its_subsets_and_negative_values(run):
    sets = run.sets.copy()
    sets.loc[(sets["metric"] == "kid") & (sets["restorer"] == "gfpgan"), "value"] = -0.002
    kid = changed(run, sets=sets, metrics={"kid": {"config": {"subset_size": 1000}}})
    notes = " ".join(table.note for table in cell_tables(summarize(kid, resamples=20), kid))
    assert "KID (N=6): N is at most its subset size (1000)" not in notes  # the plain label
    assert "KID: N is at most its subset size (1000), so every subset holds the whole" in notes
    assert "KID: KID is an unbiased estimate of MMD^2" in notes and "can be negative" in notes
    untouched = " ".join(table.note for table in cell_tables(summarize(run, resamples=20), run))
    assert "can be negative" not in untouched and "subset size" not in untouched


def test_every_table_says_what_plus_minus_means(report):
    for table in report.tables:
        assert any(" ± " in entry.text for _, entries in table.rows for entry in entries if entry)
        assert PLUS_MINUS in table.note
    for table in [report.paper, *report.auc_tables, *report.robustness_tables]:
        assert not any(" ± " in e.text for _, entries in table.rows for e in entries if e)
        assert "means, no interval" in table.note
    table = report.tables[0]
    assert markdown.escape(PLUS_MINUS) in markdown.render_table(table)[-1]
    assert latex.escape(PLUS_MINUS) in latex.render_table(table).split(r"\label")[0]
    assert html.escape(PLUS_MINUS) in html.render_table(table)


def test_score_and_report_share_the_meaning_of_plus_minus():
    from bench.commands import score

    line = score.table({"metrics": {}, "unmatched": {}})
    assert PLUS_MINUS in line and "95% percentile bootstrap interval" in PLUS_MINUS


def test_same_metric_same_decimals_in_every_table(report):
    places: dict[str, set[int]] = {}
    for table in all_tables(report):
        ratio = table.key.startswith("relative")
        for index, col in enumerate(table.columns):
            for _, entries in table.rows:
                if entries[index] is not None:
                    text = entries[index].text.split(" ± ")[0]
                    shown = len(text.partition(".")[2])
                    key = "ratio" if ratio else col.metric
                    places.setdefault(key, set()).add(shown)
    assert places["psnr"] == {DECIMALS["psnr"]} and places["ssim"] == {DECIMALS["ssim"]}
    assert places["fid"] == {DECIMALS["fid"]} and places["kid"] == {DECIMALS["kid"]}
    assert places["ratio"] == {RATIO_DECIMALS}
    assert all(len(found) == 1 for found in places.values()), places


def test_arrows_follow_each_metric_and_relative_errors_point_down(report):
    directions = {name: info.higher_is_better for name, info in report.run.metrics.items()}
    for table in [report.paper, *report.tables, *report.auc_tables]:
        for col in table.columns:
            assert col.arrow == ("↑" if directions[col.metric] else "↓")
    for table in report.robustness_tables:
        assert {col.arrow for col in table.columns} == {"↓"}


def test_the_paper_layout_has_every_metric_papers_first(run, summary):
    table = paper_table(summary, run)
    synthetic = [c.metric for c in table.columns if c.group == "celeba-test (classic, s5)"]
    assert synthetic[:6] == ["psnr", "ssim", "lpips", "fid", "deg.vqfr", "lmd.fan"]
    assert set(synthetic) == set(run.metrics)  # IDS, NIQE and KID included
    assert [c.metric for c in table.columns if c.group == "wider"] == ["fid", "niqe", "kid"]


def test_display_titles_config_order_and_the_baseline_first(run):
    run = only_cells(run, ("none", 0))
    grid = [label for label in run.restorers if label.startswith("dr2")]
    order = ["codeformer.w05", *grid, "gfpgan", "identity"]
    titled = changed(
        run,
        restorers={
            label: {"position": order.index(label)}
            | ({"display": f"DR2 (N={label[6]}, τ={label[-3:-1]})"} if label in grid else {})
            for label in run.restorers
        },
    )
    assert titled.restorers == order  # the config's order, not the manifest's nor sorted
    report = analyse(titled, resamples=RESAMPLES, baseline="gfpgan")
    table = report.tables[0]
    rows = [table.row_title(label) for label, _ in table.rows]
    assert rows[:3] == ["gfpgan", "codeformer.w05", "DR2 (N=4, τ=20)"]
    assert rows[-1] == "identity"
    assert "| DR2 (N=4, τ=20) |" in "\n".join(markdown.render_table(table))
    assert "<td>DR2 (N=4, τ=20)</td>" in html.render_table(table)
    assert r"DR2 (N=4, $\tau$=20) &" in latex.render_table(table)
    assert list(report.wins.index) == ["gfpgan", *order[:-2], "identity"]
    configured = changed(titled, restorers={})
    configured.manifest["config"]["baseline"] = "codeformer.w05"
    assert analyse(configured, resamples=RESAMPLES).baseline == "codeformer.w05"


def test_a_metric_trivial_for_a_restorer_is_left_out_of_its_comparisons(run):
    """ids.sface as if it compared with the input, which identity returns: no win for it."""
    run = only_cells(run, ("blur", 1))
    trivial = changed(
        run,
        metrics={"ids.sface": {"reference": "input"}},
        restorers={"identity": {"keeps_input": True}},
    )
    comparisons = compare_restorers(trivial, resamples=20)
    ids = comparisons[comparisons["metric"] == "ids.sface"]
    with_identity = (ids["first"] == "identity") | (ids["second"] == "identity")
    assert set(ids.loc[with_identity, "outcome"]) == {"trivial"}
    assert "trivial" not in set(ids.loc[~with_identity, "outcome"])
    assert "trivial" not in set(comparisons.loc[comparisons["metric"] != "ids.sface", "outcome"])
    counted = comparisons[comparisons["outcome"].isin(["win", "tie", "loss"])]
    wins = wins_ties_losses(comparisons, trivial.restorers)
    for other in trivial.restorers[1:]:
        pairs = counted[(counted["first"] == "identity") & (counted["second"] == other)]
        assert sum(map(int, wins.loc["identity", other].split("/"))) == len(pairs)
    table = cell_tables(summarize(trivial, resamples=20), trivial)[0]
    _, entries = column(table, "ids.sface")
    assert entries[0].rank == 0  # identity's row: shown, not ranked
    assert "IDS (sface) compares an output with its input, which identity returns" in table.note
    report = analyse(trivial, resamples=20)
    from reports.document import build_document
    from reports.figure_set import FigureSet

    sections = build_document(report, FigureSet([], [], [], []))
    text = " ".join(
        block.text for section in sections for block in section.blocks if hasattr(block, "text")
    )
    assert "Left out of the counts" in text and "ids.sface for identity" in text
