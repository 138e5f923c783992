"""The pipeline's stages, shared by every front door: degrade, restore, score, extract features.

``dr2bench run`` calls them through units of work (:mod:`bench.run.units`); ``dr2bench degrade``,
``restore`` and ``score`` call the same functions, so one image with one seed gives the same
bytes and the same checks through any of them. A stage never raises for a bad image or a failing
plugin: the failure becomes the image's result, with its reason, so one bad input never stops
the others. Running out of disk (:class:`bench.files.StorageError`) does stop them.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.contracts import Unavailable
from bench.datasets import DatasetError
from bench.files import StorageError, per_file_version
from bench.images import ImageError, read_png
from bench.registry import METRICS, RESTORERS


class InputProblem(ValueError):
    """An input the dataset already flagged (a missing pair, a clashing or unreadable name)."""


PLAIN_ERRORS: tuple[type[BaseException], ...] = (
    Unavailable,
    ImageError,
    DatasetError,
    InputProblem,
)
OUTPUT_TOLERANCE = 1e-3  # outputs may leave [0, 1] by this much (then clipped); more is a failure
INPUT_CACHE = 64  # decoded LQ/GT images kept per process (~200 MB at 512x512)
# what a plugin may raise that fails its images, not the run (sys.exit in a wrapped script too)
PLUGIN_FAILURES: tuple[type[BaseException], ...] = (Exception, SystemExit)

# plugins that could not load here (missing weights), until the next run: not retried per batch
_UNAVAILABLE: dict[tuple[str, str, str, str], Unavailable] = {}


@dataclass(frozen=True)
class PluginRef:
    """A plugin as a unit of work names it: its registry, name and parameters (JSON)."""

    kind: str  # restorer | metric
    name: str
    params_json: str

    def load(self, device: str) -> Any:
        """The plugin, created and loaded once per process and device.

        Raises:
            Unavailable: it cannot run here (again, without another try, until
                :func:`forget_unavailable`).
        """
        key = (self.kind, self.name, self.params_json, device)
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
    registry = RESTORERS if kind == "restorer" else METRICS
    instance = registry.create(name, **json.loads(params_json))
    instance.load(device)
    return instance


def reason(exc: BaseException) -> str:
    """A one-line reason; our own errors already name the file and what is wrong."""
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, PLAIN_ERRORS) else f"{type(exc).__name__}: {text}"


def reraise_storage(exc: BaseException) -> None:
    """A full disk or read-only folder stops the work: it is not the image's fault."""
    if isinstance(exc, StorageError):
        raise exc


@per_file_version(maxsize=INPUT_CACHE)
def read_input(path: str | Path) -> np.ndarray:
    """An LQ or GT PNG of a run folder, decoded once for all the restorers and metrics reading it.

    Units are ordered so that the restorers of a run process the same images one after the
    other; a small cache of decoded images then saves most decoding.
    """
    image = read_png(path)  # a missing or unreadable file raises the ImageError naming it
    image.flags.writeable = False  # shared by every restorer and metric that reads it
    return image


