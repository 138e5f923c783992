"""A DR2 sweep over a grid of N and tau, as a run config for the grid runner.

The config degrades one folder of clean faces by the chosen chains and severities, restores it
with the DR2 restorer over the product of the low-pass factors N and output steps tau (its other
parameters fixed), beside the baselines, and scores it. Grid points get the runner's labels
``dr2[N=4,tau=20]`` and carry ``N`` and ``tau`` in their parameters, which is what the reports'
trade-off figure (:mod:`reports.tradeoff`) collects: fidelity (PSNR) against quality (FID, else
NIQE), with the Pareto front. The YAML is written into the run folder (``sweep.yaml``) so the same
study can be rerun or extended with ``dr2bench run``.

Example:
    >>> spec = SweepSpec(Path("../shared/data/hq"), Path("runs/sweep"), factors=(4, 8))
    >>> sweep_config(spec)["restorers"][1]["grid"]
    {'N': [4, 8], 'tau': [20, 35, 50]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.run.summary import RunSummary

CONFIG_NAME = "sweep.yaml"


@dataclass(frozen=True)
class SweepSpec:
    """What to sweep.

    Attributes:
        input: Folder of clean faces (degraded by the run).
        output: The run folder.
        factors: Low-pass factors N of the grid.
        taus: Output steps tau of the grid.
        restorer: The DR2 restorer's registered name.
        params: Its fixed parameters (``K``, ``omega``, ``weights``, ...).
        baselines: Restorers run beside the grid, for context in the trade-off figure.
        chains: Degradation chains.
        severities: Their severities.
        metrics: Metrics; the trade-off needs a fidelity (psnr or ids) and a quality (fid or
            niqe) metric.
        name: The run's name.
        seed: Run seed.
        limit: First N images only.
        batch_size: Images per restorer call.
        device: Torch device.
    """

    input: Path
    output: Path
    factors: tuple[int, ...] = (4, 8, 16)
    taus: tuple[int, ...] = (20, 35, 50)
    restorer: str = "dr2"
    params: dict[str, Any] = field(default_factory=dict)
    baselines: tuple[str, ...] = ("identity",)
    chains: tuple[str, ...] = ("classic",)
    severities: tuple[int, ...] = (3,)
    metrics: tuple[str, ...] = ("psnr", "fid")
    name: str = "dr2_sweep"
    seed: int = 0
    limit: int | None = None
    batch_size: int = 8
    device: str = "cpu"


def sweep_config(spec: SweepSpec) -> dict[str, Any]:
    """The run config mapping of a sweep (see ``docs/running.md`` for its keys)."""
    grid = {"name": spec.restorer, "grid": {"N": list(spec.factors), "tau": list(spec.taus)}}
    if spec.params:
        grid["params"] = dict(spec.params)
    return {
        "name": spec.name,
        "seed": spec.seed,
        "datasets": [{"name": Path(spec.input).name or "faces", "path": str(spec.input)}],
        "degradations": [
            {"chain": chain, "severities": list(spec.severities)} for chain in spec.chains
        ],
        "restorers": [*spec.baselines, grid],
        "metrics": list(spec.metrics),
        "output": str(spec.output),
        "batch_size": spec.batch_size,
        "device": spec.device,
        "limit": spec.limit,
    }


def write_sweep_config(spec: SweepSpec) -> Path:
    """Write ``OUTPUT/sweep.yaml``, check it as ``dr2bench run`` would, and return its path.

    Raises:
        bench.config.ConfigError: an unknown restorer, parameter, chain or metric, naming it.
    """
    import yaml

    from bench.files import atomic_write_text
    from bench.run.config import load_run_config

    path = Path(spec.output) / CONFIG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, yaml.safe_dump(sweep_config(spec), sort_keys=False))
    load_run_config(path)
    return path


def run_sweep(
    spec: SweepSpec, executor: str = "local", resume: bool = False, progress: bool = True
) -> RunSummary:
    """Write the config and run it through :class:`bench.run.runner.Runner` (cached)."""
    from bench.run.config import load_run_config
    from bench.run.executors import make_executor
    from bench.run.runner import Runner

    config = load_run_config(write_sweep_config(spec))
    pool = make_executor(executor)
    try:
        runner = Runner(config, pool, progress=progress, companions=(CONFIG_NAME,))
        return runner.run(resume=resume)
    finally:
        pool.close()
