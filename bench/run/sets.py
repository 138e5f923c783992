"""Set-level metrics (FID, KID) in a run: features per image, then one value per cell.

Features are cached per image (``cache/features/<metric>/<key>.npy``), so adding a restorer
extracts features only for its outputs; the features do not depend on the reference, so two labels
of one metric against different references share them. The reference set of a cell is, in order:
the metric's own ``reference`` parameter, the dataset's ``reference``, else the dataset's ground
truth. A reference that cannot be found (a statistics file missing from the weights folder) makes
the metric unavailable for those cells, with the file to get.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.contracts import Unavailable
from bench.files import hash_value
from bench.registry import METRICS
from bench.run import records, work

if TYPE_CHECKING:
    from bench.run.plan import Cell, Plan, Run, Sample
    from bench.run.runner import MetricInfo, Runner


def feature_key(metric: MetricInfo, image_key: str) -> str:
    """The cache key of one image's features: the extractor, not the reference, decides them."""
    config = {key: value for key, value in metric.config.items() if key != "reference"}
    identity = {"metric": metric.plugin, "version": metric.version, "config": config}
    return hash_value(identity | {"image": image_key})


def feature_path(runner: Runner, metric: MetricInfo, key: str) -> Path:
    return runner.dir / "cache" / "features" / metric.plugin / f"{key}.npy"


def _groups(runner: Runner, plan: Plan) -> dict[tuple[Cell, str], list[tuple[Run, Sample]]]:
    groups: dict[tuple[Cell, str], list[tuple[Run, Sample]]] = {}
    for run in plan.runs:
        for s in plan.samples:
            groups.setdefault((s.cell, run.label), []).append((run, s))
    return groups


def compute_set_metric(runner: Runner, plan: Plan, metric: MetricInfo) -> None:
    """Extract the missing features, then compute the value of every cell not yet computed."""
    instance = METRICS.create(metric.plugin, **_params(metric))
    references = {
        spec.name: _reference(instance, spec.reference) for spec in runner.config.datasets
    }
    runner.set_references[metric.name] = references
    wanted: dict[str, str] = {}  # feature key -> image path
    usable = {name for name, ref in references.items() if not isinstance(ref, ReferenceProblem)}
    for s in plan.samples:
        gt_wanted = references[s.cell.dataset] is None and s.gt_key
        if gt_wanted and (runner.journal.get(s.lq_key) or {}).get("status") == "ok":
            wanted[feature_key(metric, s.gt_key)] = str(runner.gt(s))
    for run in plan.runs:
        for s in plan.samples:
            if s.cell.dataset in usable and runner._out_ok(run, s):
                wanted[feature_key(metric, run.restore_key(s))] = str(runner.out(run, s))
    items = [
        {"key": k, "path": p, "feature_path": str(feature_path(runner, metric, k))}
        for k, p in wanted.items()
        if not runner._done(k, feature_path(runner, metric, k))
    ]
    size = runner.config.batch_size
    units = [
        (metric.plugin, metric.params_json, runner.config.device, items[i : i + size])
        for i in range(0, len(items), size)
    ]
    runner._count(f"features {metric.name}", len(items))
    runner._execute(
        f"features {metric.name}", work.features_unit, units, total=len(items), kind="feat"
    )
    entries = []
    for (cell, label), members in _groups(runner, plan).items():
        reference = references[cell.dataset]
        key = set_key(runner, metric, cell, label, members, reference)
        if runner._done(key):
            continue
        entries.append(_value(runner, instance, metric, key, members, reference))
    runner.journal.append(entries)
    runner.summary.unavailable.update(e["error"] for e in entries if e["status"] == "unavailable")


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


def _params(metric: MetricInfo) -> dict[str, Any]:
    import json

    return json.loads(metric.params_json)


def _feature_keys(
    runner: Runner, metric: MetricInfo, members: list[tuple[Run, Sample]]
) -> list[str]:
    keys = []
    for run, s in members:
        key = feature_key(metric, run.restore_key(s))
        if (runner.journal.get(key) or {}).get("status") == "ok":
            keys.append(key)
    return keys


