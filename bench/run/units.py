"""Units of work: frozen, typed batches an executor can ship anywhere (a process, a Ray worker).

A unit holds its items (one per image); :meth:`Unit.run` computes their journal entries with the
shared stages (:mod:`bench.run.stages`), writing images atomically; :meth:`Unit.split` gives one
unit per image; :meth:`Unit.failed` records a failure for every image. :func:`each_alone` is the
one "retry image by image" of the code base: a unit whose batch fails (a plugin raises, a worker
hangs or dies) runs again image by image, and an image that fails alone is recorded with the
reason. Journal entries are built by :func:`entry` only.
"""

from __future__ import annotations

import dataclasses
import io
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from bench.contracts import Unavailable
from bench.datasets import DatasetError
from bench.files import atomic_write_bytes
from bench.images import read_image, read_png, resize, write_png
from bench.run import stages
from bench.run.stages import PLUGIN_FAILURES, InputProblem, PluginRef, reason, reraise_storage

_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dr2bench-png")
U = TypeVar("U", bound="Unit")


def entry(key: str, kind: str, status: str, error: str | None = None, **fields: Any) -> dict:
    """One journal line, keyed by its cache key ``k``.

    ``kind`` is ``lq``, ``out``, ``score``, ``feat`` or ``set``; ``status`` is ``ok``,
    ``failed`` or ``unavailable``, with ``error`` saying why (or a note on a value). ``fields``
    are what the kind adds: ``steps`` and ``time`` (lq), ``time`` (out), ``value`` (score, set),
    ``n``, ``extra``, ``config`` (set), ``log`` (an external program's output, on the first
    entry of a restore unit; logged, not journaled).
    """
    return {"k": key, "kind": kind, "status": status, "error": error} | fields


class BatchFailed(Exception):
    """Every image of a batch failed: they are tried one by one (see :func:`each_alone`)."""


def each_alone(
    unit: U,
    attempt: Callable[[U], list[dict[str, Any]]],
    failures: tuple[type[BaseException], ...] = (BatchFailed,),
) -> list[dict[str, Any]]:
    """``attempt(unit)``; when it raises one of ``failures``, each image alone, and an image
    that fails alone is recorded as failed with the reason. A full disk always stops.
    """
    try:
        return attempt(unit)
    except failures as exc:
        reraise_storage(exc)
        if len(unit.items) > 1:
            return [e for one in unit.split() for e in each_alone(one, attempt, failures)]
        return unit.failed(reason(exc))


class Unit(ABC):
    """A batch of items (one per image) of one kind of work.

    ``KIND`` is its entries' kind, ``EMPTY`` the fields of an entry without a result.
    """

    KIND: ClassVar[str]
    EMPTY: ClassVar[dict[str, Any]] = {}
    items: tuple[Any, ...]

    @abstractmethod
    def run(self) -> list[dict[str, Any]]:
        """The journal entries of every item (never raises for a bad image or plugin)."""

    def keys(self) -> list[str]:
        """The cache keys of the entries."""
        return [item.key for item in self.items]

    def failed(self, message: str, status: str = "failed") -> list[dict[str, Any]]:
        """Entries recording that every item failed (or is unavailable) with ``message``."""
        return [entry(key, self.KIND, status, message, **self.EMPTY) for key in self.keys()]

    def load_failed(self, exc: BaseException) -> list[dict[str, Any]]:
        """Entries for a plugin that could not load: unavailable here, or failed."""
        unavailable = isinstance(exc, Unavailable)
        return self.failed(reason(exc), "unavailable" if unavailable else "failed")

    def split(self: U) -> list[U]:
        """One unit per item."""
        return [dataclasses.replace(self, items=(item,)) for item in self.items]  # type: ignore[type-var]


def run_unit(unit: Unit) -> list[dict[str, Any]]:
    """What executors call: ``unit.run()`` (a module-level function pickles everywhere)."""
    return unit.run()


# -- degrade -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DegradeItem:
    """Make one LQ image (and its canonical GT).

    ``source`` is the file degraded (the GT), or the LQ file of a paired or real set; ``chain``
    is ``None`` for no degradation; ``rng_key`` names the image's generator
    (:func:`bench.seeding.image_rng`); ``problem`` is why the dataset already flagged the image.
    """

    key: str
    source: str
    gt: str | None
    lq_path: str
    gt_path: str
    chain: str | None
    severity: int
    rng_key: tuple[int, str, str, str, int]
    problem: str | None = None


@dataclass(frozen=True)
class DegradeUnit(Unit):
    KIND = "lq"
    EMPTY = {"steps": []}
    items: tuple[DegradeItem, ...]

    def run(self) -> list[dict[str, Any]]:
        entries = []
        for item in self.items:
            start = time.perf_counter()
            try:
                done = entry(item.key, "lq", "ok", steps=_degrade(item))
            except PLUGIN_FAILURES as exc:  # one bad image must not stop the run
                reraise_storage(exc)
                done = entry(item.key, "lq", "failed", reason(exc), steps=[])
            entries.append(done | {"time": time.perf_counter() - start})
        return entries


