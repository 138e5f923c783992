"""Set-level distances between groups of diffused images: a linear probe and MMD.

The probe is multinomial logistic regression (L2 penalty, features standardised on the training
folds) that tells the groups (degradation types, or clean against degraded) apart. Its accuracy
is measured on held-out *faces*: folds split by image, so every version of a face is in the same
fold and the probe cannot recognise a face it trained on. As the groups become indistinguishable
the accuracy falls to chance, ``1 / groups``. The groups count as *indistinguishable* when the
held-out accuracy is not significantly above chance: a one-sided binomial test at ``alpha``
(0.05). Cross-validated predictions are not fully independent, so the test is approximate.

MMD is the unbiased squared maximum mean discrepancy with KID's cubic polynomial kernel
``(x . y / d + 1)^3`` on features standardised over both sets, for paired sets (row i of each
from the same face).

Example:
    >>> rng = np.random.default_rng(0)
    >>> features = rng.standard_normal((40, 3))
    >>> result = probe_accuracy(features, np.repeat([0, 1], 20), np.tile(np.arange(20), 2))
    >>> result.chance
    0.5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_ALPHA = 0.05
DEFAULT_FOLDS = 5
DEFAULT_PENALTY = 1.0
BIAS_PENALTY = 1e-6
NEWTON_STEPS = 50
HALVINGS = 30
GRADIENT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class ProbeResult:
    """Held-out accuracy of a linear probe and whether it is above chance.

    Attributes:
        accuracy: Fraction of held-out samples classified correctly.
        chance: ``1 / groups``.
        n: Held-out predictions (every sample once).
        p_value: One-sided binomial test of ``accuracy > chance``.
        alpha: Significance level.
    """

    accuracy: float
    chance: float
    n: int
    p_value: float
    alpha: float = DEFAULT_ALPHA

    @property
    def indistinguishable(self) -> bool:
        """The accuracy is not significantly above chance."""
        return self.p_value >= self.alpha


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, classes: int, penalty: float
) -> np.ndarray:
    """Weights ``(F + 1, classes)`` of L2-penalised softmax regression, by Newton's method.

    Minimises the mean negative log-likelihood plus ``penalty / (2 n) ||W||^2`` over the feature
    weights (the bias row gets a tiny penalty only, for uniqueness). The last class's logit is
    fixed at 0 (the model is invariant to a shared shift), so the problem is strictly convex;
    each Newton step is halved until the loss falls.
    """
    design = np.hstack([features, np.ones((len(features), 1))])
    n, width = design.shape
    free = classes - 1
    targets = np.eye(classes)[labels][:, :free]
    ridge = np.full(width, float(penalty))
    ridge[-1] = BIAS_PENALTY
    weights = np.zeros((width, free))
    value = _loss(design, weights, targets, ridge)
    for _ in range(NEWTON_STEPS):
        probabilities = _probabilities(design @ weights)[:, :free]
        gradient = design.T @ (probabilities - targets) / n + ridge[:, None] * weights / n
        if np.abs(gradient).max() < GRADIENT_TOLERANCE:
            break
        hessian = _hessian(design, probabilities) + np.diag(np.repeat(ridge, free)) / n
        step = np.linalg.solve(hessian, gradient.ravel()).reshape(width, free)
        for _ in range(HALVINGS):
            candidate = weights - step
            new_value = _loss(design, candidate, targets, ridge)
            if new_value <= value:
                break
            step = step / 2
        else:
            break
        weights, value = candidate, new_value
    return np.hstack([weights, np.zeros((width, 1))])


def _hessian(design: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Hessian of the mean log-loss in the ``(feature, class)`` order of the weights."""
    n, width = design.shape
    free = probabilities.shape[1]
    blocks = np.empty((width, free, width, free))
    for k in range(free):
        for m in range(k, free):
            weight = probabilities[:, k] * ((k == m) - probabilities[:, m])
            block = (design * weight[:, None]).T @ design / n
            blocks[:, k, :, m] = block
            blocks[:, m, :, k] = block
    return blocks.reshape(width * free, width * free)


