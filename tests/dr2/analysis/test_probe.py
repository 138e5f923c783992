"""The linear probe: chance for identical inputs, grouped folds, gradients; MMD."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from dr2.analysis.distances import band
from dr2.analysis.experiment import schedule
from dr2.analysis.features import spectral_features
from dr2.analysis.probe import fit_logistic, mmd, predict, probe_accuracy
from dr2.analysis.tables import first_invariant_step


def test_identical_inputs_give_exactly_chance():
    rng = np.random.default_rng(0)
    faces = rng.standard_normal((20, 6))
    features = np.vstack([faces, faces, faces])  # three "types", the same features
    labels = np.repeat([0, 1, 2], 20)
    groups = np.tile(np.arange(20), 3)
    result = probe_accuracy(features, labels, groups)
    assert result.chance == pytest.approx(1 / 3)
    assert result.accuracy == pytest.approx(1 / 3)
    assert result.indistinguishable


def test_same_images_diffused_apart_are_at_chance():
    """Clean faces against themselves under independent noise: no signal to find."""
    generator = torch.Generator().manual_seed(0)
    faces = torch.rand((40, 3, 32, 32), generator=generator) * 2 - 1
    a = float(schedule(100)[20])

    def diffuse(x: torch.Tensor) -> torch.Tensor:
        return a**0.5 * x + (1 - a) ** 0.5 * torch.randn(x.shape, generator=generator)

    features = np.vstack([spectral_features(diffuse(faces)), spectral_features(diffuse(faces))])
    result = probe_accuracy(features, np.repeat([0, 1], 40), np.tile(np.arange(40), 2))
    assert result.indistinguishable
    assert abs(result.accuracy - 0.5) < 0.15


def test_separable_groups_are_found():
    rng = np.random.default_rng(1)
    features = rng.standard_normal((60, 4))
    labels = np.repeat([0, 1], 30)
    features[labels == 1, 0] += 6.0
    result = probe_accuracy(features, labels, np.arange(60))
    assert result.accuracy == 1.0
    assert result.p_value < 1e-10
    assert not result.indistinguishable


def test_folds_never_split_a_face():
    """Labels tied to face identity: a probe that saw the face would score 100 %."""
    faces = np.arange(40)
    features = np.eye(40)[np.repeat(faces, 2)]
    labels = np.repeat(faces % 2, 2)
    result = probe_accuracy(features, labels, np.repeat(faces, 2))
    assert result.accuracy <= 0.5


def penalised_gradient(weights, features, labels, penalty, bias_penalty=1e-6):
    """Gradient of the mean log-loss + penalty / (2n) ||W||^2, written out independently."""
    n = len(features)
    design = np.hstack([features, np.ones((n, 1))])
    logits = design @ weights
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    targets = np.eye(weights.shape[1])[labels]
    ridge = np.append(np.full(features.shape[1], penalty), bias_penalty)[:, None]
    return design.T @ (probabilities - targets) / n + ridge * weights / n


@pytest.mark.parametrize("classes", [2, 4])
def test_logistic_fit_is_the_penalised_optimum(classes):
    rng = np.random.default_rng(2)
    features = rng.standard_normal((80, 3))
    labels = np.digitize(features[:, 0] + 0.3 * rng.standard_normal(80), [-0.7, 0, 0.7])
    labels = labels % classes
    weights = fit_logistic(features, labels, classes, penalty=1.0)
    assert weights.shape == (4, classes)
    assert np.all(weights[:, -1] == 0)  # the reference class
    # optimality for the free classes (the last column is fixed by the parametrisation)
    assert np.abs(penalised_gradient(weights, features, labels, 1.0)[:, :-1]).max() < 1e-7


def test_binary_fit_matches_scipy():
    rng = np.random.default_rng(5)
    features = rng.standard_normal((60, 2))
    labels = (features @ [1.5, -1.0] + rng.standard_normal(60) > 0).astype(int)
    design = np.hstack([features, np.ones((60, 1))])
    sign = 2 * labels - 1  # class 0 has the free logit: p(0) = sigmoid(design @ w)

    def objective(w: np.ndarray) -> float:
        return (
            np.mean(np.logaddexp(0, sign * (design @ w)))
            + 0.5 * (w[:2] @ w[:2] + 1e-6 * w[2] ** 2) / 60
        )

    reference = minimize(objective, np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x
    weights = fit_logistic(features, labels, 2, penalty=1.0)
    np.testing.assert_allclose(weights[:, 0], reference, atol=1e-5)
    assert np.mean(predict(weights, features) == labels) > 0.8


def test_paired_mmd_by_brute_force():
    rng = np.random.default_rng(6)
    first, second = rng.standard_normal((6, 3)), rng.standard_normal((6, 3)) + 0.5
    pooled = np.vstack([first, second])
    a = (first - pooled.mean(0)) / pooled.std(0)
    b = (second - pooled.mean(0)) / pooled.std(0)

    def k(x, y):
        return (x @ y / 3 + 1) ** 3

    total = sum(
        k(a[i], a[j]) + k(b[i], b[j]) - k(a[i], b[j]) - k(b[i], a[j])
        for i in range(6)
        for j in range(6)
        if i != j
    )
    assert mmd(first, second) == pytest.approx(total / 30)


def test_paired_mmd_of_nearly_identical_versions_is_near_zero():
    rng = np.random.default_rng(7)
    faces = rng.standard_normal((30, 8))
    assert abs(mmd(faces, faces + 0.01 * rng.standard_normal(faces.shape))) < 0.01


def test_mmd_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(3)
    same = mmd(rng.standard_normal((200, 5)), rng.standard_normal((200, 5)))
    shifted = mmd(rng.standard_normal((200, 5)), rng.standard_normal((200, 5)) + 1.0)
    assert abs(same) < 0.05
    assert shifted > 0.5


def test_high_frequency_types_reach_chance_sooner_after_low_pass():
    """Set level: the probe cannot tell two Nyquist-band degradations apart after Phi_N."""
    size, faces, steps = 32, 40, [0, 5, 10, 20, 40, 60]
    generator = torch.Generator().manual_seed(4)
    coarse = torch.rand((faces, 3, 4, 4), generator=generator) * 2 - 1
    clean = torch.nn.functional.interpolate(coarse, size=size, mode="bicubic")
    checker = (-1.0) ** (torch.arange(size)[:, None] + torch.arange(size)[None, :])
    fine = torch.randn((faces, 3, size, size), generator=generator) * checker
    types = [clean + 0.3 * fine, clean]  # with and without a high-frequency pattern
    alphas = schedule(100)
    labels, groups = np.repeat([0, 1], faces), np.tile(np.arange(faces), 2)
    verdicts: dict[int, list[bool]] = {1: [], 4: []}
    for t in steps:
        a = float(alphas[t])
        diffused = torch.cat(
            [a**0.5 * x + (1 - a) ** 0.5 * torch.randn(x.shape, generator=generator) for x in types]
        )
        for factor in verdicts:
            features = spectral_features(band(size, factor)(diffused), bins=8)
            verdicts[factor].append(probe_accuracy(features, labels, groups).indistinguishable)
    full = first_invariant_step(steps, verdicts[1])
    low = first_invariant_step(steps, verdicts[4])
    assert low is not None and full is not None
    assert low < full
