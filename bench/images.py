"""The one image convention of dr2bench and every conversion to and from it.

An image is **float32 RGB in [0, 1]**: one image is a ``H x W x 3`` numpy array, a batch is an
``N x 3 x H x W`` torch tensor. Files are decoded with Pillow by these documented rules:

=====================  ==========================================================================
input                  rule
=====================  ==========================================================================
EXIF orientation       applied (the pixels are rotated/flipped upright, as viewers show them)
greyscale (L, 1)       replicated to three channels
16-bit (I;16, I)       scaled by 1/65535 (greyscale, replicated)
32-bit float (F)       clipped to [0, 1] (greyscale, replicated); NaN or Inf: :class:`ImageError`
RGBA, LA, PA           alpha discarded (the colour channels kept, as OpenCV's imread does)
palette (P)            expanded to RGB
CMYK, YCbCr, LAB, HSV  converted to RGB by Pillow
truncated / corrupt    :class:`ImageError` naming the file
not an image           :class:`ImageError` naming the file
side < 32 or > 8192    :class:`ImageError` naming the file and its size
=====================  ==========================================================================

8-bit quantisation rounds half to even after scaling by 255 and clipping (as basicsr's
``tensor2img`` does), so ``to_float(to_uint8(x))`` is the nearest 8-bit image.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from bench.files import atomic_write_bytes

if TYPE_CHECKING:
    import torch

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif"})
PNG_COMPRESSION = 1  # zlib level: files ~8% larger than level 3, encoding ~40% faster
MIN_SIDE = 32
MAX_SIDE = 8192

Image.MAX_IMAGE_PIXELS = MAX_SIDE * MAX_SIDE


class ImageError(ValueError):
    """An image file cannot be used; the message names the file and what is wrong."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file to ``H x W x 3`` float32 RGB in [0, 1] by the rules above."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(path, f"cannot read file: {exc.strerror or exc}") from exc
    return decode_image(data, name=path)


def decode_image(data: bytes, *, name: str | Path = "<bytes>") -> np.ndarray:
    """Decode encoded image bytes; see :func:`read_image`."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            _check_size(opened.size, name)  # from the header, before any pixel is decoded
            opened.load()
            image = ImageOps.exif_transpose(opened)
            if image.mode == "F" and not np.isfinite(np.asarray(image)).all():
                raise ImageError(name, "float image contains NaN or Inf values")
            return _to_rgb_float(image)
    except UnidentifiedImageError as exc:
        raise ImageError(name, "not a readable image file") from exc
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:  # over twice MAX_SIDE squared: a side is too long
        raise ImageError(
            name, f"image is too large; sides must be {MIN_SIDE} to {MAX_SIDE} pixels ({exc})"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(name, f"corrupt or truncated image ({exc})") from exc


def _check_size(size: tuple[int, int], name: str | Path) -> None:
    width, height = size
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
        raise ImageError(
            name, f"image is {width}x{height}; sides must be {MIN_SIDE} to {MAX_SIDE} pixels"
        )


def _to_rgb_float(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = np.asarray(image, dtype=np.float32) / 65535.0
        return np.repeat(np.clip(grey, 0.0, 1.0)[..., None], 3, axis=2)
    if image.mode == "F":
        grey = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
        return np.repeat(grey[..., None], 3, axis=2)
    if image.mode != "RGB":  # Pillow's conversion to RGB drops alpha without compositing
        image = image.convert("RGB")
    return to_float(np.asarray(image))


def to_float(image: np.ndarray) -> np.ndarray:
    """uint8 ``H x W x 3`` to float32 in [0, 1]."""
    if image.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {image.dtype}")
    return image.astype(np.float32) / np.float32(255.0)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] to uint8: clip, scale by 255, round half to even."""
    return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def encode_png(image: np.ndarray) -> bytes:
    """Lossless, deterministic PNG bytes of a float or uint8 ``H x W x 3`` RGB image."""
    import cv2

    pixels = image if image.dtype == np.uint8 else to_uint8(image)
    bgr = np.ascontiguousarray(pixels[..., ::-1])
    ok, buffer = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise ValueError("PNG encoding failed")
    return buffer.tobytes()


def read_png(path: str | Path) -> np.ndarray:
    """Read an 8-bit RGB PNG that dr2bench wrote itself (fast path, no conversion rules).

    Raises:
        ImageError: the file is missing or not a readable PNG.
    """
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8) if Path(path).is_file() else None
    pixels = None if data is None else cv2.imdecode(data, cv2.IMREAD_COLOR)
    if pixels is None:
        raise ImageError(path, "missing or unreadable PNG")
    return to_float(np.ascontiguousarray(pixels[..., ::-1]))


def write_png(path: str | Path, image: np.ndarray) -> None:
    """Write an image as PNG atomically (a crash never leaves a half-written file)."""
    atomic_write_bytes(path, encode_png(image))


def to_tensor(images: np.ndarray | Sequence[np.ndarray], device: str = "cpu") -> torch.Tensor:
    """``H x W x 3`` images (float32 in [0, 1] or uint8) to an ``N x 3 x H x W`` float32 batch."""
    import torch

    batch = np.stack(
        [images] if isinstance(images, np.ndarray) and images.ndim == 3 else list(images)
    )
    if batch.dtype == np.uint8:
        batch = batch.astype(np.float32) / np.float32(255.0)
    batch = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)
    return torch.from_numpy(batch).to(device)


def to_numpy(batch: torch.Tensor) -> list[np.ndarray]:
    """An ``N x 3 x H x W`` tensor to a list of ``H x W x 3`` float32 numpy images."""
    array = batch.detach().float().cpu().numpy()
    return [np.ascontiguousarray(image.transpose(1, 2, 0)) for image in array]


def to_pil(image: np.ndarray) -> Image.Image:
    """A float or uint8 ``H x W x 3`` image to a Pillow RGB image."""
    return Image.fromarray(image if image.dtype == np.uint8 else to_uint8(image), mode="RGB")


def list_images(root: str | Path) -> list[Path]:
    """Image files below ``root``, recursively, sorted by relative POSIX path."""
    root = Path(root)
    found = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def resize(image: np.ndarray, width: int, height: int, interpolation: str) -> np.ndarray:
    """Resize with OpenCV (``bicubic`` is ``INTER_CUBIC``, ...), clipped to [0, 1].

    Bicubic overshoots past 0 and 1 at edges; the clip keeps every step's output in range
    (bilinear, area and nearest never leave it, so for them the clip changes nothing).
    """
    import cv2

    flags = {
        "bicubic": cv2.INTER_CUBIC,
        "bilinear": cv2.INTER_LINEAR,
        "area": cv2.INTER_AREA,
        "nearest": cv2.INTER_NEAREST,
    }
    resized = cv2.resize(image, (width, height), interpolation=flags[interpolation])
    return np.clip(resized, 0.0, 1.0, out=resized)
