"""Expanding a run config into samples and grid points, with the cache key of every result.

A *cell* is (dataset, chain, severity, seed); a *sample* is one image in one cell. Cache keys are
sha256 hashes of everything that changes a result, chained stage to stage:

- LQ image: the source file's bytes, chain name and version, severity, seed, dataset and id;
- restored image: the LQ key, restorer name, version, parameters, weights hashes and, for
  stochastic restorers, the image's seed;
- metric value: the restored image's key, the reference image's key, metric name, version, config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from bench.contracts import Item
from bench.datasets import DatasetError
from bench.files import cached_sha256, hash_value
from bench.registry import DATASETS
from bench.run.config import GridPoint, RunConfig, grid_points
from bench.seeding import NO_CHAIN, image_seed

if TYPE_CHECKING:
    from bench.run.records import MetricInfo


@dataclass(frozen=True)
class Cell:
    """The images of one dataset under one degradation setting and seed."""

    dataset: str
    dataset_kind: str  # synthetic | paired | real
    chain: str
    severity: int
    seed: int

    def parts(self) -> tuple[str, str, str, str]:
        return (self.dataset, self.chain, str(self.severity), str(self.seed))

    def where(self) -> tuple[str, str, int, int]:
        """``(dataset, chain, severity, seed)``: where its images are in a run folder."""
        return (self.dataset, self.chain, self.severity, self.seed)


@dataclass(frozen=True)
class Sample:
    """One image of one cell: where it comes from, its LQ key and its seed."""

    cell: Cell
    image_id: str
    source: Path
    gt: Path | None
    lq_key: str
    gt_key: str | None
    image_seed: int
    problem: str | None = None


@dataclass(frozen=True)
class Plan:
    """Everything a run will compute, and the cache key of every result (each hashed once)."""

    config: RunConfig
    samples: list[Sample]
    points: list[GridPoint]
    skipped: dict[str, list[str]] = field(default_factory=dict)
    chains: dict[str, str] = field(default_factory=dict)  # a chain's name -> what load_chain takes
    # the cache keys, memoised (a pure function of the fields above)
    restore_keys: dict[tuple[str, str], str] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    score_keys: dict[tuple[str, str], str | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def restore_key(self, point: GridPoint, sample: Sample) -> str:
        """The cache key of ``point``'s output for ``sample``."""
        memo = (point.label, sample.lq_key)
        if memo not in self.restore_keys:
            self.restore_keys[memo] = point.restore_key(sample.lq_key, sample.image_seed)
        return self.restore_keys[memo]

    def score_key(self, metric: MetricInfo, point: GridPoint, sample: Sample) -> str | None:
        """The cache key of a per-image metric value, or ``None`` where the metric does not
        apply (a paired metric on an image without the reference it compares with)."""
        out = self.restore_key(point, sample)
        memo = (metric.name, out)
        if memo not in self.score_keys:
            self.score_keys[memo] = _score_key(metric, out, sample)
        return self.score_keys[memo]


def _score_key(metric: MetricInfo, out: str, sample: Sample) -> str | None:
    reference = None
    if metric.kind == "paired":
        reference = sample.lq_key if metric.reference == "input" else sample.gt_key
        if reference is None:
            return None
    return hash_value(metric.identity() | {"out": out, "ref": reference})


def make_plan(config: RunConfig) -> Plan:
    """Expand ``config``: list the datasets, hash their files and key every sample."""
    samples: list[Sample] = []
    skipped: dict[str, list[str]] = {}
    chains: dict[str, str] = {}
    for spec in config.datasets:
        dataset = DATASETS.create(spec.kind, **spec.params)
        listing = getattr(dataset, "skipped", None)  # files left out, for datasets that know
        if listing is not None and (notes := listing()):
            skipped[spec.name] = notes
        items = dataset.items()[: config.limit] if config.limit else dataset.items()
        if not items:
            raise DatasetError(f"dataset '{spec.name}' has no images ({_where(spec.params)})")
        for item in items:
            _check_id(spec.name, item)
        kind = _dataset_kind(items)
        settings = _settings(config, kind)
        if not settings:
            raise DatasetError(
                f"dataset '{spec.name}' holds clean images to degrade, but the config lists no "
                "degradations: add 'degradations:', or mark real low-quality images 'paired: false'"
            )
        for chain, severity, chain_identity, source in settings:
            chains[chain] = source
            for seed in config.all_seeds():
                cell = Cell(spec.name, kind, chain, severity, seed)
                samples.extend(_sample(cell, item, chain_identity) for item in items)
    points = grid_points(config)
    return Plan(config=config, samples=samples, points=points, skipped=skipped, chains=chains)


def _where(params: dict[str, object]) -> str:
    folders = [f"{key}: {value}" for key, value in params.items() if key in ("path", "lq", "gt")]
    return ", ".join(folders) or "no folder given"


def _dataset_kind(items: list[Item]) -> str:
    if all(i.lq is None for i in items):
        return "synthetic"
    return "paired" if any(i.gt is not None for i in items) else "real"


def _settings(config: RunConfig, kind: str) -> list[tuple[str, int, str, str]]:
    """(chain name, severity, chain identity, chain as load_chain takes it) per setting."""
    if kind != "synthetic":
        return [(NO_CHAIN, 0, "", NO_CHAIN)]
    from bench.chains import load_chain

    settings = []
    for spec in config.degradations:
        chain = load_chain(spec.chain)
        identity = f"{chain.version}:{chain.definition_hash()}"
        settings += [(chain.name, severity, identity, spec.chain) for severity in spec.severities]
    return settings


def _sample(cell: Cell, item: Item, chain_identity: str) -> Sample:
    source = item.gt if cell.dataset_kind == "synthetic" else item.lq
    assert source is not None
    gt_key = None
    if item.gt is not None:
        gt = {
            "stage": "gt",
            "source": cached_sha256(item.gt),
            "dataset": cell.dataset,
            "id": item.id,
        }
        gt_key = hash_value(gt)
    lq_key = hash_value(
        {
            "stage": "lq",
            "source": cached_sha256(source),
            "gt": gt_key,
            "cell": cell.parts(),
            "chain": chain_identity,
            "id": item.id,
        }
    )
    seed = image_seed(cell.seed, cell.dataset, item.id, cell.chain, cell.severity)
    return Sample(cell, item.id, source, item.gt, lq_key, gt_key, seed, item.problem)


def _check_id(dataset: str, item: Item) -> None:
    """Image ids become paths inside the run folder: refuse anything that could escape it."""
    safe = isinstance(item.id, str) and "\x00" not in item.id
    parts = PurePosixPath(item.id).parts if safe else ()
    if not parts or PurePosixPath(item.id).is_absolute() or ".." in parts:
        raise DatasetError(f"dataset '{dataset}': image id {item.id!r} is not a safe relative path")


def missing_weights(plan: Plan) -> list[tuple[str, str]]:
    """``(restorer label, why)`` for each weights file a grid point needs and cannot find."""
    from bench.registry import RESTORERS

    return [
        (point.label, why)
        for point in plan.points
        for why in RESTORERS.create(point.name, **point.params).missing_weights()
    ]
