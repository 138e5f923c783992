"""DR2 speed on CPU: images/s of the demo model at batch 1 and 16, and one official-size UNet step.

1. DR2 with the demo model (``dr2/demo/ddpm_celeba64.safetensors``; random weights of the same
   preset if it is not there, which does not change the speed): N = 4, tau = 35, default omega
   (55), so 21 network evaluations per image, on 64x64 inputs. Batch 16 should give at least twice
   the per-image throughput of batch 1.
2. Seconds per UNet forward of the official DR2 FFHQ-256 configuration (93.6 M parameters,
   random weights) at batch 1: ours (channels-last, fused attention) against the same network
   evaluated the way the official code does it (contiguous tensors, einsum attention with
   ``QKVAttentionLegacy``'s split, GroupNorm through float32 casts, out-of-place SiLU),
   interleaved round by round
   so both see the same machine load. The official code was measured at ~3.1 s/step on this
   2-core machine.

The machine is shared, so the load average is recorded with the numbers.

Everything is measured with 1 and with 2 torch threads: on a busy 2-core machine two OpenMP
threads can be several times slower than one.

Run: ``python -m benchmarks.dr2_speed [--threads 1 2]``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from pathlib import Path

import torch

from benchmarks import write_result

DEMO = Path(__file__).resolve().parents[1] / "dr2" / "demo" / "ddpm_celeba64.safetensors"
FACTOR, TAU = 4, 35


def demo_sampler():
    from dr2.demo_models import PRESETS
    from dr2.diffusion import GaussianDiffusion
    from dr2.model_io import load_model
    from dr2.sampler import DR2Sampler
    from dr2.unet import UNet

    if DEMO.is_file():
        model, config, _ = load_model(DEMO)
        source = DEMO.name
        diffusion = GaussianDiffusion(respacing="100", variance=config.variance)
    else:
        model, source = UNet(PRESETS["demo64"]), "random weights (demo64 preset)"
        diffusion = GaussianDiffusion(respacing="100", variance="fixed_small")
    return DR2Sampler(model, diffusion), source


def dr2_throughput(sampler, batch: int, images: int) -> dict[str, float]:
    """Images per second restoring ``images`` 64x64 faces in batches of ``batch``.

    ``wall`` is elapsed time; ``cpu`` divides by this process's CPU time instead, which on a
    shared machine measures the work done rather than the share of the cores obtained.
    """
    y = torch.rand(images, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    sampler.restore(y[:batch], list(range(batch)), FACTOR, TAU)  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for first in range(0, images, batch):
        chunk = y[first : first + batch]
        sampler.restore(chunk, list(range(first, first + len(chunk))), FACTOR, TAU)
    return {
        "wall": images / (time.perf_counter() - wall),
        "cpu": images / (time.process_time() - cpu),
    }


def _reference_attention_forward(self, x: torch.Tensor) -> torch.Tensor:
    """AttentionBlock as the official code computes it (QKVAttentionLegacy, einsum)."""
    b, c, *spatial = x.shape
    x = x.reshape(b, c, -1)
    normed = self.norm(x.float()).type(x.dtype)
    qkv = self.qkv(normed)
    heads = self.num_heads
    width, length = qkv.shape[1], qkv.shape[2]
    ch = width // (3 * heads)
    q, k, v = qkv.reshape(b * heads, ch * 3, length).split(ch, dim=1)
    scale = 1 / math.sqrt(math.sqrt(ch))
    weight = torch.einsum("bct,bcs->bts", q * scale, k * scale)
    weight = torch.softmax(weight.float(), dim=-1).type(weight.dtype)
    attended = torch.einsum("bts,bcs->bct", weight, v).reshape(b, -1, length)
    return (x + self.proj_out(attended)).reshape(b, c, *spatial)


def _reference_norm_forward(self, x: torch.Tensor) -> torch.Tensor:
    return torch.nn.GroupNorm.forward(self, x.float()).type(x.dtype)


def _reference_silu_forward(self, x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.silu(x)


def unet_step_seconds(rounds: int) -> dict[str, float]:
    """Median seconds per forward of the official configuration: ours and official-style."""
    from dr2.unet import UNet, UNetConfig
    from dr2.unet_blocks import AttentionBlock, GroupNorm32, NormSiLU

    torch.manual_seed(0)
    model = UNet(UNetConfig.dr2_ffhq256()).eval()
    x = torch.randn(1, 3, 256, 256)
    t = torch.tensor([500.0])
    ours, reference = [], []
    fast = AttentionBlock.forward, GroupNorm32.forward, NormSiLU.forward
    slow = _reference_attention_forward, _reference_norm_forward, _reference_silu_forward
    with torch.inference_mode():
        for _ in range(rounds + 1):  # the first round warms up both
            model.to(memory_format=torch.channels_last)
            start = time.perf_counter()
            model(x.contiguous(memory_format=torch.channels_last), t)
            ours.append(time.perf_counter() - start)
            model.to(memory_format=torch.contiguous_format)
            AttentionBlock.forward, GroupNorm32.forward, NormSiLU.forward = slow
            try:
                start = time.perf_counter()
                model(x, t)
                reference.append(time.perf_counter() - start)
            finally:
                AttentionBlock.forward, GroupNorm32.forward, NormSiLU.forward = fast
    return {
        "ours_s_per_step": statistics.median(ours[1:]),
        "official_style_s_per_step": statistics.median(reference[1:]),
        "ours_all": ours[1:],
        "official_style_all": reference[1:],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--images", type=int, default=16, help="images per throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="timed UNet steps per variant")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    sampler, source = demo_sampler()
    runs = {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        batch1 = dr2_throughput(sampler, 1, args.images)
        batch16 = dr2_throughput(sampler, 16, max(16, args.images))
        runs[f"{threads}_threads"] = {
            "dr2_demo_images_per_s_batch1": batch1,
            "dr2_demo_images_per_s_batch16": batch16,
            "dr2_demo_batch16_speedup_wall": batch16["wall"] / batch1["wall"],
            "dr2_demo_batch16_speedup_cpu": batch16["cpu"] / batch1["cpu"],
            "official_unet_256_batch1": unet_step_seconds(args.rounds),
            "load_average_after": os.getloadavg(),
        }
    write_result(
        "dr2_speed",
        {
            "load_average_before": load_before,
            "dr2_demo": {
                "model": source,
                "size": 64,
                "factor": FACTOR,
                "tau": TAU,
                "omega": sampler.resolve_omega(TAU, FACTOR, None),
                "target_speedup": 2.0,
            },
            "runs": runs,
            "official_code_reported_s_per_step": 3.1,
        },
    )


if __name__ == "__main__":
    main()
