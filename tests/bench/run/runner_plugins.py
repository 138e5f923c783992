"""Cheap plugins for runner tests, registered in-process under names starting with ``test_``."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

import numpy as np
import torch

from bench.contracts import (
    NoReferenceMetric,
    PairedMetric,
    Restorer,
    Scores,
    SetMetric,
    SetValue,
    Unavailable,
)
from bench.registry import METRICS, RESTORERS


class Darken(Restorer):
    version = 1
    description = "multiplies by a factor"

    @dataclass(frozen=True)
    class Params:
        factor: float = 0.5
        sleep: float = 0.0

    def restore(self, images, seeds):
        time.sleep(self.params.sleep * len(images))
        return images * self.params.factor


class Noisy(Restorer):
    version = 1
    description = "adds seeded noise"
    stochastic = True

    def restore(self, images, seeds):
        noise = torch.stack(
            [
                torch.rand(images.shape[1:], generator=torch.Generator().manual_seed(s))
                for s in seeds
            ]
        )
        return (images * 0.9 + noise * 0.1).clamp(0, 1)


class Picky(Restorer):
    version = 1
    description = "fails on bright images, returns NaN on dark ones"

    def restore(self, images, seeds):
        means = images.mean(dim=(1, 2, 3))
        if (means > 0.8).any():
            raise RuntimeError("too bright")
        out = images.clone()
        out[means < 0.1] = float("nan")
        return out


class Hang(Restorer):
    version = 1
    description = "hangs on bright images, kills its own process on dark ones"

    def restore(self, images, seeds):
        means = images.mean(dim=(1, 2, 3))
        if (means > 0.8).any():
            time.sleep(600)
        if (means < 0.1).any():
            os.kill(os.getpid(), signal.SIGKILL)
        return images


class Broken(Restorer):
    version = 1
    description = "always crashes"

    def restore(self, images, seeds):
        raise RuntimeError("boom")


class MeanAbsError(PairedMetric):
    version = 1
    description = "mean absolute error"
    higher_is_better = False
    loads = 0

    def load(self, device="cpu"):
        type(self).loads += 1

    def score(self, pred, ref):
        return Scores.ok((pred - ref).abs().mean(dim=(1, 2, 3)).double().numpy())


class InputDistance(MeanAbsError):
    reference = "input"
    loads = 0


class Brightness(NoReferenceMetric):
    version = 1
    description = "mean value"
    higher_is_better = True

    def score(self, pred):
        return Scores.ok(pred.mean(dim=(1, 2, 3)).double().numpy())


class NeedsWeights(NoReferenceMetric):
    version = 1
    description = "needs a weights file that is not there"
    higher_is_better = True
    loads = 0

    def load(self, device="cpu"):
        type(self).loads += 1
        raise Unavailable("missing weights needed.pt: put it in the weights folder")

    def score(self, pred):
        raise AssertionError("never scored")


class MeanGap(SetMetric):
    version = 1
    description = "distance between mean features"
    higher_is_better = False

    def features(self, images):
        return images.mean(dim=(2, 3)).double().numpy()

    def value(self, features, reference):
        gap = np.abs(features.mean(axis=0) - np.asarray(reference).mean(axis=0)).sum()
        return SetValue(float(gap), len(features))


class MeanGapToReference(MeanGap):
    """MeanGap whose reference can be a folder of images (as FID's ``reference``)."""

    @dataclass(frozen=True)
    class Params:
        reference: str | None = None

    def configured_reference(self):
        from metrics.reference import reference_from

        if self.params.reference is None:
            return None
        return reference_from(self.params.reference, self.features, {"metric": "gap"})

    def value(self, features, reference):
        mean = reference.mu if hasattr(reference, "mu") else np.asarray(reference).mean(axis=0)
        return SetValue(float(np.abs(features.mean(axis=0) - mean).sum()), len(features))


PLUGINS = {
    RESTORERS: {
        "test_darken": Darken,
        "test_noisy": Noisy,
        "test_picky": Picky,
        "test_broken": Broken,
        "test_hang": Hang,
    },
    METRICS: {
        "test_mae": MeanAbsError,
        "test_input_mae": InputDistance,
        "test_brightness": Brightness,
        "test_needs_weights": NeedsWeights,
        "test_meangap": MeanGap,
        "test_gap": MeanGapToReference,
    },
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
