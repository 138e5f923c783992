"""Seconds per 512x512 image of the native networks (``spar``, ``gfpgan``, ``codeformer``) on CPU.

The networks get their fresh random initialisation (no checkpoint is needed: the cost does not
depend on the weights' values). Each restorer runs one warm-up image, then ``REPEATS`` timed
images, with one torch thread and with one per core: on a shared machine the faster choice
depends on the load, which is recorded beside the timings.
"""

from __future__ import annotations

import os
import time

from benchmarks import write_result

NAMES = ("spar", "gfpgan", "codeformer")
REPEATS = 2


def time_restorer(name: str, threads: int) -> dict[str, float]:
    """Warm up, then time ``REPEATS`` single-image restorations of ``name`` on ``threads``."""
    import torch

    from bench.registry import RESTORERS

    torch.set_num_threads(threads)
    restorer = RESTORERS.create(name)
    restorer.network = restorer.build_network().eval().requires_grad_(False)
    image = torch.rand(1, 3, 512, 512, generator=torch.Generator().manual_seed(0))
    restorer.restore(image, [0])
    seconds = []
    for seed in range(REPEATS):
        started = time.perf_counter()
        restorer.restore(image, [seed])
        seconds.append(time.perf_counter() - started)
    return {"best_s": round(min(seconds), 3), "mean_s": round(sum(seconds) / len(seconds), 3)}


def main() -> None:
    import torch

    cores = os.cpu_count() or 1
    default_threads = torch.get_num_threads()
    load_before = os.getloadavg()
    timings = {
        name: {f"{threads}_threads": time_restorer(name, threads) for threads in sorted({1, cores})}
        for name in NAMES
    }
    torch.set_num_threads(default_threads)
    write_result(
        "native_speed",
        {
            "what": "seconds per 512x512 image, batch of 1, CPU, random weights, torch "
            + torch.__version__,
            "repeats": REPEATS,
            "load_average_1min_before_after": [
                round(load_before[0], 2),
                round(os.getloadavg()[0], 2),
            ],
            "seconds_per_image": timings,
        },
    )


if __name__ == "__main__":
    main()
