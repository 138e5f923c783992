"""Bad images in dataset folders: each converted by a documented rule or recorded as a failed
row naming the file; never a crash, never dropped without a trace (docs/reliability.md)."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from bench.cli import main
from bench.images import read_image, to_uint8

RNG = np.random.default_rng(5)
PIXELS = RNG.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)


def _encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _rgb(height: int = 64, width: int = 64) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(PIXELS[:height, :width]))


def _sixteen_bit() -> Image.Image:
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    return Image.fromarray(ramp)  # mode I;16


def _exif_rotated() -> bytes:
    image = _rgb(40, 64)  # stored 64 wide x 40 high
    exif = image.getexif()
    exif[0x0112] = 6  # shown rotated by 90 degrees: 40 wide x 64 high
    return _encode(image, "PNG", exif=exif.tobytes())


def _broken_png() -> bytes:
    data = bytearray(_encode(_rgb()))
    data[data.index(b"IDAT") + 20] ^= 0xFF  # one flipped bit of compressed data
    return bytes(data)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size but holds almost no pixel data (a hostile header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    pixels = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# file name -> its bytes (each converted by a documented rule; the GT is checked against it)
CONVERTED = {
    "rgb.png": lambda: _encode(_rgb()),
    "grey.png": lambda: _encode(_rgb().convert("L")),
    "rgba.png": lambda: _encode(_rgb().convert("RGBA")),
    "sixteen.png": lambda: _encode(_sixteen_bit()),
    "palette.png": lambda: _encode(_rgb().convert("P")),
    "cmyk.jpg": lambda: _encode(_rgb().convert("CMYK"), "JPEG", quality=95),
    "rotated.png": _exif_rotated,
    "wide.png": lambda: _encode(_rgb(48, 64)),
    "nested/face.tif": lambda: _encode(_rgb(), "TIFF"),
    "Dup.png": lambda: _encode(_rgb()),  # keeps its id: first in sorted order
}
# file name -> (its bytes, the reason its row fails with)
FAILING = {
    "truncated.png": (lambda: _encode(_rgb())[:120], "corrupt or truncated"),
    "broken.png": (_broken_png, "corrupt or truncated"),
    "empty.jpg": (lambda: b"", "not a readable image file"),
    "notes.png": (lambda: b"these are notes, not pixels\n", "not a readable image file"),
    "tiny.png": (lambda: _encode(_rgb(20, 20)), "20x20; sides must be 32 to 8192"),
    "huge.png": (lambda: _encode(Image.new("RGB", (8193, 32))), "8193x32; sides must be"),
    # sizes read from the header, before any pixel is decoded (no gigabyte allocations)
    "header.png": (lambda: _png_header_only(16000, 100), "16000x100; sides must be"),
    "bomb.png": (lambda: _png_header_only(20000, 20000), "image is too large"),
    "dup.png": (lambda: _encode(_rgb()), "'dup.png' and 'Dup.png' differ only in letter case"),
}
NOT_IMAGES = ["README.txt", "labels.json", ".DS_Store", "nested/Thumbs.db"]


def _expected_gt(name: str, data: bytes) -> np.ndarray:
    """The documented decoding rule, computed here with Pillow and numpy directly."""
    image = Image.open(io.BytesIO(data))
    if name == "grey.png":
        return np.repeat(np.asarray(image)[..., None], 3, axis=2)
    if name == "sixteen.png":
        grey = np.asarray(image, dtype=np.float64) / 65535.0
        return to_uint8(np.repeat(grey[..., None], 3, axis=2))
    if name == "rgba.png":
        return np.asarray(image)[..., :3]
    if name == "rotated.png":
        return np.rot90(np.asarray(image), k=-1)  # orientation 6: 90 degrees clockwise
    return np.asarray(image.convert("RGB"))


def _make_folders(root: Path) -> dict[str, Path]:
    faces = root / "faces"
    for name, make in CONVERTED.items():
        (faces / name).parent.mkdir(parents=True, exist_ok=True)
        (faces / name).write_bytes(make())
    for name, (make, _) in FAILING.items():
        (faces / name).write_bytes(make())
    for name in NOT_IMAGES:
        (faces / name).write_text("not an image")
    pairs = root / "pairs"
    for folder in ("lq", "gt"):
        (pairs / folder).mkdir(parents=True)
    (pairs / "lq" / "small.png").write_bytes(_encode(_rgb(32, 32)))  # GT is 64x64
    (pairs / "gt" / "small.png").write_bytes(_encode(_rgb()))
    (pairs / "lq" / "stem.png").write_bytes(_encode(_rgb()))
    (pairs / "gt" / "stem.jpg").write_bytes(_encode(_rgb(), "JPEG", quality=95))
    (pairs / "lq" / "lonely.png").write_bytes(_encode(_rgb()))  # no GT
    (pairs / "lq" / "bad_gt.png").write_bytes(_encode(_rgb()))
    (pairs / "gt" / "bad_gt.png").write_bytes(_encode(_rgb())[:100])
    (pairs / "gt" / "extra.png").write_bytes(_encode(_rgb()))  # no LQ
    return {"faces": faces, "pairs": pairs}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    return _make_folders(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def finished_run(folders, tmp_path_factory):
    """One run over every bad file: the run folder, the exit code and what it printed."""
    root = tmp_path_factory.mktemp("bad-images")
    config = {
        "name": "bad-images",
        "datasets": [
            {"name": "faces", "kind": "folder", "path": str(folders["faces"])},
            {"name": "pairs", "kind": "paired", "path": str(folders["pairs"])},
        ],
        "degradations": [{"chain": "jpeg", "severities": [1]}],
        "restorers": ["identity"],
        "metrics": ["psnr", "ssim"],
        "output": str(root / "run"),
        "batch_size": 4,
    }
    path = root / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["run", str(path), "--quiet"])
    return root / "run", code, printed.getvalue()


def test_every_image_file_gives_a_row(finished_run):
    run_dir, _, _ = finished_run
    frame = pd.read_parquet(run_dir / "records.parquet")
    faces = set(frame.loc[frame.dataset == "faces", "image_id"])
    assert faces == set(CONVERTED) | set(FAILING)
    pairs = set(frame.loc[frame.dataset == "pairs", "image_id"])
    assert pairs == {"small.png", "stem.png", "lonely.png", "bad_gt.png"}


def test_converted_images_follow_the_documented_rules(finished_run, folders):
    run_dir, _, _ = finished_run
    frame = pd.read_parquet(run_dir / "records.parquet").set_index(["dataset", "image_id"])
    for name, make in CONVERTED.items():
        row = frame.loc[("faces", name)]
        assert row["status"] == "ok", (name, row["error"])
        expected = _expected_gt(name, make())
        gt = to_uint8(read_image(run_dir / "images/gt/faces" / Path(name).with_suffix(".png")))
        if name == "cmyk.jpg":  # Pillow's CMYK conversion, JPEG-compressed: close, not exact
            assert np.abs(gt.astype(int) - _rgb()).mean() < 4
        else:
            assert np.array_equal(gt, expected), name
        output = run_dir / "images/outputs/identity/faces/jpeg/1/0" / Path(name).with_suffix(".png")
        assert read_image(output).shape == expected.shape
        assert np.isfinite(row["psnr"]) and np.isfinite(row["ssim"])


def test_failing_images_are_rows_that_name_the_file(finished_run, folders):
    run_dir, _, _ = finished_run
    frame = pd.read_parquet(run_dir / "records.parquet").set_index(["dataset", "image_id"])
    for name, (_, reason) in FAILING.items():
        row = frame.loc[("faces", name)]
        assert row["status"] == "failed", name
        assert reason in row["error"], (name, row["error"])
        if name != "dup.png":
            assert str(folders["faces"] / name) in row["error"]
        assert np.isnan(row["psnr"]) and np.isnan(row["ssim"])


def test_paired_problems(finished_run, folders):
    run_dir, _, _ = finished_run
    frame = pd.read_parquet(run_dir / "records.parquet").set_index(["dataset", "image_id"])
    lq, gt = folders["pairs"] / "lq", folders["pairs"] / "gt"
    small = frame.loc[("pairs", "small.png")]  # LQ resized bicubically to its GT's size
    assert small["status"] == "ok"
    assert read_image(run_dir / "images/lq/pairs/none/0/0/small.png").shape == (64, 64, 3)
    assert frame.loc[("pairs", "stem.png"), "status"] == "ok"  # GT matched by stem
    lonely = frame.loc[("pairs", "lonely.png")]
    assert lonely["status"] == "failed"
    assert f"no ground truth for {lq / 'lonely.png'}" in lonely["error"]
    bad_gt = frame.loc[("pairs", "bad_gt.png")]
    assert bad_gt["status"] == "failed" and str(gt / "bad_gt.png") in bad_gt["error"]


def test_files_left_out_are_listed_and_logged(finished_run, folders):
    run_dir, _, _ = finished_run
    skipped = json.loads((run_dir / "manifest.json").read_text())["skipped"]
    faces, pairs = folders["faces"], folders["pairs"]
    assert skipped["count"] == len(NOT_IMAGES) + 1
    assert [note.split(": ")[0] for note in skipped["files"]["faces"]] == [
        str(faces / name) for name in sorted(NOT_IMAGES)
    ]
    assert skipped["files"]["pairs"] == [
        f"{pairs / 'gt' / 'extra.png'}: ground truth without an LQ image; left out of the dataset"
    ]
    log = (run_dir / "run.log").read_text()
    for name in NOT_IMAGES:
        assert f"{faces / name}: not an image file" in log


@pytest.mark.slow
def test_the_summary_and_the_report_count_the_failures(finished_run):
    from reports.build import build_report

    run_dir, code, printed = finished_run
    failed = len(FAILING) + 2  # and two paired problems
    rows = len(CONVERTED) + len(FAILING) + 4
    assert code == 1
    assert f"{failed} rows have no output ({failed} failed)" in printed
    assert "5 files or faces of the datasets were left out" in printed
    report = build_report(run_dir, formats=("md",))
    text = (report.folder / "report.md").read_text()
    said = f"Of {rows} records and 0 set values: {failed} rows have no output ({failed} failed)"
    assert said in text
