"""The five calibration pairs in ``../shared/data/calibration`` and their official values.

The folder sits beside the checkout (it is never copied into the repository): ``dist/X.png`` is
compared with ``ref/X.png``, and ``official_values.csv`` holds what the metrics' original
implementations give (see its README). Values are compared to the digits the CSV prints.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

CALIBRATION = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "calibration"


def calibration_dir() -> Path:
    """The calibration folder; the calling test is skipped, with the reason, where it is absent."""
    if not (CALIBRATION / "official_values.csv").is_file():
        pytest.skip(f"{CALIBRATION} is not there (it sits beside the checkout in CI)")
    return CALIBRATION


def official_values(metric: str) -> dict[str, str]:
    """``{pair id: value as printed}`` of one row of ``official_values.csv``."""
    with open(calibration_dir() / "official_values.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Method"] == metric:
                return {key: value for key, value in row.items() if key != "Method"}
    raise KeyError(f"{CALIBRATION / 'official_values.csv'} has no row '{metric}'")


def pairs() -> tuple[list[str], object, object]:
    """The pair ids and the ``dist`` and ``ref`` images as ``N x 3 x H x W`` batches."""
    from bench.images import read_image, to_tensor, to_uint8

    folder = calibration_dir()
    ids = sorted(official_values("lpips"))
    dist = [to_uint8(read_image(folder / "dist" / f"{name}.png")) for name in ids]
    ref = [to_uint8(read_image(folder / "ref" / f"{name}.png")) for name in ids]
    return ids, to_tensor(dist), to_tensor(ref)


def as_printed(value: float, printed: str) -> str:
    """``value`` rounded to as many decimals as ``printed`` shows."""
    decimals = len(printed.partition(".")[2])
    return f"{value:.{decimals}f}"
