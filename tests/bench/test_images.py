from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from bench.images import (
    ImageError,
    decode_image,
    encode_png,
    list_images,
    read_image,
    to_float,
    to_numpy,
    to_pil,
    to_tensor,
    to_uint8,
    write_png,
)


def _encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def test_uint8_round_trip(rng):
    pixels = rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8)
    assert np.array_equal(to_uint8(to_float(pixels)), pixels)


def test_to_uint8_rounds_half_to_even_and_clips():
    values = np.array([[[0.5 / 255, 1.5 / 255, 2.5 / 255]], [[-0.2, 1.3, 254.5 / 255]]], np.float64)
    assert to_uint8(values).tolist() == [[[0, 2, 2]], [[0, 255, 254]]]


def test_png_round_trip_is_lossless_and_deterministic(tmp_path, rng):
    pixels = rng.integers(0, 256, size=(33, 35, 3), dtype=np.uint8)
    write_png(tmp_path / "a.png", pixels)
    write_png(tmp_path / "b.png", pixels)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert np.array_equal(to_uint8(read_image(tmp_path / "a.png")), pixels)
    assert list(tmp_path.iterdir()).__len__() == 2  # no temporary files left


def test_tensor_conversions(rng):
    images = [rng.random((32, 40, 3), dtype=np.float32) for _ in range(3)]
    batch = to_tensor(images)
    assert batch.shape == (3, 3, 32, 40) and batch.dtype == torch.float32
    assert torch.equal(batch[1, 2], torch.from_numpy(images[1][..., 2]))
    back = to_numpy(batch)
    assert all(np.array_equal(a, b) for a, b in zip(images, back, strict=True))
    assert to_tensor(images[0]).shape == (1, 3, 32, 40)
    assert to_tensor((images[0] * 255).astype(np.uint8)).max() <= 1.0


def test_pil_conversions(rng):
    pixels = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(to_pil(pixels)), pixels)
    assert np.array_equal(np.asarray(to_pil(to_float(pixels))), pixels)


def test_greyscale_is_replicated():
    grey = np.arange(32 * 32, dtype=np.uint8).reshape(32, 32)
    image = decode_image(_encode(Image.fromarray(grey, mode="L")))
    assert image.shape == (32, 32, 3)
    assert np.array_equal(to_uint8(image[..., 1]), grey)


def test_sixteen_bit_is_scaled():
    grey = np.full((32, 32), 65535, dtype=np.uint16)
    grey[0, 0] = 0
    image = decode_image(_encode(Image.fromarray(grey)))
    assert image.max() == 1.0 and image[0, 0, 0] == 0.0


def test_rgba_alpha_is_discarded():
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 0
    image = decode_image(_encode(Image.fromarray(rgba, mode="RGBA")))
    assert np.allclose(image[..., 0], 200 / 255)


def test_palette_and_cmyk():
    rgb = Image.new("RGB", (32, 32), (10, 120, 250))
    palette = decode_image(_encode(rgb.convert("P", palette=Image.Palette.ADAPTIVE)))
    assert to_uint8(palette)[0, 0].tolist() == [10, 120, 250]
    cmyk = decode_image(_encode(rgb.convert("CMYK"), "JPEG", quality=100))
    assert np.abs(to_uint8(cmyk)[0, 0].astype(int) - [10, 120, 250]).max() < 8


def test_exif_rotation_is_applied():
    image = Image.new("RGB", (64, 32), (0, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    decoded = decode_image(_encode(image, "JPEG", exif=exif.tobytes()))
    assert decoded.shape == (64, 32, 3)


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"this is not an image", "not a readable image"),
        (_encode(Image.new("RGB", (64, 64)))[:60], "corrupt or truncated"),
        (_encode(Image.new("RGB", (16, 64))), "16x64; sides must be 32 to 8192"),
    ],
)
def test_bad_images_name_the_file(data, pattern):
    with pytest.raises(ImageError, match=f"face.png: .*{pattern}"):
        decode_image(data, name="face.png")


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="cannot read file"):
        read_image(tmp_path / "gone.png")


def test_list_images_is_recursive_and_sorted(tmp_path):
    for rel in ["b/2.png", "a.jpg", "b/1.PNG", "notes.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)] == [
        "a.jpg",
        "b/1.PNG",
        "b/2.png",
    ]


def test_encode_png_accepts_float(rng):
    pixels = rng.random((32, 32, 3), dtype=np.float32)
    assert decode_image(encode_png(pixels)).shape == (32, 32, 3)


def test_written_files_have_the_usual_permissions(tmp_path, rng):
    import os

    write_png(tmp_path / "a.png", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.png").stat().st_mode & 0o777 == 0o666 & ~umask
