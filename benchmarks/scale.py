"""The runner at scale: a grid of cheap plugins at 12,000 and 120,000 rows.

Grid: generated 32x32 images x classic severities 1-4 x seeds 0, 1 x 5 classical restorers,
scored with PSNR and SSIM (40 rows per image): 300 images give 12,000 rows, 3,000 give 120,000.
The plugins cost little at this size, so the runner is what is measured. Per size:

- the first run (a child process: wall time and peak RSS), the time inside plugins and the
  runner overhead as a fraction of it (``benchmarks._plugin_time``, as ``runner_overhead``);
- journal, records and image-folder sizes on disk;
- a cached rerun, ``--dry-run`` and ``report`` (each a whole command: wall time, peak RSS);
- a second run killed with SIGKILL when its journal is half the first's, then ``--resume``:
  the time to finish and whether its ``records.parquet`` equals the first run's byte for byte;
- with ``--ray``, the same run through the Ray executor (a local cluster, one worker per core):
  its wall time, overhead beside the local one's, and whether its records are byte-identical.

Then seconds per row at each size and their ratio (1.0 when the runner scales linearly).

Run: ``python -m benchmarks.scale`` (12,000 and 120,000 rows, Ray at 12,000: ~45 minutes on a
quiet 2-core machine, hours on a busy one; results are written after every step), ``python -m
benchmarks.scale --quick`` (2,000 rows, no Ray: ~2 minutes; what ``make bench`` runs; writes
``results/scale_quick.json`` so the full results stay), or ``--sizes N ...`` for other sizes.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from benchmarks import RESULTS, write_result
from benchmarks._plugin_time import Measured, dr2bench, measure, measure_instrumented

RESTORERS = ["identity", "lanczos", "unsharp", "bilateral", "wiener"]
METRICS = ["psnr", "ssim"]
SEVERITIES = [1, 2, 3, 4]
SEEDS = [0, 1]
ROWS_PER_IMAGE = len(SEVERITIES) * len(SEEDS) * len(RESTORERS)
IMAGE_SIZE = 32
GRID = {
    "image_size": IMAGE_SIZE,
    "restorers": RESTORERS,
    "metrics": METRICS,
    "chain": "classic",
    "severities": SEVERITIES,
    "seeds": SEEDS,
    "batch_size": 8,
}
SIZES = (12_000, 120_000)
QUICK = 2_000
SUITE_ARGV = ["--quick"]  # what ``python -m benchmarks`` (``make bench``) runs


def write_images(folder: Path, count: int) -> None:
    """``count`` smooth random ``IMAGE_SIZE`` RGB images (a coarse pattern plus noise)."""
    from bench.images import resize, write_png

    rng = np.random.default_rng(0)
    for index in range(count):
        coarse = rng.random((4, 4, 3), dtype=np.float32)
        image = resize(coarse, IMAGE_SIZE, IMAGE_SIZE, "bicubic")
        noise = rng.normal(0.0, 0.03, image.shape).astype(np.float32)
        write_png(folder / f"{index:05d}.png", np.clip(image + noise, 0.0, 1.0))


def write_config(path: Path, images: Path, output: Path) -> Path:
    config = {
        "name": "scale",
        "datasets": [{"name": "generated", "kind": "folder", "path": str(images)}],
        "degradations": [{"chain": GRID["chain"], "severities": SEVERITIES}],
        "seeds": SEEDS,
        "restorers": RESTORERS,
        "metrics": METRICS,
        "batch_size": GRID["batch_size"],
        "output": str(output),
    }
    path.write_text(yaml.safe_dump(config))
    return path


def disk(path: Path) -> dict[str, float]:
    """Files under ``path`` (or the file itself): count, apparent MiB and MiB of disk blocks."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    stats = [p.stat() for p in files]
    return {
        "files": len(files),
        "mib": round(sum(s.st_size for s in stats) / 2**20, 2),
        "mib_on_disk": round(sum(s.st_blocks * 512 for s in stats) / 2**20, 2),
    }


def command(measured: Measured) -> dict[str, float]:
    return {
        "s": round(measured.seconds, 2),
        "cpu_s": round(measured.cpu_seconds, 2),
        "peak_rss_mib": round(measured.peak_rss_mib, 1),
    }


def same_records(a: Path, b: Path) -> bool:
    return (a / "records.parquet").read_bytes() == (b / "records.parquet").read_bytes()


