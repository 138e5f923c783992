"""GPU throughput: DR2 at the official size, the demo study end to end, FID features and LPIPS.

1. DR2 with the official FFHQ-256 UNet (``UNetConfig.dr2_ffhq256()``, 93.6 M parameters, random
   weights: the speed is the same), K = 100, N = 8, tau = 35 (so omega = 60: 26 network
   evaluations per image), batched sampling, in images/s at batch 1, 8 and 32, in fp32, under
   bf16 autocast and with ``torch.compile`` (fp32; compile time is recorded apart, not timed).
2. ``dr2bench run configs/demo.yaml --device DEVICE`` end to end, as a child process (wall time,
   peak RSS).
3. FID feature extraction (Inception pool3) and LPIPS (AlexNet), images/s at 256x256, batch 32.
4. A projected wall time of a 120,000-row study whose rows are DR2 rows scored with LPIPS and FID
   features: rows x (DR2 + LPIPS + FID seconds per image + runner overhead per row). The runner
   overhead comes from ``results/scale.json`` (measured on the CPU machine: an upper bound) when
   it is there. Two projections: DR2 at batch 1 (``dr2`` samples image by image by default,
   ``batch_invariant``), and at the best batch and variant measured.

Each number is timed for at least ``Setup.min_seconds`` after a warm-up call. Results are written
after every section, so a run stopped by a time limit keeps what it measured.

Run: ``python -m benchmarks.gpu`` on a CUDA device (under 8 minutes on one H200), or
``python -m benchmarks.gpu --tiny``: the same sections with a tiny model (16x16, batch 1 and 2,
tau 95: 5 network evaluations, no compile), 32x32 metric inputs at batch 1 and a one-image demo
run (identity, PSNR), each timed over one call, on CPU with one torch thread: about 15 s of CPU
time (``tests/benchmarks/test_gpu.py`` runs it). Without a CUDA device the tiny mode runs (as in
``make bench``). Writes ``results/gpu.json`` (``results/gpu_tiny.json``).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from benchmarks import RESULTS, write_result
from benchmarks._plugin_time import dr2bench, measure

FACTOR, STEPS = 8, 100
STUDY_ROWS = 120_000
DEMO = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"


@dataclass(frozen=True)
class Setup:
    """What one mode measures.

    Attributes:
        unet: ``official`` or a preset of ``dr2.demo_models``.
        tau: DR2's output step (N is always ``FACTOR``).
        batches: DR2 batch sizes.
        variants: ``fp32``, ``bf16`` (autocast), ``compile`` (fp32).
        metric_size: Side of the metrics' input images.
        metric_batch: The metrics' batch size.
        min_seconds: Each number is timed this long after a warm-up call (0: one call, no
            warm-up: a smoke test).
        demo: Keys of ``configs/demo.yaml`` replaced for the end-to-end run.
    """

    unet: str
    tau: int
    batches: tuple[int, ...]
    variants: tuple[str, ...]
    metric_size: int
    metric_batch: int
    min_seconds: float
    demo: dict[str, Any] = field(default_factory=dict)


FULL = Setup("official", 35, (1, 8, 32), ("fp32", "bf16", "compile"), 256, 32, 2.0)
TINY = Setup(
    "tiny",
    95,  # omega = 99: 5 network evaluations, not 26
    (1, 2),
    ("fp32", "bf16"),
    32,
    1,
    0.0,
    {
        "degradations": [{"chain": "classic", "severities": [2]}],
        "restorers": ["identity"],
        "metrics": ["psnr"],
        "limit": 1,
    },
)


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def images_per_s(step: Callable[[], Any], images: int, device: str, min_seconds: float) -> float:
    """Images per second of ``step`` (``images`` each) over ``min_seconds`` after a warm-up
    call, or over one call when ``min_seconds`` is 0."""
    if min_seconds:
        step()
    synchronize(device)
    calls, start = 0, time.perf_counter()
    while calls == 0 or time.perf_counter() - start < min_seconds:
        step()
        synchronize(device)
        calls += 1
    return calls * images / (time.perf_counter() - start)


def dr2_throughput(setup: Setup, device: str) -> dict[str, Any]:
    """DR2's images/s by variant and batch; ``compile_s`` is the first compiled call's time."""
    import torch

    from dr2.demo_models import PRESETS
    from dr2.diffusion import GaussianDiffusion
    from dr2.sampler import DR2Sampler
    from dr2.unet import UNet, UNetConfig

    torch.manual_seed(0)
    official = setup.unet == "official"
    config = UNetConfig.dr2_ffhq256() if official else PRESETS[setup.unet]
    variance: Literal["learned_range", "fixed_small"] = (
        "learned_range" if config.learn_sigma else "fixed_small"
    )
    diffusion = GaussianDiffusion(respacing=str(STEPS), variance=variance)
    model = UNet(config)
    size = config.image_size
    result: dict[str, Any] = {"unet": setup.unet, "image_size": size, "images_per_s": {}}
    for variant in setup.variants:
        sampler = DR2Sampler(
            model,
            diffusion,
            device=device,
            autocast_dtype=torch.bfloat16 if variant == "bf16" else None,
            compile=variant == "compile",
        )
        if variant == "compile":
            start = time.perf_counter()
            sampler.restore(torch.zeros(1, 3, size, size), [0], FACTOR, setup.tau)
            synchronize(device)
            result["compile_s"] = time.perf_counter() - start
        result["images_per_s"][variant] = {
            f"batch{batch}": sampler_rate(sampler, setup, batch, size, device)
            for batch in setup.batches
        }
    omega = sampler.resolve_omega(setup.tau, FACTOR, None)
    result["network_evaluations_per_image"] = omega - setup.tau + 1
    return result


def sampler_rate(sampler: Any, setup: Setup, batch: int, size: int, device: str) -> float:
    """DR2's images/s on ``batch`` random ``size`` x ``size`` inputs."""
    import torch

    y = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    y = (y * 2 - 1).to(device)
    seeds = list(range(batch))
    return images_per_s(
        lambda: sampler.restore(y, seeds, FACTOR, setup.tau), batch, device, setup.min_seconds
    )


