"""Fixtures: a synthetic run folder (with and without kept images)."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic_run import write_synthetic_run


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
    from reports.run import load_run

    return load_run(run_dir)


@pytest.fixture(scope="session")
def summary(run):
    """Its summary table (default bootstrap settings)."""
    from reports.summary import summarize

    return summarize(run)
