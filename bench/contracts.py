"""The plugin contracts: Degradation, Restorer, Metric (paired / no-reference / set-level), Dataset.

Image convention (see :mod:`bench.images`): an image is float32 RGB in [0, 1]. A single image is a
``H x W x 3`` numpy array (degradations, file I/O); a batch is an ``N x 3 x H x W`` torch tensor
(restorers, metrics). This module imports neither torch nor any plugin, so it is cheap to import.

Every plugin has class attributes ``version`` (an integer copied into every record, bumped when
its output changes), ``description`` (one line) and ``Params``, a frozen dataclass of its
parameters; ``Plugin(**params)`` validates them with :func:`bench.config.build`.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from bench.config import build, to_dict
from bench.errors import Unavailable

__all__ = [
    "Dataset",
    "Degradation",
    "Item",
    "Metric",
    "NoParams",
    "NoReferenceMetric",
    "PairedMetric",
    "Plugin",
    "RestoreFailures",
    "Restorer",
    "Scores",
    "SetMetric",
    "SetValue",
    "Unavailable",
]

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class NoParams:
    """Parameters of a plugin that takes none."""


class Plugin(ABC):
    """Base of every plugin: a version, a description and validated, frozen parameters.

    Attributes:
        name: The registered name (with its tag, e.g. ``dr2.n8t35``), set by the registry.
        params: The validated parameters, an instance of ``Params``.
    """

    version: ClassVar[int] = 1
    description: ClassVar[str] = ""
    Params: ClassVar[type] = NoParams
    tags: ClassVar[dict[str, dict[str, Any]]] = {}
    # the bare name is refused: only ``name.tag`` says which number it is (``deg.sface``)
    tag_required: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        self.name = type(self).__name__
        # an instance of the subclass's own Params dataclass
        self.params: Any = build(self.Params, params, where=f"parameters of {type(self).__name__}")

    def config(self) -> dict[str, Any]:
        """The parameters as JSON-ready data, recorded beside every result."""
        return to_dict(self.params)

    def replace(self, **changes: Any) -> Plugin:
        """A copy with some parameters changed."""
        clone = type(self)(**(dataclasses.asdict(self.params) | changes))
        clone.name = self.name
        return clone


class Degradation(Plugin):
    """A degradation: ``sample`` draws parameters, ``apply`` is a pure function of them.

    ``severities`` maps a severity 1..5 to its parameter ranges in physical units (the ladder).
    """

    severities: ClassVar[dict[int, dict[str, Any]]] = {}

    @abstractmethod
    def sample(self, rng: np.random.Generator, severity: int | None = None) -> dict[str, Any]:
        """Draw JSON-ready parameters with ``rng`` (never the global RNG)."""

    @abstractmethod
    def apply(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        """Degrade one ``H x W x 3`` float32 image in [0, 1]; same shape, dtype and range out."""


class Restorer(Plugin):
    """A restorer maps a batch of degraded images to restored images (of the same size, unless
    :meth:`output_size` says otherwise).

    Runners call :meth:`restore_batch` with the image ids (relative paths in the dataset); it
    calls :meth:`restore` unless the restorer needs the ids (the ``folder`` restorer finds its
    precomputed outputs by id; the ``command`` restorer names its files after them). A restorer
    that fails on some images of a batch raises :class:`RestoreFailures`; the runner records
    those images as failed and keeps the others. After each call the runner appends
    :meth:`take_log` to its log; when :attr:`whole_set` is true it passes every image of a set
    (of one size) in a single call.

    Attributes:
        stochastic: Whether the output depends on the per-image seeds.
        native_size: The square size the method works at, or ``None`` for any size.
        weights: Names of the files it needs, as listed in the weights manifest.
        keeps_input: Whether its output is its input (resampled to the output size at most): a
            metric that compares the output with the input (``Metric.reference == "input"``)
            is then trivially perfect for it, and the reports leave it out of its comparisons.
    """

    stochastic: ClassVar[bool] = False
    native_size: ClassVar[int | None] = None
    weights: ClassVar[tuple[str, ...]] = ()
    keeps_input: ClassVar[bool] = False

    def load(self, device: str = "cpu") -> None:
        """Load networks onto ``device``; called once per process before ``restore``.

        Raises:
            bench.weights.MissingWeightsError: a needed file is not there.
        """

    def weights_files(self) -> list[Path]:
        """The weights files this restorer loads, hashed into cache keys; missing ones left out.

        The default looks up the names in ``weights`` (an explicit ``weights`` parameter, if the
        restorer has one and needs a single file, takes precedence).
        """
        return [found for found in self._lookup_weights() if isinstance(found, Path)]

    def missing_weights(self) -> list[str]:
        """Why each weights file it loads is missing here (which file, where to get it)."""
        return [found for found in self._lookup_weights() if isinstance(found, str)]

    def _lookup_weights(self) -> list[Path | str]:
        """Each name in ``weights``: its file, or why it is missing."""
        from bench.weights import MissingWeightsError, locate

        explicit = getattr(self.params, "weights", None) if len(self.weights) == 1 else None
        found: list[Path | str] = []
        for name in self.weights:
            try:
                found.append(locate(name, explicit))
            except MissingWeightsError as exc:
                found.append(str(exc))
        return found

    def fingerprint(self) -> dict[str, str]:
        """sha256 of the files whose bytes decide the outputs, by path: hashed into cache keys.

        By default the weights files; a restorer that reads other files (precomputed results)
        includes them, so that changing them invalidates the cached outputs.
        """
        from bench.files import cached_sha256

        return {str(path): cached_sha256(path) for path in self.weights_files()}

    @abstractmethod
    def restore(self, images: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        """Restore ``N x 3 x H x W`` float32 images in [0, 1]; ``seeds[i]`` seeds image ``i``."""

    def restore_batch(
        self, images: torch.Tensor, seeds: Sequence[int], ids: Sequence[str]
    ) -> torch.Tensor:
        """What runners call: :meth:`restore`, with ``ids[i]`` the id of image ``i``.

        Raises:
            RestoreFailures: some images failed; the others are in its ``output``.
        """
        return self.restore(images, seeds)

    @property
    def whole_set(self) -> bool:
        """Whether runners should pass a whole set in one call (a program run once per folder)."""
        return False

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """The ``(height, width)`` of its output for an input of ``height x width``: the input's
        (a restorer that resamples to another size says so here; any other size is a failure)."""
        return height, width

    def take_log(self) -> list[str]:
        """Log lines written since the last call (an external program's output), then forgotten."""
        return []


MetricKind = Literal["paired", "no_reference", "set"]


@dataclass(frozen=True)
class Scores:
    """Per-image metric values; ``errors[i]`` says why ``values[i]`` is NaN."""

    values: np.ndarray
    errors: tuple[str | None, ...]

    @classmethod
    def ok(cls, values: Sequence[float] | np.ndarray) -> Scores:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
        return cls(array, (None,) * len(array))


@dataclass(frozen=True)
class SetValue:
    """A set-level metric value with the number of images behind it and any extra detail."""

    value: float
    n: int
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


class Metric(Plugin):
    """A metric. ``config()`` records everything that defines its value (its conventions).

    Attributes:
        kind: ``paired`` (output vs a reference image), ``no_reference`` or ``set``.
        higher_is_better: Direction of the metric.
        reference: For paired metrics, what the output is compared with: the ground truth
            (``gt``) or the degraded input (``input``, for unpaired real sets).
    """

    kind: ClassVar[MetricKind]
    higher_is_better: ClassVar[bool]
    reference: ClassVar[Literal["gt", "input"]] = "gt"

    def load(self, device: str = "cpu") -> None:
        """Load networks onto ``device`` once per process.

        Raises:
            bench.weights.MissingWeightsError: the metric's network weights are not there.
        """


class PairedMetric(Metric):
    """A full-reference metric, one value per image pair."""

    kind: ClassVar[MetricKind] = "paired"

    @abstractmethod
    def score(self, pred: torch.Tensor, ref: torch.Tensor) -> Scores:
        """Score ``pred`` against ``ref``, both ``N x 3 x H x W`` float32 in [0, 1]."""


class NoReferenceMetric(Metric):
    """A no-reference metric, one value per image."""

    kind: ClassVar[MetricKind] = "no_reference"

    @abstractmethod
    def score(self, pred: torch.Tensor) -> Scores:
        """Score ``N x 3 x H x W`` float32 images in [0, 1]."""


class SetMetric(Metric):
    """A set-level metric computed from per-image features (streamed batch by batch)."""

    kind: ClassVar[MetricKind] = "set"

    @abstractmethod
    def features(self, images: torch.Tensor) -> np.ndarray:
        """Features of a batch of ``N x 3 x H x W`` float32 images in [0, 1]: ``N x D``."""

    @abstractmethod
    def value(self, features: np.ndarray, reference: np.ndarray | Any) -> SetValue:
        """The metric from this set's features and the reference set's features or statistics."""


@dataclass(frozen=True)
class Item:
    """One image of a dataset.

    Attributes:
        id: Stable identifier: the relative POSIX path of the image inside its dataset.
        lq: The degraded image, or ``None`` when the dataset holds clean images to be degraded.
        gt: The ground truth, or ``None`` for unpaired real images.
        problem: Why this item cannot be used (a missing pair, a duplicate id), or ``None``;
            runners record such items as failed rows instead of dropping them.
    """

    id: str
    lq: Path | None = None
    gt: Path | None = None
    problem: str | None = None


class Dataset(Plugin):
    """A set of images: clean images to degrade, paired LQ/GT images or unpaired real LQ images."""

    @abstractmethod
    def items(self) -> list[Item]:
        """The items, sorted by id."""


class RestoreFailures(Exception):
    """Some images of a batch could not be restored; the others were.

    Attributes:
        output: The whole ``N x 3 x H x W`` batch; the rows of failed images hold placeholders
            (their input) that must never be scored.
        failures: Why each failed image failed, by its index in the batch.

    Example:
        >>> raise RestoreFailures(out, {2: "no output faces/7_00.png"})  # doctest: +SKIP
    """

    def __init__(self, output: torch.Tensor, failures: dict[int, str]) -> None:
        reasons = "; ".join(f"image {i}: {why}" for i, why in sorted(failures.items()))
        super().__init__(f"{len(failures)} of {len(output)} images failed: {reasons}")
        self.output = output
        self.failures = dict(failures)
