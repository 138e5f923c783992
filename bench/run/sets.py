"""Set-level metrics (FID, KID) in a run: features per image, then one value per cell.

Features are cached per image (``cache/features/<metric>/<key>.npy``), so adding a restorer
extracts features only for its outputs; the features do not depend on the reference, so two labels
of one metric against different references share them. The reference set of a cell is, in order:
the metric's own ``reference`` parameter, the dataset's ``reference``, else the dataset's ground
truth. A reference that cannot be found (a statistics file missing from the weights folder) makes
the metric unavailable for those cells, with the file to get.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bench.contracts import Unavailable
from bench.files import hash_value
from bench.run import records, stages
from bench.run.units import FeatureItem
from bench.run.units import entry as journal_entry

if TYPE_CHECKING:
    from bench.run.config import DatasetSpec, GridPoint
    from bench.run.folder import RunFolder
    from bench.run.plan import Cell, Plan, Sample
    from bench.run.records import MetricInfo

Members = list[tuple["GridPoint", "Sample", str]]  # with the output's cache key


def feature_key(metric: MetricInfo, image_key: str) -> str:
    """The cache key of one image's features: the extractor, not the reference, decides them."""
    config = {key: value for key, value in metric.config.items() if key != "reference"}
    identity = {"metric": metric.plugin, "version": metric.version, "config": config}
    return hash_value(identity | {"image": image_key})


def _groups(plan: Plan) -> dict[tuple[Cell, str], Members]:
    groups: dict[tuple[Cell, str], Members] = {}
    for point in plan.points:
        for s in plan.samples:
            groups.setdefault((s.cell, point.label), []).append(
                (point, s, plan.restore_key(point, s))
            )
    return groups


def cell_references(instance: Any, datasets: tuple[DatasetSpec, ...]) -> dict[str, Any]:
    """Each dataset's reference for ``instance`` (see :func:`_reference`)."""
    return {spec.name: _reference(instance, spec.reference) for spec in datasets}


def feature_items(
    folder: RunFolder, plan: Plan, metric: MetricInfo, references: dict[str, Any]
) -> list[FeatureItem]:
    """The images whose features are still missing: the outputs, and the ground truth of the
    cells that compare with it; none of a cell whose reference cannot be used."""
    wanted: dict[str, str] = {}  # feature key -> image path
    usable = {name for name, ref in references.items() if not isinstance(ref, ReferenceProblem)}
    for s in plan.samples:
        if references[s.cell.dataset] is None and s.gt_key and folder.ok(s.lq_key):
            wanted[feature_key(metric, s.gt_key)] = str(folder.gt(s.cell.dataset, s.image_id))
    for point in plan.points:
        for s in plan.samples:
            key = plan.restore_key(point, s)
            if s.cell.dataset in usable and folder.ok(key):
                output = folder.output(point.label, *s.cell.where(), s.image_id)
                wanted[feature_key(metric, key)] = str(output)
    return [
        FeatureItem(key, path, str(folder.features(metric.plugin, key)))
        for key, path in wanted.items()
        if not folder.done(key, folder.features(metric.plugin, key))
    ]


def set_values(
    folder: RunFolder, plan: Plan, metric: MetricInfo, instance: Any, references: dict[str, Any]
) -> list[dict[str, Any]]:
    """The journal entries of the cells whose value is not computed yet."""
    entries = []
    for (cell, label), members in _groups(plan).items():
        reference = references[cell.dataset]
        key = set_key(folder, metric, cell, label, members, reference)
        if not folder.done(key):
            entries.append(_value(folder, instance, metric, key, members, reference))
    return entries


class ReferenceProblem:
    """Why a configured reference cannot be used: ``status`` is ``unavailable`` or ``failed``."""

    def __init__(self, status: str, error: str) -> None:
        self.status = status
        self.error = error
        self.fingerprint = f"{status}: {error}"


