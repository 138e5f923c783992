"""Score a folder of outputs against folders of ground truth and inputs (``dr2bench score``).

Images are matched by relative path (``a/b.png``), then by relative path without its suffix
(``a/b.png`` with ``a/b.jpg``); unmatched images are listed, never silently dropped. Each metric
is loaded once; a metric that cannot run here (missing weights, missing folder) is reported as
unavailable with the reason and the others run. Images stream in batches, so memory does not
grow with the number of images (set metrics keep one feature vector per image).
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.contracts import Metric, Unavailable
from bench.datasets import image_stem
from bench.images import list_images, read_image
from bench.parallel import prefetched
from bench.registry import METRICS
from bench.run.stages import (
    PLUGIN_FAILURES,
    PluginRef,
    extract_features,
    reason,
    set_value,
)
from bench.run.units import MetricBatch

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


def match(pred: dict[str, Path], other: dict[str, Path]) -> tuple[dict[str, Path], list[str]]:
    """``other``'s image for each output id (same path, else same path without suffix)."""
    by_stem = {image_stem(rel): path for rel, path in other.items()}
    found = {rel: other.get(rel) or by_stem.get(image_stem(rel)) for rel in pred}
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
class MetricScores:
    """One metric of a scoring and what it produced (``name`` is its label)."""

    name: str
    metric: Metric | None
    plugin: PluginRef | None = None
    unavailable: str | None = None
    values: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    features: list[np.ndarray] = field(default_factory=list)
    set_result: dict[str, Any] | None = None

    def record(self, entries: list[dict[str, Any]]) -> None:
        """Per-image values as the run's journal entries give them (keyed by image id)."""
        for entry in entries:
            value = entry["value"]
            self.values[entry["k"]] = math.nan if value is None else float(value)
            if entry["status"] != "ok" or value is None:
                self.errors[entry["k"]] = entry["error"] or "no value"


def prepare(entry: dict[str, Any], folders: dict[str, Path | None], device: str) -> MetricScores:
    """Create and load a metric (``name``, ``params``, ``label``); an unavailable metric carries
    the reason instead.

    A set metric compares with ``--ref`` if given, else its own ``reference``, else ``--gt``.
    """
    name = str(entry.get("label") or entry["name"])
    params = entry.get("params") or {}
    metric = METRICS.create(entry["name"], **params)
    plugin = PluginRef("metric", entry["name"], json.dumps(params, sort_keys=True))
    if metric.kind == "set":
        own = getattr(metric.params, "reference", None)
        reference = folders["ref"] or own or folders["gt"]
        if reference is None:
            return MetricScores(
                name, metric, None, f"{name} needs a reference set: give --ref or --gt"
            )
        metric = metric.replace(reference=str(reference))
        metric.name = entry["name"]
    elif metric.kind == "paired" and folders[metric.reference] is None:
        why = f"{name} compares with the {metric.reference} images: give --{metric.reference}"
        return MetricScores(name, metric, None, why)
    try:
        metric.load(device)
    except Unavailable as exc:
        return MetricScores(name, metric, None, str(exc))
    return MetricScores(name, metric, plugin)


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
            for role in sorted(roles)
        }
        yield Batch(chunk, images, refs)


def score_batch(scorings: list[MetricScores], batch: Batch, device: str) -> None:
    """Feed one decoded batch to every metric: per-image metrics through the run's
    :class:`MetricBatch` (a failing batch is retried image by image), set metrics through the
    run's feature stage (a failure ends the metric with the reason)."""
    ids, images = batch.ids, batch.images
    for scoring in scorings:
        metric = scoring.metric
        if scoring.unavailable or metric is None or scoring.set_result is not None:
            continue
        if metric.kind == "set":
            try:
                for group in _same_size(ids, images):
                    features = extract_features(metric, [images[i] for i in group])
                    scoring.features.append(features)
            except PLUGIN_FAILURES as exc:
                scoring.set_result = {"value": None, "n": 0, "error": reason(exc)}
            continue
        assert scoring.plugin is not None  # prepare gives every available metric its PluginRef
        refs = batch.refs[metric.reference] if metric.kind == "paired" else None
        chosen = [i for i in ids if refs is None or i in refs]
        for group in _same_size(chosen, images, *([refs] if refs is not None else [])):
            scoring.record(
                MetricBatch(
                    scoring.plugin,
                    device,
                    tuple(group),
                    tuple(images[i] for i in group),
                    None if refs is None else tuple(refs[i] for i in group),
                ).run_with(metric)
            )


def _same_size(ids: list[str], *images: dict[str, np.ndarray]) -> list[list[str]]:
    groups: dict[tuple, list[str]] = {}
    for i in ids:
        groups.setdefault(tuple(source[i].shape for source in images), []).append(i)
    return list(groups.values())


def finish_set(scoring: MetricScores) -> None:
    """Compute a set metric's value from the collected features and its reference."""
    # a set metric that takes its reference from its parameters (FID, KID): configured_reference
    # is not part of the Metric contract
    metric: Any = scoring.metric
    if scoring.unavailable or metric is None or metric.kind != "set" or scoring.set_result:
        return
    features = np.concatenate(scoring.features) if scoring.features else np.zeros((0, 0))
    try:
        reference = metric.configured_reference()
    except Unavailable as exc:  # a reference statistics file missing from the weights folder
        scoring.unavailable = str(exc)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warning is kept in the value's extra
        result = set_value(metric, features, reference)
    scoring.set_result = {"value": result.value, "n": result.n}
    scoring.set_result |= {"error": result.error} if result.error else {"extra": result.extra}


def score_folders(
    pred: Path,
    gt: Path | None,
    inputs: Path | None,
    ref: Path | None,
    metrics: list[dict[str, Any]],
    device: str = "cpu",
    batch_size: int = 16,
    progress: Progress | None = None,
) -> tuple[Pairing, list[MetricScores]]:
    """Score every output image in ``pred`` with ``metrics`` (``name``, ``params``, ``label``)."""
    pairing = pair_folders(pred, gt, inputs)
    folders = {"gt": gt, "input": inputs, "ref": ref}
    scorings = [prepare(entry, folders, device) for entry in metrics]
    roles: set[str] = {
        s.metric.reference
        for s in scorings
        if s.metric is not None and s.metric.kind == "paired" and not s.unavailable
    }
    done = 0
    for batch in prefetched(read_batches(pairing, roles, batch_size)):
        score_batch(scorings, batch, device)
        done += len(batch.ids)
        if progress is not None:
            progress(done, len(pairing.pred))
    for scoring in scorings:
        finish_set(scoring)
    return pairing, scorings


def print_progress(done: int, total: int) -> None:
    """A one-line progress counter on stderr."""
    print(f"\rscored {done}/{total} images", end="\n" if done == total else "", file=sys.stderr)
