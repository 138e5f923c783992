"""Runner overhead on a grid of cheap plugins, and the time of a fully cached rerun.

Grid: 50 HQ faces x classic severities 1-4 x 5 classical restorers = 1,000 rows, scored with
PSNR and SSIM. Time inside plugins (chain sampling and application, ``restore``, ``score``) is
measured by wrapping them; runner overhead is the rest of the first run's wall time (planning,
hashing, image decoding and encoding, journal, tables). The cached rerun is timed as a whole
``dr2bench run`` command, interpreter start-up included.

Run: ``python -m benchmarks.runner_overhead`` (needs ``../shared/data/hq``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

from benchmarks import write_result

HQ = Path(__file__).resolve().parents[2] / "shared" / "data" / "hq"
RESTORERS = ["identity", "lanczos", "unsharp", "bilateral", "wiener"]
METRICS = ["psnr", "ssim"]


def _instrument(totals: dict[str, float]) -> None:
    """Wrap every plugin entry point used by the grid so its time is added to ``totals``."""
    from bench.chains import Chain
    from bench.registry import METRICS as METRIC_REGISTRY
    from bench.registry import RESTORERS as RESTORER_REGISTRY

    def timed(cls: type, method: str, bucket: str) -> None:
        original = getattr(cls, method)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[bucket] += time.perf_counter() - start

        setattr(cls, method, wrapper)

    timed(Chain, "sample", "degrade")
    timed(Chain, "apply", "degrade")
    for name in RESTORERS:
        timed(RESTORER_REGISTRY.get(name), "restore", "restore")
    for name in METRICS:
        timed(METRIC_REGISTRY.get(name), "score", "score")


def main() -> None:
    from bench.run.config import load_run_config
    from bench.run.executors import LocalExecutor
    from bench.run.runner import Runner

    if not HQ.is_dir():
        raise SystemExit(f"{HQ} is missing: this benchmark reads ../shared/data/hq")
    totals: dict[str, float] = defaultdict(float)
    _instrument(totals)
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "grid.yaml"
        config_path.write_text(
            yaml.safe_dump(
                {
                    "name": "overhead",
                    "datasets": [{"name": "hq", "kind": "folder", "path": str(HQ)}],
                    "degradations": [{"chain": "classic", "severities": [1, 2, 3, 4]}],
                    "restorers": RESTORERS,
                    "metrics": METRICS,
                    "limit": 50,
                    "batch_size": 8,
                    "output": str(Path(tmp) / "run"),
                }
            )
        )
        # degradation runs in one process here so that its plugin time can be measured
        executor = LocalExecutor(workers=1)
        start = time.perf_counter()
        summary = Runner(load_run_config(config_path), executor, progress=False).run()
        first_run = time.perf_counter() - start
        start = time.perf_counter()
        rerun = subprocess.run(
            [sys.executable, "-m", "bench.cli", "run", str(config_path), "--quiet"],
            capture_output=True,
            text=True,
            check=False,
        )
        cached = time.perf_counter() - start
    plugin_time = sum(totals.values())
    overhead = first_run - plugin_time
    write_result(
        "runner_overhead",
        {
            "rows": summary.rows,
            "first_run_s": round(first_run, 2),
            "plugin_time_s": {k: round(v, 2) for k, v in totals.items()},
            "runner_overhead_s": round(overhead, 2),
            "overhead_fraction_of_plugin_time": round(overhead / plugin_time, 3),
            "cached_rerun_s": round(cached, 2),
            "cached_rerun_output": rerun.stdout.strip().splitlines()[:1],
            "targets": {"overhead_fraction_below": 0.10, "cached_rerun_below_s": 2.0},
        },
    )


if __name__ == "__main__":
    main()
