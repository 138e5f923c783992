"""Report speed: bootstrap throughput, the statistics of a large run, and full report builds.

Runs on synthetic run folders (``tests/reports/synthetic_run.py``): 7 restorers, 2 chains x 5
severities plus a real set, 2 seeds. Writes ``benchmarks/results/reports.json``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import write_result


def _seconds(function, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    from reports.build import build_report
    from reports.pairwise import compare_restorers
    from reports.results import load_results
    from reports.stats import bootstrap_ci
    from reports.summary import summarize
    from tests.reports.synthetic_run import write_synthetic_run

    values = np.random.default_rng(0).normal(size=1000)
    result: dict = {
        "load_average_1min_at_start": os.getloadavg()[0],  # the machine is shared: context
        "bootstrap_ci_n1000_b2000_s": _seconds(lambda: bootstrap_ci(values), repeat=5),
    }
    with tempfile.TemporaryDirectory() as folder:
        small = write_synthetic_run(Path(folder) / "small")
        ids = tuple(f"{i:04d}.png" for i in range(100))
        large = write_synthetic_run(Path(folder) / "large", images=False, synthetic_ids=ids)
        run = load_results(large)
        result["large_run_records"] = len(run.records)
        result["large_summary_s"] = _seconds(lambda: summarize(run))
        result["large_pairwise_s"] = _seconds(lambda: compare_restorers(run))
        result["large_pairwise_comparisons"] = len(compare_restorers(run))
        result["small_run_records"] = len(load_results(small).records)
        result["small_full_report_s"] = _seconds(lambda: build_report(small, Path(folder) / "r1"))
        result["large_full_report_s"] = _seconds(lambda: build_report(large, Path(folder) / "r2"))
        html = Path(folder) / "r1" / "report.html"
        result["small_html_bytes"] = html.stat().st_size
    write_result("reports", result)


if __name__ == "__main__":
    main()
