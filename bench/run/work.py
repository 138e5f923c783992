"""The units of work of a run, as plain functions an executor can ship anywhere.

Each function takes JSON-like arguments, writes its images atomically into the run folder and
returns journal entries; it never raises for a bad image or a failing plugin: the failure becomes
an entry with ``status`` and ``error``, so one bad input never stops a run.
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from bench.contracts import Unavailable
from bench.datasets import DatasetError
from bench.files import StorageError, per_file_version
from bench.images import ImageError, read_image, read_png, write_png
from bench.registry import METRICS, RESTORERS

PLAIN_ERRORS: tuple[type[BaseException], ...] = (Unavailable, ImageError, DatasetError)
OUTPUT_TOLERANCE = 1e-3  # outputs may leave [0, 1] by this much (then clipped); more is a failure
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dr2bench-png")
INPUT_CACHE = 64  # decoded LQ/GT images kept per process (~200 MB at 512x512)
# what a plugin may raise that fails its images, not the run (sys.exit in a wrapped script too)
PLUGIN_FAILURES: tuple[type[BaseException], ...] = (Exception, SystemExit)


# plugins that could not load here (missing weights), until the next run: not retried per batch
_UNAVAILABLE: dict[tuple[str, str, str, str], Unavailable] = {}


def plugin(kind: str, name: str, params_json: str, device: str) -> Any:
    """A plugin instance, loaded once per process and device.

    Raises:
        Unavailable: it cannot run here (again, without another try, until
            :func:`forget_unavailable`).
    """
    key = (kind, name, params_json, device)
    if key in _UNAVAILABLE:
        raise _UNAVAILABLE[key].with_traceback(None)
    try:
        return _loaded(*key)
    except Unavailable as exc:
        _UNAVAILABLE[key] = exc
        raise


def forget_unavailable() -> None:
    """Let plugins that were unavailable try to load again (a new run: weights may be there)."""
    _UNAVAILABLE.clear()


@functools.cache
def _loaded(kind: str, name: str, params_json: str, device: str) -> Any:
    import json

    registry = RESTORERS if kind == "restorer" else METRICS
    instance = registry.create(name, **json.loads(params_json))
    instance.load(device)
    return instance


def _error(exc: BaseException) -> str:
    """A one-line reason; our own errors already name the file and what is wrong."""
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, PLAIN_ERRORS) else f"{type(exc).__name__}: {text}"


class InputProblem(ValueError):
    """An input the dataset already flagged (a missing pair, a duplicate id)."""


def _reraise_storage(exc: BaseException) -> None:
    """A full disk or read-only run folder stops the run: it is not the image's fault."""
    if isinstance(exc, StorageError):
        raise exc


