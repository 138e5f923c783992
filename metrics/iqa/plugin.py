"""The ``pyiqa`` metric plugin: ``pyiqa.<name>`` is pyiqa's metric ``<name>`` as a dr2bench metric.

One registered plugin, ``pyiqa``, whose tags are the names in ``table.yaml``. A metric's kind and
direction are class attributes in dr2bench's contracts (the runner reads them from the class of
the instance), and here they differ per tag, so :class:`Pyiqa` is a factory: creating it builds
an instance of the metric's own class, generated from its table row at import (``PyiqaMusiq``, a
:class:`bench.contracts.NoReferenceMetric` with ``higher_is_better = True``; ``PyiqaFsim``, a
:class:`bench.contracts.PairedMetric`). So ``type(METRICS.create("pyiqa.fsim")).kind`` is
``"paired"``, and every instance honours the contract of its kind. The attributes of the factory
itself (``METRICS.get("pyiqa")``) only describe the family: read kind and direction from an
instance, as the runner and ``dr2bench score`` do.

Scoring follows dr2bench's conventions and pyiqa's: batches are quantised to 8 bits
(:func:`metrics.common.quantize_tensor`) and passed to pyiqa as RGB floats in [0, 1] on the
chosen device, ``N`` images per call (one per call where the table says ``batch: 1``). A batch
pyiqa rejects is retried image by image, so one bad image fails alone. Files are looked up,
never downloaded (:mod:`metrics.iqa.offline`).

Example:
    >>> from bench.registry import METRICS
    >>> metric = METRICS.create("pyiqa.musiq")  # doctest: +SKIP
    >>> metric.load("cuda")  # or MissingWeightsError naming the file  # doctest: +SKIP
    >>> metric.score(images).values  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.metadata
import pickle
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from bench.config import ConfigError
from bench.contracts import Metric, MetricKind, NoReferenceMetric, PairedMetric, Scores
from bench.registry import suggest
from metrics.common import cached_network, failed, merge, quantize_tensor, size_mismatch
from metrics.iqa.table import PYIQA_VERSION, BridgedMetric, locate_files, lookup, table

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class PyiqaParams:
    """Attributes:
    metric: pyiqa's name of the metric (the tag: ``pyiqa.musiq`` sets ``musiq``).
    options: Keyword arguments passed on to ``pyiqa.create_metric`` over the metric's defaults
        (for example ``{"crop_border": 4}``); recorded with every value.
    """

    metric: str
    options: dict[str, Any] = field(default_factory=dict)


class Pyiqa(Metric):
    """Factory of the bridged pyiqa metrics; ``pyiqa.<name>`` creates metric ``<name>``."""

    version = 1
    description = f"pyiqa {PYIQA_VERSION} quality metrics (iqa extra); weights never downloaded"
    Params = PyiqaParams
    tags = {name: {"metric": name} for name in table()}
    # The family's attributes; each metric's own class (see the module doc) has its true ones.
    kind: ClassVar[MetricKind] = "no_reference"
    higher_is_better = True

    def __new__(cls, **params: Any) -> Pyiqa:
        name = params.get("metric")
        if not isinstance(name, str):
            raise ConfigError(
                f"pyiqa needs the metric's name: use pyiqa.<name>, one of {', '.join(table())}"
            )
        if name not in table():
            raise ConfigError(
                f"pyiqa has no bridged metric '{name}'{suggest(name, list(table()))} "
                f"(bridged: {', '.join(table())})"
            )
        return super().__new__(METRIC_CLASSES[name])

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.entry: BridgedMetric = lookup(self.params.metric)
        self.device = "cpu"
        self.network: Any = None

    def config(self) -> dict[str, Any]:
        entry = self.entry
        return super().config() | {
            "package": f"pyiqa {installed_version()}",
            "metric_opts": dict(entry.metric_opts) | dict(self.params.options),
            "lower_better": entry.lower_better,
            "score_range": entry.score_range,
            "files": [
                f"{item.file} (written from metrics/data/niqe_pristine.npz)"
                if item.bundled
                else item.file
                for item in entry.files
            ],
            "input": "uint8 RGB as float in [0, 1] (pyiqa's convention)",
        }

    def load(self, device: str = "cpu") -> None:
        files = locate_files(self.entry)  # every missing file named at once, before any import
        self.device = device
        options = repr(sorted(self.params.options.items()))
        key: tuple[str, ...] = ("pyiqa", self.entry.name, options, device)
        key += tuple(sorted(str(path) for path in files.values()))
        self.network = cached_network(key, lambda: build(self.entry, self.params.options, device))

    def _run(self, *batches: torch.Tensor) -> Scores:
        import torch

        from metrics.iqa.offline import guarded

        if self.network is None:
            self.load(self.device)
        inputs = [quantize_tensor(batch.to(self.device)) for batch in batches]
        step = self.entry.batch or len(inputs[0])
        results: list[tuple[float, str | None]] = []
        with guarded(self.entry), torch.no_grad():
            for start in range(0, len(inputs[0]), step):
                results += _scores(self.network, [batch[start : start + step] for batch in inputs])
        return merge(results)


class PyiqaPaired(Pyiqa, PairedMetric):
    """A full-reference pyiqa metric: output vs reference."""

    kind = "paired"

    def score(self, pred: torch.Tensor, ref: torch.Tensor) -> Scores:
        problem = size_mismatch(pred, ref)
        return failed(len(pred), problem) if problem else self._run(pred, ref)


class PyiqaNoReference(Pyiqa, NoReferenceMetric):
    """A no-reference pyiqa metric."""

    kind = "no_reference"

    def score(self, pred: torch.Tensor) -> Scores:
        return self._run(pred)


def build(entry: BridgedMetric, options: dict[str, Any], device: str) -> Any:
    """pyiqa's ``InferenceModel`` for ``entry``, built offline (see :mod:`.offline`).

    Raises:
        bench.weights.MissingWeightsError: pyiqa asked for a file that is not there.
        bench.contracts.Unavailable: a package the metric imports is not installed.
    """
    from bench.contracts import Unavailable
    from bench.weights import MissingWeightsError
    from metrics.iqa.offline import guarded, import_pyiqa, missing_package

    pyiqa = import_pyiqa(entry.name)
    try:  # its arch module, imported before the downloaders are replaced
        pyiqa.archs._lazy_import_arch(entry.metric_opts["type"])
    except ImportError as exc:
        raise Unavailable(missing_package(entry.name, exc)) from exc
    try:
        with guarded(entry):
            return pyiqa.create_metric(entry.name, device=device, **options)
    except MissingWeightsError:
        raise
    except pickle.UnpicklingError as exc:  # torch.load(weights_only=True) refused a checkpoint
        raise Unavailable(
            f"pyiqa.{entry.name}: a checkpoint it loads is a pickle that needs code to load, and "
            f"dr2bench loads only tensors (torch.load weights_only=True); save its state_dict "
            f"again as plain tensors ({_first_line(exc)})"
        ) from exc
    except OSError as exc:  # a model repository that the offline hub cannot complete
        raise Unavailable(
            f"pyiqa.{entry.name} could not load its files offline: {_first_line(exc)}"
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _scores(network: Any, chunk: list[Any]) -> list[tuple[float, str | None]]:
    """``(value, error)`` per image of one pyiqa call; if pyiqa rejects ``chunk``, one per image."""
    try:
        output = network(*chunk)
        values = output.reshape(-1).double().cpu().numpy().tolist()
        if len(values) == len(chunk[0]):
            return [(value, None) for value in values]
        raise ValueError(f"pyiqa returned {len(values)} values for {len(chunk[0])} images")
    except Exception as exc:
        if len(chunk[0]) > 1:
            singles = ([batch[i : i + 1] for batch in chunk] for i in range(len(chunk[0])))
            return [result for single in singles for result in _scores(network, single)]
        return [(float("nan"), f"pyiqa: {type(exc).__name__}: {_first_line(exc)}")]


def installed_version() -> str:
    """The installed pyiqa's version (read from its metadata, without importing it)."""
    try:
        return importlib.metadata.version("pyiqa")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _class_name(name: str) -> str:
    words = re.split(r"[^0-9a-zA-Z]+", name.replace("+", " plus "))
    return "Pyiqa" + "".join(word[:1].upper() + word[1:] for word in words if word)


def _metric_class(entry: BridgedMetric) -> type[Pyiqa]:
    base = PyiqaPaired if entry.kind == "paired" else PyiqaNoReference
    direction = "lower" if entry.lower_better else "higher"
    attributes = {
        "__module__": __name__,
        "__qualname__": _class_name(entry.name),
        "__doc__": f"pyiqa's ``{entry.name}`` ({entry.kind}, {direction} is better).",
        "higher_is_better": not entry.lower_better,
        "description": f"pyiqa {PYIQA_VERSION} {entry.name}: {entry.kind}, {direction} is better",
    }
    return type(_class_name(entry.name), (base,), attributes)


METRIC_CLASSES: dict[str, type[Pyiqa]] = {
    entry.name: _metric_class(entry) for entry in table().values()
}
globals().update({cls.__name__: cls for cls in METRIC_CLASSES.values()})