def _degrade(item: DegradeItem) -> list[dict[str, Any]]:
    if item.problem:
        raise InputProblem(item.problem)
    gt = read_image(item.gt) if item.gt else None
    steps: list[dict[str, Any]]
    if item.chain is None:
        lq, steps = read_image(item.source), []
        if gt is not None and lq.shape != gt.shape:  # as the CelebA-Test protocol resizes LQs
            _check_aspect(item, lq.shape, gt.shape)
            lq = resize(lq, gt.shape[1], gt.shape[0], "bicubic")
    else:
        if gt is None:
            raise DatasetError(f"{item.source}: no clean image to degrade")
        lq, steps = stages.degrade_image(gt, item.chain, item.severity, item.rng_key)
    if gt is not None and not Path(item.gt_path).exists():
        write_png(item.gt_path, gt)
    write_png(item.lq_path, lq)
    return steps


def _check_aspect(item: DegradeItem, lq: tuple[int, ...], gt: tuple[int, ...]) -> None:
    """An LQ image is resized to its ground truth's size only when their shapes agree (up to
    one LQ pixel of rounding): a stretched face would be scored as a restorer's fault."""
    (lq_h, lq_w), (gt_h, gt_w) = lq[:2], gt[:2]
    if abs(lq_w - gt_w * lq_h / gt_h) > 1 and abs(lq_h - gt_h * lq_w / gt_w) > 1:
        raise InputProblem(
            f"{item.source} is {lq_w}x{lq_h} and its ground truth {item.gt} is {gt_w}x{gt_h}: "
            "different aspect ratios; crop or pad one of them (resizing would stretch the face)"
        )


# -- score -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricRef:
    """A per-image metric of a unit: its column, plugin, kind and what it compares with."""

    column: str
    plugin: PluginRef
    kind: str
    reference: str  # gt | input


@dataclass(frozen=True)
class ScoreItem:
    """Score the output ``out_path`` with the metrics still missing: ``keys`` maps each
    wanted metric column to its value's cache key; ``gt_path`` is ``None`` without a GT."""

    keys: dict[str, str]
    out_path: str
    gt_path: str | None
    input_path: str


@dataclass(frozen=True)
class ScoreUnit(Unit):
    KIND = "score"
    EMPTY = {"value": None}
    metrics: tuple[MetricRef, ...]
    device: str
    items: tuple[ScoreItem, ...]

    def run(self) -> list[dict[str, Any]]:
        return each_alone(self, ScoreUnit._score, PLUGIN_FAILURES)

    def _score(self) -> list[dict[str, Any]]:
        images = [read_png(item.out_path) for item in self.items]
        return score_outputs(self.metrics, self.device, list(self.items), images)

    def keys(self) -> list[str]:
        return [key for item in self.items for key in item.keys.values()]


def score_outputs(
    metrics: tuple[MetricRef, ...], device: str, items: list[ScoreItem], images: list[np.ndarray]
) -> list[dict[str, Any]]:
    """Score outputs already in memory; each reference image is decoded once for all metrics."""
    references: dict[str, list[np.ndarray | None]] = {}
    entries = []
    for metric in metrics:
        chosen = [i for i, item in enumerate(items) if metric.column in item.keys]
        if not chosen:
            continue
        refs = None
        if metric.kind == "paired":
            if metric.reference not in references:
                paths = [i.input_path if metric.reference == "input" else i.gt_path for i in items]
                references[metric.reference] = [stages.read_input(p) if p else None for p in paths]
            refs = tuple(references[metric.reference][i] for i in chosen)
        keys = tuple(items[i].keys[metric.column] for i in chosen)
        images_chosen = tuple(images[i] for i in chosen)
        entries += MetricBatch(metric.plugin, device, keys, images_chosen, refs).run()
    return entries


