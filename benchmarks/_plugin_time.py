"""What runner benchmarks share: time inside plugins, and commands measured as child processes.

Plugin time is measured by wrapping every plugin entry point a grid uses (chain sampling and
application, ``restore``, ``score``); runner overhead is the rest of a run's wall time
(planning, hashing, image decoding and encoding, conversions, journal, tables). Degradation runs
in one process then (``LocalExecutor(workers=1)``) so its plugin time is seen too.

A first run is measured in a child process (``python -m benchmarks._plugin_time TOTALS.json
RESTORERS METRICS CONFIG``) so that its peak RSS is that process's alone; :func:`measure` reads
it with ``os.wait4``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def instrument(totals: dict[str, float], restorers: Sequence[str], metrics: Sequence[str]) -> None:
    """Wrap every plugin entry point used by a grid so its time is added to ``totals``."""
    from bench.chains import Chain
    from bench.registry import METRICS as METRIC_REGISTRY
    from bench.registry import RESTORERS as RESTORER_REGISTRY

    def timed(cls: type, method: str, bucket: str) -> None:
        original = getattr(cls, method)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[bucket] += time.perf_counter() - start

        setattr(cls, method, wrapper)

    timed(Chain, "sample", "degrade")
    timed(Chain, "apply", "degrade")
    for name in restorers:
        timed(RESTORER_REGISTRY.get(name), "restore", "restore")
    for name in metrics:
        timed(METRIC_REGISTRY.get(name), "score", "score")


def instrumented_run(
    config_path: Path, restorers: Sequence[str], metrics: Sequence[str]
) -> tuple[Any, float, dict[str, float]]:
    """Run a config in this process: its summary, wall seconds and plugin seconds by stage."""
    from bench.run.config import load_run_config
    from bench.run.executors import LocalExecutor
    from bench.run.runner import Runner

    totals: dict[str, float] = defaultdict(float)
    instrument(totals, restorers, metrics)
    start = time.perf_counter()
    summary = Runner(load_run_config(config_path), LocalExecutor(workers=1), progress=False).run()
    return summary, time.perf_counter() - start, dict(totals)


@dataclass(frozen=True)
class Measured:
    """A child process: wall seconds, CPU seconds (user + system: less sensitive to a busy
    machine), peak RSS (MiB) and exit status."""

    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    returncode: int
    killed: bool = False


def dr2bench(*args: str) -> list[str]:
    """The command line of ``dr2bench ARGS`` with this interpreter."""
    return [sys.executable, "-m", "bench.cli", *args]


def measure(
    command: Sequence[str], kill_when: Callable[[], bool] | None = None, check: bool = True
) -> Measured:
    """Run ``command`` (output discarded); with ``kill_when``, SIGKILL it once that is true.

    Raises:
        RuntimeError: it failed (and was not killed by us), when ``check`` is true.
    """
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed = False
    while kill_when is not None and process.poll() is None:
        if kill_when():
            process.kill()
            killed = True
            break
        time.sleep(0.2)
    # wait4 gives this child's own resource usage (RUSAGE_CHILDREN is a maximum over all)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    returncode = os.waitstatus_to_exitcode(status)
    process.returncode = returncode
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if check and returncode != 0 and not killed:
        raise RuntimeError(f"{' '.join(command)} exited {returncode}: {stderr[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(seconds, cpu, usage.ru_maxrss / 1024, returncode, killed)


def measure_instrumented(
    config_path: Path, restorers: Sequence[str], metrics: Sequence[str], totals_path: Path
) -> tuple[Measured, float, dict[str, float]]:
    """A first run in a child process: its measurement, the run's own seconds (interpreter
    start-up and imports left out) and plugin seconds by stage."""
    names = [",".join(restorers), ",".join(metrics)]
    module = [sys.executable, "-m", "benchmarks._plugin_time"]
    measured = measure([*module, str(totals_path), *names, str(config_path)])
    result = json.loads(totals_path.read_text())
    return measured, result["run_s"], result["plugin_s"]


def main(argv: Sequence[str]) -> None:
    totals_path, restorers, metrics, config_path = argv
    _, seconds, totals = instrumented_run(
        Path(config_path), restorers.split(","), metrics.split(",")
    )
    Path(totals_path).write_text(json.dumps({"run_s": seconds, "plugin_s": totals}))


if __name__ == "__main__":
    main(sys.argv[1:])
