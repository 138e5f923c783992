"""DR2's stage-one output as a degradation: the input of DR2 augmentation (paper section 3.4).

To train an enhancer for DR2's coarse outputs, the paper degrades clean faces with DR2 itself,
``y = DR2(x) * k_sigma``; the ``dr2_aug`` chain is that model (this step, then a Gaussian blur).
The face is restored by the ``dr2`` restorer with the given N and tau and its per-image seed.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from degradations.base import SEED_HIGH, Field, SampledDegradation


class Dr2Output(SampledDegradation):
    """Replace the image by DR2's stage-one output ``x0_hat`` (low-pass N, output step tau)."""

    severities = {
        1: {"N": 4, "tau": 10},
        2: {"N": 4, "tau": 20},
        3: {"N": 8, "tau": 25},
        4: {"N": 8, "tau": 35},
        5: {"N": 16, "tau": 45},
    }
    version = 1
    description = "DR2 stage one applied to the face (DR2 augmentation): low-pass N, step tau"
    fields = {
        "N": Field(int, 1, 64, unit="factor"),
        "tau": Field(int, 0, 99, unit="step of 100"),
        "seed": Field(int, 0, SEED_HIGH, unit="seed"),
        "weights": Field(str, unit="dr2 weights"),
    }
    defaults = {"N": {"choice": [4, 8]}, "tau": [20, 40], "seed": [0, SEED_HIGH], "weights": "demo"}

    def transform(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        from bench.images import to_numpy, to_tensor

        restorer = _restorer(params["N"], params["tau"], params["weights"])
        return to_numpy(restorer.restore(to_tensor(image), [params["seed"]]))[0]


@functools.cache
def _restorer(factor: int, tau: int, weights: str) -> Any:
    """A loaded ``dr2`` restorer, one per process and setting."""
    from bench.registry import RESTORERS

    restorer = RESTORERS.create("dr2", N=factor, tau=tau, weights=weights)
    restorer.load("cpu")
    return restorer
