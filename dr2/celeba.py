"""Face crops for training the demo diffusion model: CelebA aligned images, decoded once.

CelebA's aligned images (178x218, or the 89x109 half-size copies in ``shared/data/celeba-small``)
are cropped to the usual face square (side 128/178 of the width, centred at x = width / 2,
y = 121/218 of the height, as in DDIM's and NCSN's CelebA-64 pipelines) and resized with
antialiasing. On the 89x109 copies that is the integer box (12, 28, 76, 92), a 64x64 square, so at
size 64 no resampling happens at all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
HOLDOUT = 1000


def face_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The face square ``(left, top, right, bottom)`` of an aligned CelebA image.

    Example:
        >>> face_box(89, 109)
        (12, 28, 76, 92)
        >>> face_box(178, 218)
        (25, 57, 153, 185)
    """
    side = round(width * 128 / 178)
    cx, cy = width / 2, height * 121 / 218
    left, top = int(cx - side / 2), int(cy - side / 2)
    return left, top, left + side, top + side


def load_face(path: str | Path, size: int) -> np.ndarray:
    """One face crop, ``(size, size, 3)`` uint8 RGB."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
        box = face_box(*image.size)
        crop = image.crop(box)
        if crop.size != (size, size):
            crop = crop.resize((size, size), Image.Resampling.BICUBIC, reducing_gap=None)
        return np.asarray(crop, dtype=np.uint8)


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return files


def split_files(files: list[Path], holdout: int = HOLDOUT) -> tuple[list[Path], list[Path]]:
    """``(train, held_out)``: the last ``holdout`` files (in name order) are held out.

    With fewer than ``2 * holdout`` files, nothing is held out (tiny folders in tests).
    """
    if len(files) < 2 * holdout:
        return files, []
    return files[:-holdout], files[-holdout:]


def load_faces(files: list[Path], size: int) -> torch.Tensor:
    """Decode and crop ``files`` into one ``(N, 3, size, size)`` uint8 tensor."""
    array = np.stack([load_face(path, size) for path in files])
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()


def to_model_range(batch: torch.Tensor) -> torch.Tensor:
    """uint8 ``[0, 255]`` to float ``[-1, 1]``."""
    return batch.float() / 127.5 - 1.0
