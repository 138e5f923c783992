"""Speed and memory of the metrics on 512x512 faces: ``python -m benchmarks.metrics_speed``.

Writes ``benchmarks/results/metrics_speed.json`` with

- ``images_per_second``: each metric's throughput on 512x512 images (after loading), on CPU;
  ``lpips`` is timed with a random backbone of the same architecture (its ImageNet file is not
  available offline; the speed does not depend on the weights);
- ``fid_extraction``: dr2bench's FID feature extraction (decode, resize, network) against
  pytorch-fid's own pipeline (its ``get_activations`` with its DataLoader and in-network resize,
  the network loaded with the same mapped weights) on the same files in the same process;
- ``fid_stream``: peak resident memory of a streamed FID run over 3,000 images (a child process;
  the shared faces repeated), with its throughput and the time of the Frechet distance.

Both extraction pipelines use pytorch-fid's batch size (50): on CPU the network's throughput grows
with the batch. Options: ``--images N`` for the stream size (default 3000), ``--sections`` to rerun
some sections only (the others are kept from the previous result), ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import write_result

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
STREAM_LIMIT_MB = 2048
EXTRACTION_BATCH = 50  # pytorch-fid's default
SECTIONS = ("images_per_second", "fid_extraction", "fid_stream")


def face_files(count: int) -> list[Path]:
    """``count`` 512x512 face files from the shared data, repeated as needed."""
    from bench.images import list_images

    files = list_images(DATA / "hq") + list_images(DATA / "real")
    if not files:
        raise SystemExit(f"no images under {DATA}; the benchmark needs the shared data")
    return list(islice(cycle(files), count))


def degraded(image: np.ndarray) -> np.ndarray:
    """A blurred, 4x down-and-up-sampled copy (a plausible restoration output)."""
    import cv2

    small = cv2.resize(image, (128, 128), interpolation=cv2.INTER_AREA)
    return np.clip(cv2.resize(small, (512, 512), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def random_lpips_backbone(folder: Path) -> Path:
    import torch
    import torchvision

    torch.manual_seed(0)
    path = folder / "alexnet-random.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return path


def time_metric(name: str, params: dict[str, Any], batches: list[tuple[Any, Any]]) -> dict:
    """Load, one untimed warm-up batch, then images per second over the other batches.

    Every batch holds different images, so no per-image cache (face embeddings) is reused.
    """
    from bench.registry import METRICS

    metric = METRICS.create(name, **params)
    start = time.perf_counter()
    metric.load("cpu")
    load_s = time.perf_counter() - start

    def run(pred: Any, ref: Any) -> None:
        if metric.kind == "set":
            metric.features(pred)
        elif metric.kind == "no_reference":
            metric.score(pred)
        else:
            metric.score(pred, ref)

    run(*batches[0])
    start = time.perf_counter()
    for pred, ref in batches[1:]:
        run(pred, ref)
    images = sum(len(pred) for pred, _ in batches[1:])
    seconds = time.perf_counter() - start
    return {"images_per_second": round(images / seconds, 3), "load_s": round(load_s, 2)}


def metric_speeds(batch_size: int, repeats: int) -> dict[str, Any]:
    from bench.images import read_image, to_tensor

    files = face_files(batch_size * (repeats + 1))
    batches = []
    for first in range(0, len(files), batch_size):
        gt_images = [read_image(p) for p in files[first : first + batch_size]]
        batches.append((to_tensor([degraded(i) for i in gt_images]), to_tensor(gt_images)))
    results: dict[str, Any] = {"batch_size": batch_size}
    with tempfile.TemporaryDirectory() as folder:
        backbone = random_lpips_backbone(Path(folder))
        cases = [
            ("psnr", {}), ("ssim", {}), ("lpips", {"backbone_weights": str(backbone)}),
            ("st_lpips", {}), ("fid", {}), ("fid.clean", {}), ("ids.dlib", {}), ("ids.sface", {}),
            ("lmd.dlib", {}), ("niqe", {}),
        ]  # fmt: skip
        for name, params in cases:
            results[name] = time_metric(name, params, batches)
            print(name, results[name], flush=True)
    results["lpips"]["note"] = "random AlexNet backbone (ImageNet file not available offline)"
    results["kid"] = {"same_as": "fid (same features; the value itself is a few matrix products)"}
    results["deg.dlib"] = {"same_as": "ids.dlib (same embeddings)"}
    return results


def ours_extraction(files: list[Path], batch_size: int) -> float:
    """Images per second of dr2bench's streamed extraction (decode, resize, network)."""
    from metrics.fid import Fid
    from metrics.reference import image_batches

    metric = Fid(mode="legacy")
    metric.load("cpu")
    start = time.perf_counter()
    count = sum(len(metric.features(batch)) for batch in image_batches(files, batch_size))
    return count / (time.perf_counter() - start)


