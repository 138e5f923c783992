"""Fixtures: a synthetic run folder (with and without kept images)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reports.synthetic_run import write_synthetic_run

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """A synthetic run folder with its images kept (shared by the tests: do not modify)."""
    return write_synthetic_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="session")
def run_dir_without_images(tmp_path_factory) -> Path:
    """The same synthetic run, without images."""
    return write_synthetic_run(tmp_path_factory.mktemp("run-no-images"), images=False)


@pytest.fixture(scope="session")
def run(run_dir):
    """The synthetic run, loaded."""
    from reports.results import load_results

    return load_results(run_dir)


@pytest.fixture(scope="session")
def summary(run):
    """Its summary table (default bootstrap settings)."""
    from reports.summary import summarize

    return summarize(run)


@pytest.fixture(scope="session")
def built_report(run_dir, tmp_path_factory) -> tuple[Path, list[str]]:
    """``dr2bench report`` of the synthetic run, in a subprocess that must not import torch.

    Returns the report folder and the command's output lines. The folder held an earlier
    build's files (``figures/stale.pdf``, ``drilldown/thumbs/stale.jpg``), which must be gone.
    """
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("report")
    for stale in (out / "figures" / "stale.pdf", out / "drilldown" / "thumbs" / "stale.jpg"):
        stale.parent.mkdir(parents=True)
        stale.write_bytes(b"")
    code = (
        "import sys\n"
        "from bench.cli import main\n"
        f"code = main(['report', {str(run_dir)!r}, '--out', {str(out)!r}])\n"
        "assert 'torch' not in sys.modules, 'reports imported torch'\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr
    return out, done.stdout.splitlines()
