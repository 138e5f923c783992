"""Runner overhead on a grid of cheap plugins, and the time of a fully cached rerun.

Grid: 50 HQ faces x classic severities 1-4 x 5 classical restorers = 1,000 rows, scored with
PSNR and SSIM. Time inside plugins is measured as ``benchmarks._plugin_time`` describes; runner
overhead is the rest of the first run's wall time. The cached rerun is timed as a whole
``dr2bench run`` command, interpreter start-up included. ``benchmarks.scale`` measures the same
at 12,000 and 120,000 rows.

Run: ``python -m benchmarks.runner_overhead`` (needs ``../shared/data/hq``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks import write_result
from benchmarks._plugin_time import instrumented_run

HQ = Path(__file__).resolve().parents[2] / "shared" / "data" / "hq"
RESTORERS = ["identity", "lanczos", "unsharp", "bilateral", "wiener"]
METRICS = ["psnr", "ssim"]


def main() -> None:
    if not HQ.is_dir():
        raise SystemExit(f"{HQ} is missing: this benchmark reads ../shared/data/hq")
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
        # degradation runs in one process there so that its plugin time can be measured
        summary, first_run, totals = instrumented_run(config_path, RESTORERS, METRICS)
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
