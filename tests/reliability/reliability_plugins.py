"""Plugins that misbehave on purpose, registered in-process under names starting with ``test_``.

- ``test_faulty``: the identity, except on the images whose id contains ``on``, where it
  commits ``fault``;
- ``test_needs_file``: the identity, unavailable until its ``file`` exists (missing weights);
- ``test_flaky``: the identity, failing while its ``gate`` file exists (a transient failure);
- ``test_grain``: adds per-image seeded noise (a stochastic restorer);
- ``test_mean``: a cheap no-reference metric; ``test_spread``: a set metric;
- ``test_hostile``: a dataset whose one image has an id chosen by the test.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from bench.contracts import (
    Dataset,
    Item,
    NoReferenceMetric,
    RestoreFailures,
    Restorer,
    Scores,
    SetMetric,
    SetValue,
    Unavailable,
)
from bench.files import StorageError
from bench.registry import DATASETS, METRICS, RESTORERS

Fault = Literal[
    "none",
    "nan",
    "inf",
    "range",
    "slightly_out",
    "size",
    "count",
    "integer",
    "double",
    "numpy",
    "raise",
    "partial",
    "exit",
]


class Faulty(Restorer):
    """The identity, except on the images whose id contains ``on``."""

    version = 1
    description = "identity that misbehaves on chosen images"

    @dataclass(frozen=True)
    class Params:
        fault: Fault = "none"
        on: str = "bad"

    def restore(self, images: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        return images.clone()

    def restore_batch(
        self, images: torch.Tensor, seeds: Sequence[int], ids: Sequence[str]
    ) -> torch.Tensor:
        hit = [i for i, image_id in enumerate(ids) if self.params.on in image_id]
        output = images.clone()
        if not hit or self.params.fault == "none":
            return output
        return self._misbehave(output, hit, ids)

    def _misbehave(self, output: torch.Tensor, hit: list[int], ids: Sequence[str]):
        fault = self.params.fault
        if fault in ("nan", "inf"):
            output[hit] = float(fault)
        elif fault == "range":
            output[hit] = output[hit] * 3.0 - 1.0
        elif fault == "slightly_out":
            output[hit] = output[hit] * 0 + 1.0005  # within the 1e-3 tolerance: clipped
        elif fault == "size":
            return output[..., :-2, :]
        elif fault == "count":
            return output[:-1]
        elif fault == "integer":
            return (output * 255).round().to(torch.uint8)
        elif fault == "double":
            return output.double()
        elif fault == "numpy":
            return output.numpy()
        elif fault == "raise":
            raise RuntimeError(f"cannot restore {ids[hit[0]]} <img src=x onerror=alert(1)>")
        elif fault == "partial":
            raise RestoreFailures(output, {i: f"no face found in {ids[i]}" for i in hit})
        elif fault == "exit":
            sys.exit(2)
        return output


class Mean(NoReferenceMetric):
    version = 1
    description = "mean value"
    higher_is_better = True

    def score(self, pred: torch.Tensor) -> Scores:
        return Scores.ok(pred.mean(dim=(1, 2, 3)).double().numpy())


class NeedsFile(Restorer):
    """The identity, once ``file`` exists (a stand-in for missing weights)."""

    version = 1
    description = "identity that needs a file"

    @dataclass(frozen=True)
    class Params:
        file: str = "weights.pth"

    def load(self, device: str = "cpu") -> None:
        if not Path(self.params.file).exists():
            raise Unavailable(f"missing weights {self.params.file}: put the file there")

    def restore(self, images: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        return images.clone()


class Flaky(Restorer):
    """The identity, except that it fails every image while ``gate`` exists (a transient
    failure: a timeout, a busy GPU, a full scratch disk)."""

    version = 1
    description = "identity that fails while a file exists"

    @dataclass(frozen=True)
    class Params:
        gate: str = "failing"

    def restore(self, images: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        if Path(self.params.gate).exists():
            raise RuntimeError(f"transient failure ({self.params.gate} exists)")
        return images.clone()


class Grain(Restorer):
    """Adds noise seeded by each image's seed: its output depends on nothing else."""

    version = 1
    description = "adds per-image seeded noise"
    stochastic = True

    def restore(self, images: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        noise = [
            torch.rand(images.shape[1:], generator=torch.Generator().manual_seed(seed))
            for seed in seeds
        ]
        return (images * 0.9 + torch.stack(noise) * 0.1).clamp(0, 1)


class Spread(SetMetric):
    """Distance between the mean colours of a set and of its reference."""

    version = 1
    description = "distance of mean colours"
    higher_is_better = False

    def features(self, images: torch.Tensor) -> np.ndarray:
        return images.mean(dim=(2, 3)).double().numpy()

    def value(self, features: np.ndarray, reference: np.ndarray) -> SetValue:
        gap = np.abs(features.mean(axis=0) - np.asarray(reference).mean(axis=0)).sum()
        return SetValue(float(gap), len(features))


class Hostile(Dataset):
    """One image served under an id chosen by the test (ids that try to leave the run folder)."""

    version = 1
    description = "one image under a chosen id"

    @dataclass(frozen=True)
    class Params:
        image: Path
        id: str = "../escape.png"

    def items(self) -> list[Item]:
        return [Item(id=self.params.id, gt=Path(self.params.image))]


PLUGINS = {
    RESTORERS: {
        "test_faulty": Faulty,
        "test_flaky": Flaky,
        "test_grain": Grain,
        "test_needs_file": NeedsFile,
    },
    METRICS: {"test_mean": Mean, "test_spread": Spread},
    DATASETS: {"test_hostile": Hostile},
}


def register() -> None:
    for registry, plugins in PLUGINS.items():
        for name, cls in plugins.items():
            if name not in registry.names():
                registry.register(name, cls, source="tests")


def unregister() -> None:
    for registry, plugins in PLUGINS.items():
        for name in plugins:
            registry.unregister(name)


if os.environ.get("DR2BENCH_TEST_PLUGINS"):
    register()


def fail_to_write(path: str) -> None:
    """A unit of work that meets a full disk (run in an isolated worker by the tests)."""
    raise StorageError(errno.ENOSPC, f"cannot write {path}: No space left on device")
