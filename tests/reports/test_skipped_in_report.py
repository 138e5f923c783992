"""Files the datasets left out are listed in the report's Failures section."""

from __future__ import annotations

import json
import shutil

from reports.build import build_report


def test_skipped_files_are_listed(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["skipped"] = {"count": 1, "files": {"hq": ["notes.txt: not an image file"]}}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    files = build_report(copy, tmp_path / "out", formats=("md",))
    markdown = "\n".join(p.read_text() for p in files.files if p.suffix == ".md")
    assert "left out" in markdown and "notes.txt: not an image file" in markdown
