"""Where a run keeps its images (shared by the runner, which writes them, and the reports).

Layout under ``RUN_DIR/images``; every image is a PNG, its id's suffix replaced by ``.png``::

    lq/<dataset>/<chain>/<severity>/<seed>/<image_id>.png
    gt/<dataset>/<image_id>.png
    outputs/<restorer>/<dataset>/<chain>/<severity>/<seed>/<image_id>.png
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath


def _png(image_id: str) -> str:
    return PurePosixPath(image_id).with_suffix(".png").as_posix()


def lq_path(
    run_dir: str | Path, dataset: str, chain: str, severity: int, seed: int, image_id: str
) -> Path:
    """The degraded input of one image."""
    return (
        Path(run_dir)
        / "images"
        / "lq"
        / dataset
        / chain
        / str(severity)
        / str(seed)
        / _png(image_id)
    )


def gt_path(run_dir: str | Path, dataset: str, image_id: str) -> Path:
    """The ground truth of one image."""
    return Path(run_dir) / "images" / "gt" / dataset / _png(image_id)


def output_path(
    run_dir: str | Path,
    restorer: str,
    dataset: str,
    chain: str,
    severity: int,
    seed: int,
    image_id: str,
) -> Path:
    """A restorer's output for one image."""
    return (
        Path(run_dir)
        / "images"
        / "outputs"
        / restorer
        / dataset
        / chain
        / str(severity)
        / str(seed)
        / _png(image_id)
    )
