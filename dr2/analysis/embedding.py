"""A 2D embedding of image features by principal component analysis (numpy SVD).

Features are standardised (zero mean, unit variance per feature; constant features are left at
zero) and projected on their two leading principal directions. The sign of each direction is
fixed (largest absolute loading positive), so the same data always gives the same picture.

Example:
    >>> rng = np.random.default_rng(0)
    >>> pca_2d(rng.standard_normal((10, 4))).shape
    (10, 2)
"""

from __future__ import annotations

import numpy as np


def pca_2d(features: np.ndarray) -> np.ndarray:
    """``(n, F)`` features to ``(n, 2)`` coordinates on the first two principal components."""
    features = np.asarray(features, dtype=np.float64)
    centred = features - features.mean(axis=0)
    scale = centred.std(axis=0)
    scale[scale == 0] = 1.0
    standardised = centred / scale
    _, _, directions = np.linalg.svd(standardised, full_matrices=False)
    directions = directions[:2]
    if directions.shape[0] < 2:
        directions = np.vstack([directions, np.zeros((2 - len(directions), features.shape[1]))])
    signs = np.sign(directions[np.arange(2), np.argmax(np.abs(directions), axis=1)])
    signs[signs == 0] = 1.0
    return standardised @ (directions * signs[:, None]).T


def separation(coordinates: np.ndarray, labels: np.ndarray) -> float:
    """Between-group over total variance of 2D coordinates (0: merged, 1: separated points).

    Example:
        >>> separation(np.array([[0.0, 0], [0, 0], [1, 1], [1, 1]]), np.array([0, 0, 1, 1]))
        1.0
    """
    coordinates = np.asarray(coordinates, dtype=np.float64)
    total = np.sum((coordinates - coordinates.mean(axis=0)) ** 2)
    if total == 0:
        return 0.0
    between = sum(
        np.sum(labels == g)
        * np.sum((coordinates[labels == g].mean(axis=0) - coordinates.mean(axis=0)) ** 2)
        for g in np.unique(labels)
    )
    return float(between / total)