def measure_size(
    rows: int, tmp: Path, ray: bool, result: dict[str, Any], save: Callable[[], None]
) -> None:
    """Every measurement of one grid size, in ``tmp``, into ``result``; ``save`` after each."""
    images = tmp / "images"
    images.mkdir()
    write_images(images, rows // ROWS_PER_IMAGE)
    first = tmp / "first"
    config = write_config(tmp / "first.yaml", images, first)
    measured, run_s, plugin = measure_instrumented(config, RESTORERS, METRICS, tmp / "t.json")
    plugin_s = sum(plugin.values())
    overhead_s = run_s - plugin_s
    result |= {
        "first_run": command(measured),
        "first_run_in_process_s": round(run_s, 2),
        "plugin_time_s": {stage: round(s, 2) for stage, s in plugin.items()},
        "runner_overhead_s": round(overhead_s, 2),
        "overhead_fraction_of_plugin_time": round(overhead_s / plugin_s, 3),
        "seconds_per_row": run_s / rows,
        "overhead_seconds_per_row": overhead_s / rows,
        "disk": {
            "journal": disk(first / "journal.jsonl"),
            "records": disk(first / "records.parquet"),
            "timings": disk(first / "timings.parquet"),
            "images": disk(first / "images"),
        },
    }
    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "cached_rerun": lambda: command(measure(dr2bench("run", str(config), "--quiet"))),
        "dry_run": lambda: command(measure(dr2bench("run", str(config), "--dry-run"))),
        "report": lambda: command(
            measure(dr2bench("report", str(first), "--out", str(tmp / "report")))
        ),
        "resume_after_kill": lambda: resume_after_kill(tmp, images, first),
    }
    if ray:
        steps["ray"] = lambda: ray_run(tmp, images, first, measured, plugin_s)
    save()
    for name, step in steps.items():
        result[name] = step()
        save()


def resume_after_kill(tmp: Path, images: Path, first: Path) -> dict[str, Any]:
    """Kill -9 a second run when its journal is half the first's, then finish it (--resume)."""
    output = tmp / "killed"
    config = write_config(tmp / "killed.yaml", images, output)
    half = (first / "journal.jsonl").stat().st_size / 2
    journal = output / "journal.jsonl"
    killed = measure(
        dr2bench("run", str(config), "--quiet"),
        kill_when=lambda: journal.exists() and journal.stat().st_size >= half,
    )
    resumed = measure(dr2bench("run", str(config), "--resume", "--quiet"))
    return {
        "killed_after_s": round(killed.seconds, 2),
        "was_killed": killed.killed,
        "resume": command(resumed),
        "records_equal_uninterrupted": same_records(output, first),
    }


def ray_run(
    tmp: Path, images: Path, first: Path, local: Measured, plugin_s: float
) -> dict[str, Any]:
    """The first run again through the Ray executor; overheads are wall time less plugin time
    (the same work as the local run's), Ray start-up included."""
    output = tmp / "ray"
    config = write_config(tmp / "ray.yaml", images, output)
    measured = measure(dr2bench("run", str(config), "--executor", "ray", "--quiet"))
    return {
        "workers": os.cpu_count(),
        "run": command(measured),
        "records_identical_to_local": same_records(output, first),
        "overhead_fraction_of_plugin_time": round((measured.seconds - plugin_s) / plugin_s, 3),
        "local_overhead_fraction_of_plugin_time": round((local.seconds - plugin_s) / plugin_s, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK:,} rows only, no Ray")
    parser.add_argument("--sizes", type=int, nargs="+", help="rows per grid (multiples of 40)")
    parser.add_argument("--ray", type=int, default=SIZES[0], help="Ray at this size (0: none)")
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=60.0,
        help="skip a size whose first run, estimated from the smaller size, would take longer",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for the JSON")
    args = parser.parse_args(argv)
    sizes = args.sizes or ((QUICK,) if args.quick else SIZES)
    ray_size = 0 if args.quick else args.ray
    load_before = os.getloadavg()
    results: list[dict[str, Any]] = []
    name = "scale_quick" if args.quick else "scale"

    def save() -> None:  # after every step: a long run stopped later keeps what it measured
        measured = [r for r in results if "seconds_per_row" in r]
        result = {
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "grid": GRID,
            "sizes": results,
            "seconds_per_row_ratio_largest_to_smallest": (
                measured[-1]["seconds_per_row"] / measured[0]["seconds_per_row"]
            ),
        }
        write_result(name, result, folder=args.results, echo=False)

    for rows in sorted(sizes):
        rates = [r["seconds_per_row"] for r in results if "seconds_per_row" in r]
        estimate = rates[-1] * rows if rates else 0.0
        if estimate > args.max_minutes * 60:
            skipped = f"first run estimated at {estimate / 60:.1f} min > {args.max_minutes:g}"
            results.append({"rows": rows, "skipped": skipped, "estimated_first_run_s": estimate})
            save()
            continue
        results.append({"rows": rows, "images": rows // ROWS_PER_IMAGE})
        with tempfile.TemporaryDirectory(prefix="dr2bench-scale-") as tmp:
            measure_size(rows, Path(tmp), rows == ray_size, results[-1], save)
    print((args.results / f"{name}.json").read_text())


if __name__ == "__main__":
    main()