def _reference(instance: Any, dataset_reference: str | None) -> Any:
    """The cells' reference (statistics, or a :class:`ReferenceProblem`), or None for the GT.

    The metric's own ``reference`` parameter comes first, then the dataset's.
    """
    own = getattr(instance.params, "reference", None)
    if own is None and dataset_reference is not None and hasattr(instance.params, "reference"):
        instance = instance.replace(reference=dataset_reference)
    getter = getattr(instance, "configured_reference", None)
    try:
        return getter() if getter is not None else None
    except Unavailable as exc:
        return ReferenceProblem("unavailable", str(exc))
    except (OSError, ValueError) as exc:  # a reference folder or file that cannot be used
        return ReferenceProblem("failed", str(exc))


def _feature_keys(folder: RunFolder, metric: MetricInfo, members: Members) -> list[str]:
    keys = [feature_key(metric, out) for _, _, out in members]
    return [key for key in keys if folder.ok(key)]


def _reference_keys(folder: RunFolder, metric: MetricInfo, members: Members) -> list[str]:
    keys = [feature_key(metric, s.gt_key) for _, s, _ in members if s.gt_key]
    return [key for key in keys if folder.ok(key)]


def set_key(
    folder: RunFolder,
    metric: MetricInfo,
    cell: Cell,
    label: str,
    members: Members,
    reference: Any,
) -> str:
    """The cache key of a cell's value: the features it is computed from and its reference."""
    if reference is None:
        identity: Any = _reference_keys(folder, metric, members)
    else:
        identity = {"source": reference_source(reference), "content": reference.fingerprint}
    return hash_value(
        metric.identity()
        | {
            "cell": cell.parts(),
            "restorer": label,
            "features": _feature_keys(folder, metric, members),
            "reference": identity,
        }
    )


def reference_source(reference: Any) -> str:
    """What a cell's reference is, for records: a path, or the ground truth."""
    if reference is None:
        return "ground truth"
    return getattr(reference, "source", "") or str(getattr(reference, "error", ""))


def _value(
    folder: RunFolder,
    instance: Any,
    metric: MetricInfo,
    key: str,
    members: Members,
    reference: Any,
) -> dict[str, Any]:
    def entry(status: str, error: str | None, value: float | None, n: int, **more: Any) -> dict:
        return journal_entry(
            key, "set", status, error, config=metric.config, value=value, n=n, **more
        )

    if isinstance(reference, ReferenceProblem):
        return entry(reference.status, reference.error, None, 0)
    unavailable = _unavailable(folder, metric, members)
    if unavailable:
        return entry("unavailable", unavailable, None, 0)
    features = _load(folder, metric, _feature_keys(folder, metric, members))
    if reference is None:
        reference = _load(folder, metric, _reference_keys(folder, metric, members))
        if len(reference) == 0:
            why = (
                "no reference set: this dataset has no ground truth; give the dataset a "
                "'reference: PATH' (under datasets) or the metric one (under metrics: "
                f"'name: {metric.plugin}' with 'params: {{reference: PATH}}')"
            )
            return entry("failed", why, None, len(features))
    result = stages.set_value(instance, features, reference)
    extra = {"extra": result.extra} if result.status == "ok" else {}
    return entry(result.status, result.error, result.value, result.n, **extra)


def _unavailable(folder: RunFolder, metric: MetricInfo, members: Members) -> str | None:
    """Why the metric could not extract features here (missing weights), if it could not."""
    for _, _, out in members:
        entry = folder.entry(feature_key(metric, out)) or {}
        if entry.get("status") == "unavailable":
            return entry.get("error")
    return None


def _load(folder: RunFolder, metric: MetricInfo, keys: list[str]) -> np.ndarray:
    rows = [np.load(folder.features(metric.plugin, k), allow_pickle=False) for k in keys]
    return np.stack(rows) if rows else np.zeros((0, 0))


def set_rows(
    folder: RunFolder,
    plan: Plan,
    metrics: list[MetricInfo],
    references: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The rows of sets.parquet; ``references`` are each set metric's cell references."""
    rows = []
    for metric in metrics:
        if metric.kind != "set":
            continue
        by_dataset = references.get(metric.name, {})
        for (cell, label), members in _groups(plan).items():
            reference = by_dataset.get(cell.dataset)
            entry = folder.entry(set_key(folder, metric, cell, label, members, reference))
            if entry is None:
                entry = {"status": "missing", "error": "not computed"}
            entry = entry | {"reference": reference_source(reference)}
            rows.append(records.set_row(cell, members[0][0], metric.name, entry))
    return rows
