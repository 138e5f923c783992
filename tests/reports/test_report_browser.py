"""The HTML report opened in headless Chromium: no console messages, and a screenshot not blank.

Chromium logs every console message (errors, uncaught exceptions, blocked loads) to stderr as
``...:CONSOLE...`` lines with ``--enable-logging=stderr``; a control page proves that detection.
Where ``DR2BENCH_REQUIRE_CHROMIUM=1`` (CI), a missing Chromium fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
    "--window-size=1280,1600",
)


@pytest.fixture(scope="module")
def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    message = "headless Chromium is not installed (Debian: apt-get install chromium)"
    if os.environ.get("DR2BENCH_REQUIRE_CHROMIUM") == "1":
        pytest.fail(message)
    pytest.skip(message)


def open_page(chromium: str, page: Path, folder: Path) -> tuple[list[str], Path]:
    """Load ``page``; return Chromium's console lines and the screenshot."""
    shot = folder / "screenshot.png"
    command = [
        chromium,
        *FLAGS,
        f"--user-data-dir={folder / 'profile'}",
        f"--screenshot={shot}",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert shot.is_file(), f"no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line], shot


def test_console_errors_are_detected(chromium, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><p>x</p>"
        "<script>console.error('boom'); undefinedFunction();</script></body></html>"
    )
    console, _ = open_page(chromium, page, tmp_path)
    assert any("boom" in line for line in console)
    assert any("undefinedFunction" in line for line in console)


def test_report_renders_without_console_errors(chromium, built_report, tmp_path):
    console, shot = open_page(chromium, built_report[0] / "report.html", tmp_path)
    assert console == []
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    assert pixels.shape[:2] == (1600, 1280)
    assert pixels.std() > 20  # not a blank page
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # text, tables, colours
    header = pixels[:40, :, :]
    assert np.abs(header - [11, 60, 93]).sum(axis=2).min() < 10  # the report's header colour
