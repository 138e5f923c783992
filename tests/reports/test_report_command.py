"""`dr2bench report` errors: one clear line naming the problem, exit status 2."""

from __future__ import annotations

import pytest

from bench.cli import main
from reports.build import parse_formats
from reports.results import ReportError


def test_missing_run_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dr2bench report: error: ") and "nowhere: not a run folder" in err


def test_unknown_format(run_dir, capsys):
    assert main(["report", str(run_dir), "--format", "html,pdf"]) == 2
    assert "unknown format ['pdf'] (choose from html, md, latex, csv)" in capsys.readouterr().err


def test_unknown_figure_format(run_dir, tmp_path, capsys):
    assert main(["report", str(run_dir), "--figure-formats", "png", "--out", str(tmp_path)]) == 2
    assert "unknown format ['png'] (choose from pdf, svg)" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_figure_formats_reach_the_report(run_dir, tmp_path, monkeypatch):
    import reports.build

    asked = {}

    def build_report(*args, **options):
        asked.update(options)
        return reports.build.ReportFiles(tmp_path, (), None)

    monkeypatch.setattr(reports.build, "build_report", build_report)
    assert main(["report", str(run_dir), "--figure-formats", "pdf,svg"]) == 0
    assert asked["figure_formats"] == ("pdf", "svg")
    assert main(["report", str(run_dir)]) == 0
    assert asked["figure_formats"] == ()


def test_unknown_baseline_suggests_a_restorer(run_dir, tmp_path, capsys):
    assert main(["report", str(run_dir), "--baseline", "identiti", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "baseline 'identiti' is not a restorer of the run; did you mean 'identity'?" in err
    assert not any(tmp_path.iterdir())


def test_parse_formats():
    assert parse_formats(" md ,latex") == ("md", "latex")
    with pytest.raises(ReportError, match="unknown format"):
        parse_formats(",")
