"""Score a folder of outputs against folders of ground truth and inputs (``dr2bench score``).

Images are matched by relative path (``a/b.png``), then by relative path without its suffix
(``a/b.png`` with ``a/b.jpg``); unmatched images are listed, never silently dropped. Each metric
is loaded once; a metric that cannot run here (missing weights, missing folder) is reported as
unavailable with the reason and the others run. Images stream in batches, so memory does not
grow with the number of images (set metrics keep one feature vector per image).
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.contracts import Metric, Unavailable
from bench.images import IMAGE_SUFFIXES, list_images, read_image
from bench.parallel import prefetched
from bench.registry import METRICS

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Pairing:
    """Output images and their matches. ``unmatched`` maps a folder role to ids without a match."""

    pred: dict[str, Path]
    gt: dict[str, Path]
    input: dict[str, Path]
    unmatched: dict[str, list[str]]


def relative_images(folder: Path) -> dict[str, Path]:
    """Images below ``folder`` by relative POSIX path."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    return {path.relative_to(folder).as_posix(): path for path in list_images(folder)}


def _without_suffix(rel: str) -> str:
    path = Path(rel)
    return path.with_suffix("").as_posix() if path.suffix.lower() in IMAGE_SUFFIXES else rel


def match(pred: dict[str, Path], other: dict[str, Path]) -> tuple[dict[str, Path], list[str]]:
    """``other``'s image for each output id (same path, else same path without suffix)."""
    by_stem = {_without_suffix(rel): path for rel, path in other.items()}
    found = {rel: other.get(rel) or by_stem.get(_without_suffix(rel)) for rel in pred}
    matched = {rel: path for rel, path in found.items() if path is not None}
    used = {path for path in matched.values()}
    return matched, sorted(rel for rel, path in other.items() if path not in used)


def pair_folders(pred: Path, gt: Path | None, inputs: Path | None) -> Pairing:
    """Match the outputs in ``pred`` with ``gt`` and ``inputs`` (either may be ``None``)."""
    outputs = relative_images(pred)
    if not outputs:
        raise FileNotFoundError(f"{pred}: no images found")
    unmatched: dict[str, list[str]] = {}
    matches: dict[str, dict[str, Path]] = {"gt": {}, "input": {}}
    for role, folder in (("gt", gt), ("input", inputs)):
        if folder is None:
            continue
        matched, extra = match(outputs, relative_images(folder))
        matches[role] = matched
        unmatched[f"pred_without_{role}"] = sorted(set(outputs) - set(matched))
        unmatched[f"{role}_without_pred"] = extra
    return Pairing(outputs, matches["gt"], matches["input"], unmatched)


@dataclass
class MetricRun:
    """One metric of a scoring run and what it produced."""

    name: str
    metric: Metric | None
    unavailable: str | None = None
    values: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    features: list[np.ndarray] = field(default_factory=list)
    set_result: dict[str, Any] | None = None

    def record(self, ids: list[str], values: Any, errors: Any) -> None:
        for image_id, value, error in zip(ids, values, errors, strict=True):
            self.values[image_id] = float(value)
            if error is not None or math.isnan(value):
                self.errors[image_id] = error or "no value"


def prepare(entry: dict[str, Any], folders: dict[str, Path | None], device: str) -> MetricRun:
    """Create and load a metric (``name``, ``params``, ``label``); an unavailable metric carries
    the reason instead.

    A set metric compares with ``--ref`` if given, else its own ``reference``, else ``--gt``.
    """
    name = str(entry.get("label") or entry["name"])
    metric = METRICS.create(entry["name"], **(entry.get("params") or {}))
    needed = "gt" if metric.kind == "set" else getattr(metric, "reference", "gt")
    if metric.kind == "set":
        own = getattr(metric.params, "reference", None)
        reference = folders["ref"] or own or folders["gt"]
        if reference is None:
            return MetricRun(name, metric, f"{name} needs a reference set: give --ref or --gt")
        metric = metric.replace(reference=str(reference))
        metric.name = entry["name"]
    elif metric.kind == "paired" and folders[needed] is None:
        return MetricRun(name, metric, f"{name} compares with the {needed} images: give --{needed}")
    try:
        metric.load(device)
    except Unavailable as exc:
        return MetricRun(name, metric, str(exc))
    return MetricRun(name, metric)


@dataclass(frozen=True)
class Batch:
    """Decoded images of one batch: outputs by id, and references by role and id."""

    ids: list[str]
    images: dict[str, np.ndarray]
    refs: dict[str, dict[str, np.ndarray]]