# -- degrade -----------------------------------------------------------------------------------
def degrade_image(
    gt: np.ndarray, chain: str, severity: int, rng_key: tuple[int, str, str, str, int]
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """``gt`` degraded by ``chain`` at ``severity`` with the image's generator, and the steps.

    ``rng_key`` is ``(seed, dataset, image id, chain, severity)`` (:func:`bench.seeding.image_rng`).
    """
    from bench.chains import load_chain
    from bench.seeding import image_rng

    loaded = load_chain(chain)
    steps = loaded.sample(image_rng(*rng_key), severity)
    return loaded.apply(gt, steps), steps


# -- restore -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Restored:
    """One image's restoration: its status, the reason of a failure, seconds, and the output as
    it will be stored (float32, quantised to 8 bits), or ``None``."""

    status: str
    error: str | None
    seconds: float
    image: np.ndarray | None


def restore_images(
    restorer: Any, images: list[np.ndarray], seeds: list[int], ids: list[str], device: str
) -> list[Restored]:
    """Restore a batch of same-size images; each output checked (:func:`check_output`)."""
    from bench.contracts import RestoreFailures
    from bench.images import to_float, to_tensor, to_uint8

    start = time.perf_counter()
    failures: dict[int, str] = {}
    try:
        if len({image.shape for image in images}) > 1:
            raise ValueError("images of different sizes in one batch")
        batch = to_tensor(images, device)
        try:
            output = restorer.restore_batch(batch, seeds, ids)
        except RestoreFailures as partial:
            output, failures = partial.output, partial.failures
        height, width = images[0].shape[:2]
        expected = (len(images), 3, *restorer.output_size(height, width))
        checked = [check_output(output, expected, i) for i in range(len(images))]
    except PLUGIN_FAILURES as exc:
        reraise_storage(exc)
        message = reason(exc) if len(images) == 1 else f"batch failed: {reason(exc)}"
        return [Restored("failed", message, 0.0, None)] * len(images)
    seconds = (time.perf_counter() - start) / len(images)
    results = []
    for index, (image, problem) in enumerate(checked):
        problem = failures.get(index, problem)
        if problem or image is None:
            results.append(Restored("failed", problem, seconds, None))
        else:
            results.append(Restored("ok", None, seconds, to_float(to_uint8(image))))
    return results


def check_output(
    output: Any, expected: tuple[int, ...], index: int
) -> tuple[np.ndarray | None, str | None]:
    """Image ``index`` of a restorer's output as a numpy image, or why it cannot be used.

    The output must be a float tensor of the ``expected`` shape (the input's, unless the
    restorer's ``output_size`` says otherwise), finite and in [0, 1] up to
    :data:`OUTPUT_TOLERANCE` (then clipped).
    """
    import torch

    if not isinstance(output, torch.Tensor):
        return None, f"restorer returned {type(output).__name__}, not a tensor"
    if tuple(output.shape) != expected:
        return None, f"restorer output has shape {tuple(output.shape)}, expected {expected}"
    if not output.dtype.is_floating_point:
        return None, f"restorer output has dtype {output.dtype}, expected a float tensor"
    image = output[index].detach().float().cpu().numpy().transpose(1, 2, 0)
    if not np.isfinite(image).all():
        return None, "restorer output contains NaN or Inf"
    low, high = float(image.min()), float(image.max())
    if low < -OUTPUT_TOLERANCE or high > 1 + OUTPUT_TOLERANCE:
        return None, f"restorer output range [{low:.3g}, {high:.3g}] is outside [0, 1]"
    return np.clip(image, 0.0, 1.0), None


# -- score -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scored:
    """One metric value of one image: ``value`` (``None`` when there is none) and why not."""

    status: str
    value: float | None
    error: str | None


def score_images(
    metric: Any, images: list[np.ndarray], refs: list[np.ndarray] | None
) -> list[Scored]:
    """One per-image metric over a batch: paired (``refs`` given) or no-reference.

    Raises:
        Exception: what the metric raised (the caller retries image by image).
    """
    from bench.images import to_tensor

    sizes = {image.shape for image in images + list(refs or [])}
    if len(sizes) > 1:
        raise ValueError("output and reference images differ in size")
    pred = to_tensor(images)
    scores = metric.score(pred, to_tensor(refs)) if refs is not None else metric.score(pred)
    return [
        Scored("ok", _finite(value), error)
        for value, error in zip(scores.values, scores.errors, strict=True)
    ]


def extract_features(metric: Any, images: list[np.ndarray]) -> np.ndarray:
    """A set metric's ``N x D`` features of same-size images (float64).

    Raises:
        Exception: what the metric raised (the caller retries image by image).
    """
    from bench.images import to_tensor

    if len({image.shape for image in images}) > 1:
        raise ValueError("images of different sizes in one batch")
    return np.asarray(metric.features(to_tensor(images)), dtype=np.float64)


def _finite(value: float) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


@dataclass(frozen=True)
class SetOutcome:
    """A set metric's value over a set of features: ``None`` with the reason when it failed."""

    status: str
    value: float | None
    n: int
    error: str | None = None
    extra: dict[str, Any] | None = None


def set_value(metric: Any, features: np.ndarray, reference: Any) -> SetOutcome:
    """``metric.value(features, reference)``; too few images or a singular covariance fail the
    value with the reason, never the caller."""
    try:
        result = metric.value(features, reference)
    except PLUGIN_FAILURES as exc:
        return SetOutcome("failed", None, len(features), reason(exc))
    return SetOutcome("ok", _finite(result.value), int(result.n), None, result.extra)
