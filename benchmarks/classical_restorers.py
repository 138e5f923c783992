"""Speed of the classical restorers and of the ``command`` restorer's overhead, on 512 x 512 faces.

Writes ``benchmarks/results/classical_restorers.json``: for each classical restorer (default
parameters) the median seconds per 512 x 512 image over a few batches, and for ``command`` the
seconds per batch of a script that only copies its inputs (the cost of writing, reading and
starting a process, which adds to the program's own time).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import write_result

CLASSICAL = (
    "identity",
    "lanczos",
    "bilateral",
    "nlmeans",
    "richardson_lucy",
    "wiener",
    "unsharp",
)
HQ = Path(__file__).resolve().parents[2] / "shared" / "data" / "hq"
BATCH = 4
REPEATS = 3
COPY_SCRIPT = (
    "import shutil, sys, pathlib; "
    "[shutil.copy(p, pathlib.Path(sys.argv[2]) / p.name) "
    "for p in pathlib.Path(sys.argv[1]).glob('*.png')]"
)


def faces() -> list[np.ndarray]:
    """``BATCH`` faces from ``../shared/data/hq``, or random images where it is absent."""
    from bench.images import list_images, read_image

    if HQ.is_dir():
        return [read_image(path) for path in list_images(HQ)[:BATCH]]
    rng = np.random.default_rng(0)
    return [rng.random((512, 512, 3), dtype=np.float32) for _ in range(BATCH)]


def seconds_per_call(restorer, batch, ids: list[str]) -> float:
    """The median wall time of ``REPEATS`` calls, after one warm-up call."""
    seeds = [0] * len(ids)
    restorer.restore_batch(batch, seeds, ids)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        restorer.restore_batch(batch, seeds, ids)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    from bench.images import to_tensor
    from bench.registry import RESTORERS

    images = faces()
    batch = to_tensor(images)
    ids = [f"face_{index}.png" for index in range(len(images))]
    per_image = {}
    for name in CLASSICAL:
        restorer = RESTORERS.create(name)
        restorer.load("cpu")
        per_image[name] = round(seconds_per_call(restorer, batch, ids) / len(ids), 4)
    command = RESTORERS.create(
        "command", command=f'{sys.executable} -c "{COPY_SCRIPT}" {{input}} {{output}}'
    )
    command.load("cpu")
    write_result(
        "classical_restorers",
        {
            "image_size": list(images[0].shape[:2]),
            "images_from": str(HQ) if HQ.is_dir() else "random",
            "batch_size": len(ids),
            "seconds_per_image": per_image,
            "command_overhead_seconds_per_batch": round(seconds_per_call(command, batch, ids), 4),
        },
    )


if __name__ == "__main__":
    main()
