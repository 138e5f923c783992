"""Sample quality of a demo diffusion model: FID and KID of unconditional samples vs held-out faces.

Samples are drawn by ancestral sampling over ``respacing`` steps, quantised to 8 bits, and compared
with the held-out crops (the last 1,000 files of the data folder, cropped as for training) using
:mod:`metrics.fid` (Inception pool3 of the TF 2015-12-05 graph, ``clean`` preprocessing:
PIL bicubic to 299x299, ``(x - 128) / 128``). FID from 1,000 images is biased upward; KID is
reported beside it.

Example:
    python -m dr2.evaluate --model dr2/demo/ddpm_celeba64.safetensors \
        --data ../shared/data/celeba-small --n 1000 --out /work/ddpm_run/eval
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from dr2.celeba import list_images, load_faces, split_files
from dr2.diffusion import GaussianDiffusion
from dr2.model_io import load_model
from dr2.unet import UNet

log = logging.getLogger(__name__)


def sample_faces(
    model: UNet,
    diffusion: GaussianDiffusion,
    count: int,
    batch_size: int = 50,
    seed: int = 0,
    autocast_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """``count`` unconditional samples as ``(N, 3, S, S)`` uint8; batch ``i`` uses ``seed + i``."""
    size = model.config.image_size
    model = model.eval().to(memory_format=torch.channels_last)

    def network(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        dtype = autocast_dtype or torch.bfloat16
        with torch.autocast(x.device.type, dtype=dtype, enabled=autocast_dtype is not None):
            return model(x, t).float()

    samples = []
    batches = range(0, count, batch_size)
    with torch.inference_mode():
        for index, first in enumerate(tqdm(batches, desc="sample")):
            n = min(batch_size, count - first)
            generator = torch.Generator().manual_seed(seed + index)
            x = diffusion.p_sample_loop(network, (n, 3, size, size), generator)
            samples.append(((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8))
    return torch.cat(samples)


def save_grid(images: torch.Tensor, path: Path, columns: int = 8) -> None:
    """Save the first ``rows * columns`` uint8 images as one PNG grid."""
    rows = max(1, min(len(images), 64) // columns)
    chosen = images[: rows * columns].permute(0, 2, 3, 1).numpy()
    height, width = chosen.shape[1:3]
    grid = chosen.reshape(rows, columns, height, width, -1).swapaxes(1, 2)
    grid = grid.reshape(rows * height, columns * width, -1)
    Image.fromarray(grid).save(path)


def fid_kid(samples: torch.Tensor, reference: torch.Tensor) -> dict[str, Any]:
    """FID and KID (``clean`` mode) between two uint8 image sets."""
    import warnings

    from bench.registry import METRICS

    fid = METRICS.create("fid.clean")
    kid = METRICS.create("kid.clean", subsets=100, subset_size=1000, seed=0)

    def features(images: torch.Tensor) -> np.ndarray:
        parts = [
            fid.features(images[i : i + 50].float() / 255.0) for i in range(0, len(images), 50)
        ]
        return np.concatenate(parts)

    own, ref = features(samples), features(reference)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer than 2048 images: expected for a demo model
        fid_value, kid_value = fid.value(own, ref), kid.value(own, ref)
    return {
        "fid": float(fid_value.value),
        "kid": float(kid_value.value),
        "kid_std": kid_value.extra["std"],
        "kid_subset_size": kid_value.extra["subset_size"],
        "n_samples": len(samples),
        "n_reference": len(reference),
        "feature_extractor": fid.extractor(),
        "preprocessing": "clean: PIL bicubic to 299x299 on [0, 255] floats, (x - 128) / 128",
        "kid_params": {"subsets": 100, "subset_size": 1000, "seed": 0},
    }


def evaluate(
    model_path: Path, data: Path, out: Path, count: int = 1000, respacing: str = "100",
    batch_size: int = 50, seed: int = 0, bf16: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Sample ``count`` faces, write a grid and ``eval.json`` to ``out``, return the numbers."""
    out.mkdir(parents=True, exist_ok=True)
    model, config, metadata = load_model(model_path)
    diffusion = GaussianDiffusion(config.steps, respacing, config.variance, config.clip_denoised)
    _, held_out = split_files(list_images(data))
    reference = load_faces(held_out, model.config.image_size)
    started = time.perf_counter()
    samples = sample_faces(
        model, diffusion, count, batch_size, seed, torch.bfloat16 if bf16 else None
    )
    sampling_s = time.perf_counter() - started
    save_grid(samples, out / "samples.png")
    save_grid(reference, out / "held_out.png")
    result = fid_kid(samples, reference) | {
        "model": str(model_path),
        "training_step": metadata.get("step"),
        "respacing": respacing,
        "variance": config.variance,
        "sampling_seconds": sampling_s,
        "autocast": "bf16" if bf16 else "none",
        "threads": torch.get_num_threads(),
    }
    (out / "eval.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m dr2.evaluate --model M --data D --out O [--n 1000]``."""
    parser = argparse.ArgumentParser(
        prog="python -m dr2.evaluate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--respacing", default="100")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast for the network")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    result = evaluate(
        args.model,
        args.data,
        args.out,
        args.n,
        args.respacing,
        args.batch_size,
        args.seed,
        args.bf16,
    )
    print(json.dumps({k: result[k] for k in ("fid", "kid", "n_samples", "training_step")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