def read_batches(pairing: Pairing, roles: set[str], size: int) -> Iterator[Batch]:
    """Decode the outputs, and their ``roles`` references, ``size`` outputs at a time."""
    ids = sorted(pairing.pred)
    sources = {"gt": pairing.gt, "input": pairing.input}
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        images = {i: read_image(pairing.pred[i]) for i in chunk}
        refs = {
            role: {i: read_image(sources[role][i]) for i in chunk if i in sources[role]}
            for role in ("gt", "input")
            if role in roles
        }
        yield Batch(chunk, images, refs)


def score_batch(runs: list[MetricRun], batch: Batch) -> None:
    """Feed one decoded batch to every metric."""
    ids, images, refs = batch.ids, batch.images, batch.refs
    for run in runs:
        if run.unavailable or run.metric is None:
            continue
        metric = run.metric
        if metric.kind == "set":
            _extract(run, metric, [[images[i] for i in g] for g in _same_size(ids, images)])
            continue
        if metric.kind == "no_reference":
            for group in _same_size(ids, images):
                _guarded(run, metric, group, [images[i] for i in group], None)
            continue
        role_refs = refs[getattr(metric, "reference", "gt")]
        for group in _same_size([i for i in ids if i in role_refs], images, role_refs):
            _guarded(run, metric, group, [images[i] for i in group], [role_refs[i] for i in group])


def _same_size(ids: list[str], *images: dict[str, np.ndarray]) -> list[list[str]]:
    groups: dict[tuple, list[str]] = {}
    for i in ids:
        groups.setdefault(tuple(source[i].shape for source in images), []).append(i)
    return list(groups.values())


def _extract(run: MetricRun, metric: Any, groups: list[list[np.ndarray]]) -> None:
    """Collect a set metric's features; a failure ends the metric with the reason."""
    from bench.images import to_tensor

    if run.set_result is not None:
        return
    try:
        run.features += [metric.features(to_tensor(group)) for group in groups]
    except Exception as exc:
        run.set_result = {"value": None, "n": 0, "error": f"{type(exc).__name__}: {exc}"}


def _guarded(
    run: MetricRun,
    metric: Any,
    group: list[str],
    images: list[np.ndarray],
    refs: list[np.ndarray] | None,
) -> None:
    """Score one group with a per-image metric; an exception fails the group, not the run."""
    from bench.images import to_tensor

    try:
        if refs is None:
            scores = metric.score(to_tensor(images))
        else:
            scores = metric.score(to_tensor(images), to_tensor(refs))
    except Exception as exc:  # one failing batch must not stop the other metrics
        reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"
        run.record(group, [float("nan")] * len(group), [reason] * len(group))
        return
    run.record(group, scores.values, scores.errors)


def finish_set(run: MetricRun) -> None:
    """Compute a set metric's value from the collected features and its reference."""
    metric = run.metric
    if run.unavailable or metric is None or metric.kind != "set" or run.set_result is not None:
        return
    try:
        features = np.concatenate(run.features) if run.features else np.zeros((0, 0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the warning is kept in the value's extra
            result = metric.value(features, metric.configured_reference())
        run.set_result = {"value": result.value, "n": result.n, "extra": result.extra}
    except Unavailable as exc:  # a reference statistics file missing from the weights folder
        run.unavailable = str(exc)
    except Exception as exc:
        run.set_result = {
            "value": None,
            "n": sum(len(f) for f in run.features),
            "error": f"{type(exc).__name__}: {exc}",
        }


def score_folders(
    pred: Path,
    gt: Path | None,
    inputs: Path | None,
    ref: Path | None,
    metrics: list[dict[str, Any]],
    device: str = "cpu",
    batch_size: int = 16,
    progress: Progress | None = None,
) -> tuple[Pairing, list[MetricRun]]:
    """Score every output image in ``pred`` with ``metrics`` (``name``, ``params``, ``label``)."""
    pairing = pair_folders(pred, gt, inputs)
    folders = {"gt": gt, "input": inputs, "ref": ref}
    runs = [prepare(entry, folders, device) for entry in metrics]
    roles = {
        getattr(run.metric, "reference", "gt")
        for run in runs
        if run.metric is not None and run.metric.kind == "paired" and not run.unavailable
    }
    done = 0
    for batch in prefetched(read_batches(pairing, roles, batch_size)):
        score_batch(runs, batch)
        done += len(batch.ids)
        if progress is not None:
            progress(done, len(pairing.pred))
    for run in runs:
        finish_set(run)
    return pairing, runs


def print_progress(done: int, total: int) -> None:
    """A one-line progress counter on stderr."""
    print(f"\rscored {done}/{total} images", end="\n" if done == total else "", file=sys.stderr)
