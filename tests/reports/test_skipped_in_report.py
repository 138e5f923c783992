"""Files the datasets left out are listed in the report's Failures section."""

from __future__ import annotations


def test_skipped_files_are_listed(built_report):
    """The synthetic run's manifest lists one file its dataset left out."""
    folder, _ = built_report
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert "left out" in markdown and "notes.txt: not an image file" in markdown
