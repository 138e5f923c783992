"""A third-party plugin package for dr2bench, as a user would write one."""

from __future__ import annotations

from bench.contracts import Dataset, Degradation, NoReferenceMetric, Restorer, Scores


class FakeBlur(Restorer):
    version = 3
    description = "A third-party restorer that returns its input"

    def restore(self, images, seeds):
        return images.clone()


class FakeMean(NoReferenceMetric):
    version = 1
    description = "Mean pixel value"
    higher_is_better = True

    def score(self, pred):
        return Scores.ok(pred.mean(dim=(1, 2, 3)).double().numpy())


class FakeInvert(Degradation):
    version = 1
    description = "Inverts the image"

    def sample(self, rng, severity=None):
        return {}

    def apply(self, image, params):
        return 1.0 - image


class FakeEmpty(Dataset):
    description = "An empty dataset"

    def items(self):
        return []