@dataclass(frozen=True)
class MetricBatch(Unit):
    """One metric over a batch of images in memory (items are the values' cache keys)."""

    KIND = "score"
    EMPTY = {"value": None}
    metric: PluginRef
    device: str
    items: tuple[str, ...]
    images: tuple[np.ndarray, ...]
    refs: tuple[np.ndarray | None, ...] | None

    def run(self) -> list[dict[str, Any]]:
        try:
            metric = self.metric.load(self.device)
        except PLUGIN_FAILURES as exc:
            return self.load_failed(exc)
        return self.run_with(metric)

    def run_with(self, metric: Any) -> list[dict[str, Any]]:
        """The entries, scored by ``metric`` (already loaded); a failing batch is retried image
        by image."""
        return each_alone(self, lambda batch: batch._score(metric), PLUGIN_FAILURES)

    def _score(self, metric: Any) -> list[dict[str, Any]]:
        if self.refs is not None and any(ref is None for ref in self.refs):
            raise ValueError("the reference image is missing")
        refs = None if self.refs is None else [ref for ref in self.refs if ref is not None]
        scored = stages.score_images(metric, list(self.images), refs)
        return [
            entry(key, "score", s.status, s.error, value=s.value)
            for key, s in zip(self.items, scored, strict=True)
        ]

    def keys(self) -> list[str]:
        return list(self.items)

    def split(self) -> list[MetricBatch]:
        refs = self.refs or (None,) * len(self.items)
        return [
            dataclasses.replace(
                self, items=(key,), images=(image,), refs=None if self.refs is None else (ref,)
            )
            for key, image, ref in zip(self.items, self.images, refs, strict=True)
        ]


# -- restore -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RestoreItem:
    """Restore one image (``id`` as ``restore_batch`` receives it, ``seed`` from
    :func:`bench.seeding.image_seed`), then score the output (``score.keys`` empty: nothing)."""

    key: str
    id: str
    lq_path: str
    out_path: str
    seed: int
    score: ScoreItem


@dataclass(frozen=True)
class RestoreUnit(Unit):
    """Restore a batch, store the outputs, and score them in memory.

    Outputs are scored as they are stored (8-bit), so a metric added later, computed from the
    PNG files, gives the same values. The first entry carries the restorer's log lines (an
    external program's output) under ``log``.
    """

    KIND = "out"
    EMPTY = {"time": 0.0}
    restorer: PluginRef
    label: str  # the grid point's, as progress and logs name it
    device: str
    metrics: tuple[MetricRef, ...]
    items: tuple[RestoreItem, ...]

    def run(self) -> list[dict[str, Any]]:
        start = time.perf_counter()
        try:
            restorer = self.restorer.load(self.device)
        except PLUGIN_FAILURES as exc:
            return self.load_failed(exc)
        share = (time.perf_counter() - start) / len(self.items)
        entries = each_alone(self, lambda unit: unit._restore(restorer, share))
        log_lines = restorer.take_log()
        if log_lines and entries:
            entries[0]["log"] = log_lines
        return entries

    def _restore(self, restorer: Any, load_share: float) -> list[dict[str, Any]]:
        try:
            images = [stages.read_input(item.lq_path) for item in self.items]
        except PLUGIN_FAILURES as exc:
            reraise_storage(exc)
            if len(self.items) > 1:
                raise BatchFailed(reason(exc)) from exc
            return self.failed(reason(exc))
        ids, seeds = [item.id for item in self.items], [item.seed for item in self.items]
        results = stages.restore_images(restorer, images, seeds, ids, self.device)
        if len(self.items) > 1 and all(result.status == "failed" for result in results):
            raise BatchFailed(results[0].error or "every image failed")
        entries = [
            entry(item.key, "out", r.status, r.error, time=r.seconds + load_share)
            for item, r in zip(self.items, results, strict=True)
        ]
        outputs = zip(self.items, (r.image for r in results), strict=True)
        stored = [(item, image) for item, image in outputs if image is not None]
        # PNG encoding (which releases the GIL) overlaps the scoring; the entries are returned,
        # and so journaled, only once every file is written
        writes = [_WRITER.submit(write_png, item.out_path, image) for item, image in stored]
        wanted = [(item.score, image) for item, image in stored if item.score.keys]
        if wanted and self.metrics:
            items, images = [w[0] for w in wanted], [w[1] for w in wanted]
            entries += score_outputs(self.metrics, self.device, items, images)
        for write in writes:
            write.result()
        return entries


# -- features ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeatureItem:
    """Extract one image's features for a set metric and store them (``.npy``)."""

    key: str
    path: str
    feature_path: str


@dataclass(frozen=True)
class FeatureUnit(Unit):
    KIND = "feat"
    metric: PluginRef
    device: str
    items: tuple[FeatureItem, ...]

    def run(self) -> list[dict[str, Any]]:
        try:
            metric = self.metric.load(self.device)
        except PLUGIN_FAILURES as exc:
            return self.load_failed(exc)
        return each_alone(self, lambda unit: unit._extract(metric), PLUGIN_FAILURES)

    def _extract(self, metric: Any) -> list[dict[str, Any]]:
        images = [read_png(item.path) for item in self.items]
        features = stages.extract_features(metric, images)
        for item, row in zip(self.items, features, strict=True):
            buffer = io.BytesIO()
            np.save(buffer, row, allow_pickle=False)
            atomic_write_bytes(item.feature_path, buffer.getvalue())
        return [entry(item.key, "feat", "ok") for item in self.items]
