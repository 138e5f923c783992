"""Speed and memory benchmarks; each module writes JSON to ``benchmarks/results/<name>.json``."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results")


def write_result(
    name: str, result: dict[str, Any], folder: Path = RESULTS, echo: bool = True
) -> Path:
    """Write one benchmark's result to ``folder/<name>.json``, stamped with the machine and the
    time, and print it (unless ``echo`` is false)."""
    import os

    payload = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
        **result,
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    if echo:
        print(json.dumps(payload, indent=2, sort_keys=True))
    return path