def _probabilities(free_logits: np.ndarray) -> np.ndarray:
    logits = np.hstack([free_logits, np.zeros((len(free_logits), 1))])
    logits -= logits.max(axis=1, keepdims=True)
    exponentials = np.exp(logits)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def _loss(design: np.ndarray, weights: np.ndarray, targets: np.ndarray, ridge: np.ndarray) -> float:
    free_logits = design @ weights
    logits = np.hstack([free_logits, np.zeros((len(design), 1))])
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    likelihood = (targets * free_logits).sum(axis=1) - log_norm
    return float(-likelihood.mean() + 0.5 * np.sum(ridge[:, None] * weights**2) / len(design))


def predict(weights: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The most probable class of each row (ties go to the lowest class)."""
    design = np.hstack([features, np.ones((len(features), 1))])
    return np.argmax(design @ weights, axis=1)


def probe_accuracy(
    features: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    folds: int = DEFAULT_FOLDS,
    penalty: float = DEFAULT_PENALTY,
    alpha: float = DEFAULT_ALPHA,
) -> ProbeResult:
    """Held-out accuracy of a linear probe predicting ``labels`` from ``features``.

    Args:
        features: ``(n, F)`` features.
        labels: ``(n,)`` integer groups 0..G-1.
        groups: ``(n,)`` face of each sample: folds never split a face.
        folds: number of folds (at most the number of faces).
        penalty: L2 penalty on the standardised weights (times 1 / n).
        alpha: significance level of the test against chance.
    """
    from scipy.stats import binomtest
    from threadpoolctl import threadpool_limits

    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    faces = np.unique(groups)
    classes = int(labels.max()) + 1
    if classes < 2 or len(faces) < 2:
        raise ValueError("a probe needs at least two groups and two faces")
    fold_of_face = dict(zip(faces, np.arange(len(faces)) % min(folds, len(faces)), strict=True))
    fold = np.array([fold_of_face[g] for g in groups])
    correct = 0
    with threadpool_limits(limits=1, user_api="blas"):  # tiny matrices: threads only contend
        for k in np.unique(fold):
            train, test = fold != k, fold == k
            mean = features[train].mean(axis=0)
            scale = features[train].std(axis=0)
            scale[scale == 0] = 1.0
            train_features = (features[train] - mean) / scale
            weights = fit_logistic(train_features, labels[train], classes, penalty)
            predicted = predict(weights, (features[test] - mean) / scale)
            correct += int(np.sum(predicted == labels[test]))
    chance = 1.0 / classes
    p_value = binomtest(correct, len(labels), chance, alternative="greater").pvalue
    return ProbeResult(correct / len(labels), chance, len(labels), float(p_value), alpha)


def mmd(first: np.ndarray, second: np.ndarray) -> float:
    """Unbiased MMD^2 with KID's cubic kernel between paired feature sets, standardised jointly.

    Row i of both sets comes from the same face, so the pairs (i, i) are left out of every sum
    (the U-statistic over pairs of faces); leaving them in the cross term, as an unpaired
    estimator does, would bias the value below zero for nearly identical versions of a face.
    """
    first, second = np.asarray(first, np.float64), np.asarray(second, np.float64)
    if first.shape != second.shape or len(first) < 2:
        raise ValueError(
            f"paired sets of at least 2 rows needed, got {first.shape}, {second.shape}"
        )
    pooled = np.vstack([first, second])
    mean, scale = pooled.mean(axis=0), pooled.std(axis=0)
    scale[scale == 0] = 1.0
    a, b = (first - mean) / scale, (second - mean) / scale
    dims, n = a.shape[1], len(a)

    def kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x @ y.T / dims + 1.0) ** 3

    terms = kernel(a, a) + kernel(b, b) - kernel(a, b) - kernel(b, a)
    return float((terms.sum() - np.trace(terms)) / (n * (n - 1)))
