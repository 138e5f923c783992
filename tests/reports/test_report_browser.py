"""The HTML report opened in headless Chromium: no console messages, and a screenshot not blank;
a results table's link opens its drill-down page, whose rows sort and whose images load.

Chromium logs every console message (errors, uncaught exceptions, blocked loads) to stderr as
``...:CONSOLE...`` lines with ``--enable-logging=stderr``; the clicks go through the DevTools
protocol (:mod:`tests.reports.devtools`), which reports the same messages. Control pages prove
both detections. Where ``DR2BENCH_REQUIRE_CHROMIUM=1`` (CI), a missing Chromium fails instead of
skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.reports.devtools import DevTools

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


def load_images(browser: DevTools) -> list[int]:
    """Scroll to each (lazy) image in turn until it has loaded or failed; their natural widths."""
    for i in range(browser.evaluate("document.images.length")):
        browser.evaluate(f"document.images[{i}].scrollIntoView()")
        for _ in range(200):
            if browser.evaluate(f"document.images[{i}].complete"):
                break
            time.sleep(0.05)
    return browser.evaluate("[...document.images].map((image) => image.naturalWidth)")


def test_devtools_report_console_errors_and_missing_files(chromium, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta http-equiv='Content-Security-Policy' "
        "content=\"script-src 'sha256-x'\"></head><body><img src='missing.jpg'>"
        "<script>console.error('boom')</script></body></html>"
    )
    with DevTools(chromium, FLAGS, tmp_path / "profile") as browser:
        browser.open(page.as_uri())
        assert load_images(browser) == [0]
        browser.evaluate("console.error('boom')")
    messages = "\n".join(browser.messages)
    assert "Content Security Policy" in messages  # the page's script was blocked
    assert "ERR_FILE_NOT_FOUND" in messages
    assert "boom" in messages


def test_drilldown_opens_sorts_and_shows_its_images(chromium, built_report, run, tmp_path):
    """From the results table to one restorer's samples: every row, sorted by a click."""
    folder = built_report[0]
    link = "#celeba-test-classic-5 a[href$='--gfpgan.html']"
    with DevTools(chromium, FLAGS, tmp_path / "profile") as browser:
        browser.open((folder / "report.html").resolve().as_uri())
        assert min(load_images(browser)) > 0  # the figures
        browser.evaluate(f"document.querySelector({link!r}).click()")
        browser.wait_for("Page.loadEventFired")
        assert browser.evaluate("location.pathname").endswith(
            "/drilldown/celeba-test-classic-5--gfpgan.html"
        )
        records = run.records.query(
            "dataset == 'celeba-test' and chain == 'classic' and severity == 5 "
            "and restorer == 'gfpgan'"
        )
        images = browser.evaluate(
            "[...document.querySelectorAll('tbody tr')].map(r => r.cells[0].textContent)"
        )
        assert sorted(images) == sorted(records["image_id"])
        widths = load_images(browser)
        assert len(widths) == 3 * len(records) - 1 and min(widths) > 0  # one failed output
        assert browser.evaluate("[...document.images].every((image) => image.loading === 'lazy')")
        headers = "[...document.querySelectorAll('th')].map((th) => th.textContent)"
        column = [text.startswith("PSNR") for text in browser.evaluate(headers)].index(True)
        values = (
            f"[...document.querySelectorAll('tbody tr')].map(r => r.cells[{column}].dataset.value)"
        )
        button = f"document.querySelectorAll('th')[{column}].querySelector('button').click()"
        unsorted = browser.evaluate(values)
        browser.evaluate(button)
        ascending = browser.evaluate(values)
        browser.evaluate(button)
        descending = browser.evaluate(values)
    assert browser.messages == []
    assert ascending != unsorted
    numbers = [float(value) for value in ascending if value]
    assert numbers == sorted(records["psnr"].dropna()) and ascending[-1] == ""  # missing last
    assert [float(value) for value in descending if value] == numbers[::-1]
    assert descending[-1] == ""