def _reference_keys(
    runner: Runner, metric: MetricInfo, members: list[tuple[Run, Sample]]
) -> list[str]:
    keys = []
    for _, s in members:
        if s.gt_key:
            key = feature_key(metric, s.gt_key)
            if (runner.journal.get(key) or {}).get("status") == "ok":
                keys.append(key)
    return keys


def set_key(
    runner: Runner,
    metric: MetricInfo,
    cell: Cell,
    label: str,
    members: list[tuple[Run, Sample]],
    reference: Any,
) -> str:
    if reference is None:
        identity: Any = _reference_keys(runner, metric, members)
    else:
        identity = {"source": reference_source(reference), "content": reference.fingerprint}
    return hash_value(
        metric.identity()
        | {
            "cell": cell.parts(),
            "restorer": label,
            "features": _feature_keys(runner, metric, members),
            "reference": identity,
        }
    )


def reference_source(reference: Any) -> str:
    """What a cell's reference is, for records: a path, or the ground truth."""
    if reference is None:
        return "ground truth"
    return getattr(reference, "source", "") or str(getattr(reference, "error", ""))


def _value(
    runner: Runner,
    instance: Any,
    metric: MetricInfo,
    key: str,
    members: list[tuple[Run, Sample]],
    reference: Any,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"k": key, "kind": "set", "config": metric.config}
    if isinstance(reference, ReferenceProblem):
        return entry | {"status": reference.status, "value": None, "n": 0, "error": reference.error}
    unavailable = _unavailable(runner, metric, members)
    if unavailable:
        return entry | {"status": "unavailable", "value": None, "n": 0, "error": unavailable}
    features = _load(runner, metric, _feature_keys(runner, metric, members))
    if reference is None:
        reference = _load(runner, metric, _reference_keys(runner, metric, members))
        if len(reference) == 0:
            return entry | {
                "status": "failed",
                "value": None,
                "n": len(features),
                "error": "no reference set: this dataset has no ground truth; give the dataset "
                f"or the metric a reference (datasets: [{{name: ..., reference: PATH}}] or "
                f"metrics: [{{name: {metric.plugin}, params: {{reference: PATH}}}}])",
            }
    try:
        result = instance.value(features, reference)
    except Exception as exc:  # too few images, singular covariance, ...
        return entry | {
            "status": "failed",
            "value": None,
            "n": len(features),
            "error": f"{type(exc).__name__}: {exc}",
        }
    value = float(result.value)
    return entry | {
        "status": "ok",
        "value": value if np.isfinite(value) else None,
        "n": int(result.n),
        "extra": result.extra,
        "error": None,
    }


def _unavailable(
    runner: Runner, metric: MetricInfo, members: list[tuple[Run, Sample]]
) -> str | None:
    """Why the metric could not extract features here (missing weights), if it could not."""
    for run, s in members:
        entry = runner.journal.get(feature_key(metric, run.restore_key(s))) or {}
        if entry.get("status") == "unavailable":
            return entry.get("error")
    return None


def _load(runner: Runner, metric: MetricInfo, keys: list[str]) -> np.ndarray:
    rows = [np.load(feature_path(runner, metric, k), allow_pickle=False) for k in keys]
    return np.stack(rows) if rows else np.zeros((0, 0))


def set_rows(runner: Runner, plan: Plan) -> list[dict[str, Any]]:
    """The rows of sets.parquet."""
    rows = []
    for metric in runner.metrics:
        if metric.kind != "set":
            continue
        references = runner.set_references.get(metric.name, {})
        for (cell, label), members in _groups(runner, plan).items():
            reference = references.get(cell.dataset)
            entry = runner.journal.get(set_key(runner, metric, cell, label, members, reference))
            if entry is None:
                entry = {"status": "missing", "error": "not computed"}
            entry = entry | {"reference": reference_source(reference)}
            rows.append(records.set_row(cell, members[0][0], metric.name, entry))
    return rows
