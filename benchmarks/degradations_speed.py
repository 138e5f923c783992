"""Speed and memory of the ``gfpgan`` chain against the same chain composed from basicsr.

Both run in this one process, interleaved round by round on the same 512x512 faces from
``../shared/data/hq``: ours with per-image seeding (``image_rng``), parameter sampling and the
JSON record included; the reference as GFPGAN's ``FFHQDegradationDataset`` calls basicsr's
OpenCV functions (isotropic kernel, ``filter2D``, ``INTER_LINEAR`` down, Gaussian noise, JPEG
with an integer quality, ``INTER_LINEAR`` back). Memory: resident set size while our chain
degrades a growing number of images.

Run: ``python -m benchmarks.degradations_speed``.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np

from benchmarks import write_result

HQ = Path(__file__).resolve().parents[2] / "shared" / "data" / "hq"
ROUNDS = 5
MEMORY_CHECKPOINTS = (100, 250, 500, 1000)


def load_faces() -> list[tuple[str, np.ndarray]]:
    from bench.images import list_images, read_image

    paths = list_images(HQ)
    if not paths:
        raise SystemExit(f"{HQ}: no images (the benchmark needs ../shared/data/hq)")
    return [(path.name, read_image(path)) for path in paths]


def import_basicsr():
    """basicsr 1.4.2 needs ``torchvision.transforms.functional_tensor``; give it a stub."""
    import torchvision.transforms.functional as functional

    name = "torchvision.transforms.functional_tensor"
    stub = types.ModuleType(name)
    stub.rgb_to_grayscale = functional.rgb_to_grayscale
    sys.modules.setdefault(name, stub)
    from basicsr.data import degradations

    return degradations


def ours_round(faces: list[tuple[str, np.ndarray]]) -> float:
    """Seconds for our gfpgan chain over ``faces``, seeding and records included."""
    from bench.chains import load_chain
    from bench.files import canonical_json
    from bench.seeding import image_rng

    chain = load_chain("gfpgan")
    start = time.perf_counter()
    for image_id, face in faces:
        steps = chain.sample(image_rng(0, "hq", image_id, "gfpgan", 0), 0)
        chain.apply(face, steps)
        canonical_json({"id": image_id, "chain": "gfpgan", "severity": 0, "steps": steps})
    return time.perf_counter() - start


def reference_round(reference, faces_bgr: list[np.ndarray]) -> float:
    """Seconds for GFPGAN's pipeline built from basicsr's functions over ``faces_bgr``."""
    import cv2

    np.random.seed(0)
    start = time.perf_counter()
    for face in faces_bgr:
        height, width = face.shape[:2]
        kernel = reference.random_mixed_kernels(
            ["iso"], [1.0], 41, (0.1, 10), (0.1, 10), [-math.pi, math.pi], noise_range=None
        )
        degraded = cv2.filter2D(face, -1, kernel)
        scale = np.random.uniform(0.8, 8)
        degraded = cv2.resize(
            degraded, (int(width // scale), int(height // scale)), interpolation=cv2.INTER_LINEAR
        )
        degraded = reference.random_add_gaussian_noise(degraded, (0, 20))
        degraded = reference.add_jpg_compression(degraded, int(np.random.uniform(60, 100)))
        cv2.resize(degraded, (width, height), interpolation=cv2.INTER_LINEAR)
    return time.perf_counter() - start


def resident_mb() -> float:
    """Resident set size of this process in MiB (Linux ``/proc/self/statm``)."""
    import os

    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_profile(faces: list[tuple[str, np.ndarray]]) -> dict[str, float]:
    """RSS after degrading 100, 250, 500 and 1000 images (cycling over the faces)."""
    from bench.chains import load_chain
    from bench.seeding import image_rng

    chain = load_chain("gfpgan")
    readings = {}
    for index in range(MEMORY_CHECKPOINTS[-1]):
        image_id, face = faces[index % len(faces)]
        steps = chain.sample(image_rng(0, "hq", f"{index}/{image_id}", "gfpgan", 0), 0)
        chain.apply(face, steps)
        if index + 1 in MEMORY_CHECKPOINTS:
            readings[str(index + 1)] = round(resident_mb(), 1)
    return readings


def main() -> None:
    import cv2

    faces = load_faces()
    faces_bgr = [np.ascontiguousarray(face[:, :, ::-1]) for _, face in faces]
    reference = import_basicsr()
    ours_round(faces[:4])  # warm up imports and caches
    reference_round(reference, faces_bgr[:4])
    ours_rates, reference_rates = [], []
    for _ in range(ROUNDS):
        ours_rates.append(len(faces) / ours_round(faces))
        reference_rates.append(len(faces) / reference_round(reference, faces_bgr))
    memory = memory_profile(faces)
    ours, theirs = statistics.median(ours_rates), statistics.median(reference_rates)
    write_result(
        "degradations_speed",
        {
            "images": len(faces),
            "image_size": "512x512",
            "rounds": ROUNDS,
            "opencv_threads": cv2.getNumThreads(),
            "ours_images_per_s": {
                "median": round(ours, 1),
                "all": [round(r, 1) for r in ours_rates],
            },
            "basicsr_images_per_s": {
                "median": round(theirs, 1),
                "all": [round(r, 1) for r in reference_rates],
            },
            "speedup_median": round(ours / theirs, 2),
            "rss_mb_after_images": memory,
            "rss_growth_mb_100_to_1000": round(memory["1000"] - memory["100"], 1),
        },
    )


if __name__ == "__main__":
    main()