def metric_throughput(setup: Setup, device: str) -> dict[str, float | str]:
    """images/s of FID feature extraction and LPIPS (or why a metric cannot run here)."""
    import torch

    from bench.contracts import Unavailable
    from bench.registry import METRICS

    shape = (setup.metric_batch, 3, setup.metric_size, setup.metric_size)
    images = torch.rand(shape, generator=torch.Generator().manual_seed(0)).to(device)
    refs = torch.rand(shape, generator=torch.Generator().manual_seed(1)).to(device)
    result: dict[str, float | str] = {}
    calls: dict[str, tuple[str, Callable[[Any], Any]]] = {
        "fid_features": ("fid", lambda metric: metric.features(images)),
        "lpips": ("lpips", lambda metric: metric.score(images, refs)),
    }
    for name, (plugin, call) in calls.items():
        metric = METRICS.create(plugin)
        try:
            metric.load(device)
        except (Unavailable, FileNotFoundError) as exc:
            result[name] = f"unavailable: {exc}"
            continue
        step = functools.partial(call, metric)
        result[name] = images_per_s(step, setup.metric_batch, device, setup.min_seconds)
    return result


def demo_run(setup: Setup, device: str) -> dict[str, Any]:
    """``dr2bench run configs/demo.yaml --device DEVICE`` (with ``setup.demo``) as a child
    process; exit status 1 means some results failed (see its run.log)."""
    import yaml

    with tempfile.TemporaryDirectory(prefix="dr2bench-gpu-") as tmp:
        config = Path(tmp) / "demo.yaml"
        config.write_text(yaml.safe_dump(yaml.safe_load(DEMO.read_text()) | setup.demo))
        args = ("--device", device, "--output", str(Path(tmp) / "demo"), "--quiet")
        measured = measure(dr2bench("run", str(config), *args), check=False)
    return {
        "command": f"dr2bench run configs/demo.yaml --device {device}",
        "config_changes": setup.demo,
        "exit_status": measured.returncode,
        "s": measured.seconds,
        "peak_rss_mib": measured.peak_rss_mib,
    }


def projection(dr2: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """Projected seconds of a ``STUDY_ROWS``-row DR2 study (see the module docstring)."""
    rates = dr2["images_per_s"]
    metric_s = sum(1 / rate for rate in metrics.values() if isinstance(rate, float))
    overhead_s = runner_overhead_per_row()
    per_row_batch1 = 1 / rates["fp32"]["batch1"]
    per_row_best = 1 / max(rate for variant in rates.values() for rate in variant.values())
    return {
        "rows": STUDY_ROWS,
        "metric_s_per_row": metric_s,
        "runner_overhead_s_per_row": overhead_s,
        "dr2_batch1_fp32_s": STUDY_ROWS * (per_row_batch1 + metric_s + overhead_s),
        "dr2_best_batched_s": STUDY_ROWS * (per_row_best + metric_s + overhead_s),
    }


def runner_overhead_per_row() -> float:
    """The runner's overhead per row at 12,000 rows (``results/scale.json``), else 0."""
    path = RESULTS / "scale.json"
    if not path.is_file():
        return 0.0
    sizes = json.loads(path.read_text()).get("sizes", [])
    return next((s["overhead_seconds_per_row"] for s in sizes if "runner_overhead_s" in s), 0.0)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny model on CPU (a smoke test)")
    parser.add_argument("--device", help="default: cuda when there is one (cpu with --tiny)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for the JSON")
    args = parser.parse_args(argv)
    tiny = args.tiny or (args.device is None and not torch.cuda.is_available())
    if tiny and not args.tiny:
        print("benchmarks.gpu: no CUDA device here, so the --tiny mode runs (on CPU)")
    setup = TINY if tiny else FULL
    device = args.device or ("cpu" if tiny else "cuda")
    if device == "cpu":
        torch.set_num_threads(1)  # two OpenMP threads on a busy 2-core machine run far slower
    name = "gpu_tiny" if tiny else "gpu"
    result: dict[str, Any] = {
        "device": torch.cuda.get_device_name(device) if device.startswith("cuda") else device,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_average_before": os.getloadavg(),
        "settings": {"N": FACTOR, "K": STEPS} | asdict(setup),
        "seconds": {},
    }
    sections: list[tuple[str, Callable[[], Any]]] = [
        ("dr2", lambda: dr2_throughput(setup, device)),
        ("metrics_images_per_s", lambda: metric_throughput(setup, device)),
        ("demo_run", lambda: demo_run(setup, device)),
        ("projected_study", lambda: projection(result["dr2"], result["metrics_images_per_s"])),
    ]
    for section, compute in sections:
        start = time.perf_counter()
        result[section] = compute()
        result["seconds"][section] = time.perf_counter() - start
        write_result(name, result, folder=args.results, echo=section == sections[-1][0])
    return result


if __name__ == "__main__":
    main()