def degrade_unit(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Make the LQ (and canonical GT) image of each item.

    Item keys: ``key``, ``source``, ``gt`` (or None), ``lq_path``, ``gt_path``, ``chain``
    (None for no degradation), ``severity`` and ``rng`` (the arguments of ``image_rng``).
    """
    entries = []
    for item in items:
        start = time.perf_counter()
        try:
            steps = _degrade(item)
            entry = {"status": "ok", "steps": steps}
        except PLUGIN_FAILURES as exc:  # one bad image must not stop the run
            _reraise_storage(exc)
            entry = {"status": "failed", "error": _error(exc), "steps": []}
        entry |= {"k": item["key"], "kind": "lq", "time": time.perf_counter() - start}
        entries.append(entry)
    return entries


def _degrade(item: dict[str, Any]) -> list[dict[str, Any]]:
    if item.get("problem"):
        raise InputProblem(item["problem"])
    gt = read_image(item["gt"]) if item["gt"] else None
    if item["chain"] is None:
        lq, steps = read_image(item["source"]), []
        if gt is not None and lq.shape != gt.shape:
            lq = _resize(lq, gt.shape[1], gt.shape[0])
    else:
        from bench.chains import load_chain
        from bench.seeding import image_rng

        chain = load_chain(item["chain"])
        steps = chain.sample(image_rng(*item["rng"]), item["severity"])
        lq = chain.apply(gt, steps)
    if gt is not None and not Path(item["gt_path"]).exists():
        write_png(item["gt_path"], gt)
    write_png(item["lq_path"], lq)
    return steps


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bicubic resize to the GT size, as the CelebA-Test protocol resizes LQ inputs."""
    import cv2

    return np.clip(cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def restore_unit(
    name: str,
    params_json: str,
    device: str,
    metrics: list[tuple[str, str, str, str, str]],
    items: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Restore a batch of LQ images, then score the outputs in memory (see :func:`score_unit`).

    Item keys: ``key``, ``id`` (image id), ``lq_path``, ``out_path``, ``seed``, and those of
    :func:`score_unit` (``keys`` of the metric values wanted, ``gt_path``, ``input_path``).
    Outputs are scored as they are stored (8-bit), so a metric added later, computed from the
    PNG files, gives the same values. Entries carry the restorer's log lines (an external
    program's output) under ``log`` on the first entry.
    """
    start = time.perf_counter()
    try:
        restorer = plugin("restorer", name, params_json, device)
    except PLUGIN_FAILURES as exc:
        status = "unavailable" if isinstance(exc, Unavailable) else "failed"
        return [_restored(item, status, _error(exc), 0.0) for item in items]
    load_time = time.perf_counter() - start
    results = _restore_batch(restorer, items, device)
    if len(items) > 1 and all(result[0] == "failed" for result in results):
        # the whole batch failed: retry one by one to isolate the bad image(s)
        results = [_restore_batch(restorer, [item], device)[0] for item in items]
    share = load_time / len(items)
    entries = [
        _restored(item, status, error, seconds + share)
        for item, (status, error, seconds, _) in zip(items, results, strict=True)
    ]
    log_lines = restorer.take_log()
    if log_lines and entries:
        entries[0]["log"] = log_lines
    stored = [
        (item, image) for item, (*_, image) in zip(items, results, strict=True) if image is not None
    ]
    # PNG encoding (which releases the GIL) overlaps the scoring; the entries are returned, and
    # so journaled, only once every file is written
    writes = [_WRITER.submit(write_png, item["out_path"], image) for item, image in stored]
    wanted = [(item, image) for item, image in stored if item.get("keys")]
    if wanted and metrics:
        entries += score_images(metrics, device, [i for i, _ in wanted], [im for _, im in wanted])
    for write in writes:
        write.result()
    return entries


def _restore_batch(restorer: Any, items: list[dict[str, Any]], device: str) -> list[tuple]:
    """``(status, error, seconds, output as it will be stored, or None)`` for each item."""
    from bench.contracts import RestoreFailures
    from bench.images import to_float, to_tensor, to_uint8

    start = time.perf_counter()
    failures: dict[int, str] = {}
    try:
        images = [read_input(item["lq_path"]) for item in items]
        if len({image.shape for image in images}) > 1:
            raise ValueError("images of different sizes in one batch")
        batch = to_tensor(images, device)
        seeds = [item["seed"] for item in items]
        try:
            output = restorer.restore_batch(batch, seeds, [item["id"] for item in items])
        except RestoreFailures as partial:
            output, failures = partial.output, partial.failures
        checked = [_check_output(output, batch, i) for i in range(len(items))]
    except PLUGIN_FAILURES as exc:
        message = _error(exc) if len(items) == 1 else f"batch failed: {_error(exc)}"
        return [("failed", message, 0.0, None)] * len(items)
    per_image = (time.perf_counter() - start) / len(items)
    results = []
    for index, (image, problem) in enumerate(checked):
        problem = failures.get(index, problem)
        if problem:
            results.append(("failed", problem, per_image, None))
            continue
        results.append(("ok", None, per_image, to_float(to_uint8(image))))
    return results


def _check_output(output: Any, batch: Any, index: int) -> tuple[np.ndarray | None, str | None]:
    """Image ``index`` of a restorer's output as a numpy image, or why it cannot be used."""
    import torch

    if not isinstance(output, torch.Tensor):
        return None, f"restorer returned {type(output).__name__}, not a tensor"
    if output.shape != batch.shape:
        return (
            None,
            f"restorer output has shape {tuple(output.shape)}, expected {tuple(batch.shape)}",
        )
    if not output.dtype.is_floating_point:
        return None, f"restorer output has dtype {output.dtype}, expected a float tensor"
    image = output[index].detach().float().cpu().numpy().transpose(1, 2, 0)
    if not np.isfinite(image).all():
        return None, "restorer output contains NaN or Inf"
    low, high = float(image.min()), float(image.max())
    if low < -OUTPUT_TOLERANCE or high > 1 + OUTPUT_TOLERANCE:
        return None, f"restorer output range [{low:.3g}, {high:.3g}] is outside [0, 1]"
    return np.clip(image, 0.0, 1.0), None


def _restored(item: dict[str, Any], status: str, error: str | None, seconds: float) -> dict:
    return {"k": item["key"], "kind": "out", "status": status, "error": error, "time": seconds}


def score_unit(
    metrics: list[tuple[str, str, str, str, str]], device: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Score a batch of stored outputs with every per-image metric they still need.

    ``metrics`` holds ``(column, plugin name, params_json, kind, reference)``; item keys:
    ``keys`` (``{column: cache key}`` of the values still needed), ``out_path``, ``gt_path`` (or
    None) and ``input_path``.
    """
    try:
        images = [read_png(item["out_path"]) for item in items]
    except Exception as exc:
        if len(items) > 1:
            return [e for item in items for e in score_unit(metrics, device, [item])]
        return failed_entries(score_unit, items, _error(exc))
    return score_images(metrics, device, items, images)


def score_images(
    metrics: list[tuple[str, str, str, str, str]],
    device: str,
    items: list[dict[str, Any]],
    images: list[np.ndarray],
) -> list[dict[str, Any]]:
    """Score outputs already in memory; each reference image is decoded once for all metrics."""
    references: dict[str, list[np.ndarray | None]] = {}
    entries = []
    for column, name, params_json, kind, reference in metrics:
        chosen = [i for i, item in enumerate(items) if column in item["keys"]]
        if not chosen:
            continue
        refs = None
        if kind == "paired":
            if reference not in references:
                field = "input_path" if reference == "input" else "gt_path"
                references[reference] = [_read_optional(item[field]) for item in items]
            refs = [references[reference][i] for i in chosen]
        entries += _score_metric(
            name,
            params_json,
            device,
            [items[i]["keys"][column] for i in chosen],
            [images[i] for i in chosen],
            refs,
        )
    return entries


def _read_optional(path: str | None) -> np.ndarray | None:
    return read_input(path) if path else None


@per_file_version(maxsize=INPUT_CACHE)
def read_input(path: str) -> np.ndarray:
    """An LQ or GT image of the run, decoded once for all the restorers and metrics reading it.

    Units are ordered so that the restorers of a run process the same images one after the
    other; a small cache of decoded images then saves most decoding.
    """
    image = read_png(path)  # a missing or unreadable file raises the ImageError naming it
    image.flags.writeable = False  # shared by every restorer and metric that reads it
    return image


def _score_metric(
    name: str,
    params_json: str,
    device: str,
    keys: list[str],
    images: list[np.ndarray],
    refs: list[np.ndarray | None] | None,
) -> list[dict[str, Any]]:
    """One metric over a batch; a failing batch is retried image by image."""
    from bench.images import to_tensor

    try:
        metric = plugin("metric", name, params_json, device)
        if len({image.shape for image in images + [r for r in refs or [] if r is not None]}) > 1:
            raise ValueError("output and reference images differ in size")
        pred = to_tensor(images)
        scores = metric.score(pred, to_tensor(refs)) if refs is not None else metric.score(pred)
    except PLUGIN_FAILURES as exc:
        if len(keys) > 1 and not isinstance(exc, Unavailable):
            return [
                entry
                for key, image, ref in zip(keys, images, refs or [None] * len(keys), strict=True)
                for entry in _score_metric(
                    name, params_json, device, [key], [image], None if refs is None else [ref]
                )
            ]
        status = "unavailable" if isinstance(exc, Unavailable) else "failed"
        return [_score_entry(key, status, None, _error(exc)) for key in keys]
    return [
        _score_entry(key, "ok", _finite(value), error)
        for key, value, error in zip(keys, scores.values, scores.errors, strict=True)
    ]


def _score_entry(key: str, status: str, value: float | None, error: str | None) -> dict[str, Any]:
    return {"k": key, "kind": "score", "status": status, "value": value, "error": error}


def features_unit(
    name: str, params_json: str, device: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Features for a set metric; item keys: ``key``, ``path`` (image), ``feature_path`` (.npy)."""
    from bench.files import atomic_write_bytes
    from bench.images import to_tensor

    try:
        metric = plugin("metric", name, params_json, device)
        images = [read_png(item["path"]) for item in items]
        if len({image.shape for image in images}) > 1:
            raise ValueError("images of different sizes in one batch")
        features = np.asarray(metric.features(to_tensor(images)), dtype=np.float64)
    except PLUGIN_FAILURES as exc:
        if len(items) > 1 and not isinstance(exc, Unavailable):
            return [e for item in items for e in features_unit(name, params_json, device, [item])]
        status = "unavailable" if isinstance(exc, Unavailable) else "failed"
        return [
            {"k": i["key"], "kind": "feat", "status": status, "error": _error(exc)} for i in items
        ]
    for item, row in zip(items, features, strict=True):
        atomic_write_bytes(item["feature_path"], _npy_bytes(row))
    return [{"k": item["key"], "kind": "feat", "status": "ok", "error": None} for item in items]


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _finite(value: float) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def failed_entries(fn: Any, items: list[dict[str, Any]], message: str) -> list[dict[str, Any]]:
    """Journal entries recording that ``fn`` could not process ``items`` (timeout, crash)."""
    if fn is restore_unit:
        return [_restored(item, "failed", message, 0.0) for item in items]
    if fn is score_unit:
        return [
            _score_entry(key, "failed", None, message) for i in items for key in i["keys"].values()
        ]
    if fn is features_unit:
        return [
            {"k": i["key"], "kind": "feat", "status": "failed", "error": message} for i in items
        ]
    raise ValueError(f"no failure entries for {fn!r}")