def pytorch_fid_extraction(files: list[Path], batch_size: int) -> float:
    """Images per second of pytorch-fid's own ``get_activations`` on the same files."""
    from pytorch_fid.fid_score import get_activations

    from metrics import inception

    source, path = inception.resolve_weights("auto")
    network = inception.build_network(
        inception.weights_state(source, path), resize_input=True, normalize_input=True
    )
    workers = min(len(os.sched_getaffinity(0)), 8)  # pytorch-fid's own default
    start = time.perf_counter()
    activations = get_activations([str(f) for f in files], network, batch_size, 2048, "cpu",
                                  workers)  # fmt: skip
    return len(activations) / (time.perf_counter() - start)


def extraction_comparison(count: int) -> dict[str, Any]:
    """Both pipelines twice, interleaved (the machine is shared); the best of each is kept."""
    files = face_files(count)
    ours, theirs = [], []
    for _ in range(2):
        ours.append(ours_extraction(files, EXTRACTION_BATCH))
        theirs.append(pytorch_fid_extraction(files, EXTRACTION_BATCH))
        print("extraction", ours[-1], theirs[-1], flush=True)
    return {
        "images": count,
        "dr2bench_images_per_second": round(max(ours), 3),
        "pytorch_fid_images_per_second": round(max(theirs), 3),
        "runs": {
            "dr2bench": [round(v, 3) for v in ours],
            "pytorch_fid": [round(v, 3) for v in theirs],
        },
        "batch_size": EXTRACTION_BATCH,
        "at_least_as_fast": max(ours) >= max(theirs),
    }


def stream(count: int, batch_size: int) -> dict[str, Any]:
    """Child process: a streamed FID over ``count`` images against the HQ faces."""
    import warnings

    from metrics.fid import Fid
    from metrics.reference import image_batches

    metric = Fid(mode="legacy", reference=str(DATA / "hq"))
    metric.load("cpu")
    reference = metric.configured_reference()
    start = time.perf_counter()
    features = [metric.features(batch) for batch in image_batches(face_files(count), batch_size)]
    extract_s = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = metric.value(np.concatenate(features), reference)
    peak_mb = peak_rss_mb()
    return {
        "images": value.n,
        "fid": round(value.value, 4),
        "images_per_second": round(value.n / extract_s, 3),
        "frechet_distance_s": round(time.perf_counter() - start, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "limit_mb": STREAM_LIMIT_MB,
        "under_limit": peak_mb < STREAM_LIMIT_MB,
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``; ``ru_maxrss`` would include the parent's
    peak, which Linux carries across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stream_in_child(count: int, batch_size: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.metrics_speed", "--child-stream", str(count),
               "--batch-size", str(batch_size)]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000, help="images in the FID stream")
    parser.add_argument("--batch-size", type=int, default=8, help="for metrics and the stream")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="which sections to run")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--child-stream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_stream:
        print(json.dumps(stream(args.child_stream, args.batch_size)))
        return
    import torch

    name = "metrics_speed" + ("_quick" if args.quick else "")
    runs = {
        "images_per_second": lambda: metric_speeds(args.batch_size, 1 if args.quick else 2),
        "fid_extraction": lambda: extraction_comparison(16 if args.quick else 64),
        "fid_stream": lambda: stream_in_child(40 if args.quick else args.images, args.batch_size),
    }
    result = previous(name)
    for section in args.sections.split(","):
        if section not in runs:
            raise SystemExit(f"unknown section {section!r}; choose from {', '.join(SECTIONS)}")
        start = os.getloadavg()
        result[section] = runs[section]() | {"load_average": [start, os.getloadavg()]}
    result |= {"device": "cpu", "torch_threads": torch.get_num_threads()}
    write_result(name, result)


def previous(name: str) -> dict[str, Any]:
    """The sections of the last result, kept when only some sections are rerun."""
    from benchmarks import RESULTS

    path = RESULTS / f"{name}.json"
    if not path.is_file():
        return {}
    return {key: value for key, value in json.loads(path.read_text()).items() if key in SECTIONS}


if __name__ == "__main__":
    main()
