"""Composed restorers: ``a+b`` runs ``a`` then ``b``, parameters routed by stage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.config import ConfigError
from bench.contracts import RestoreFailures, Restorer
from bench.images import to_tensor
from bench.registry import RESTORERS, RegistryError


def _images() -> torch.Tensor:
    rng = np.random.default_rng(0)
    return to_tensor([rng.random((40, 40, 3), dtype=np.float32) for _ in range(2)])


def test_composition_equals_running_the_stages_in_turn():
    images = _images()
    composed = RESTORERS.create("lanczos+unsharp", **{"unsharp.amount": 2.0})
    assert composed.name == "lanczos+unsharp"
    first = RESTORERS.create("lanczos").restore(images, [0, 1])
    second = RESTORERS.create("unsharp", amount=2.0).restore(first.clamp(0, 1), [0, 1])
    assert torch.equal(composed.restore_batch(images, [0, 1], ["a", "b"]), second.clamp(0, 1))
    config = composed.config()
    assert [s["name"] for s in config["stages"]] == ["lanczos", "unsharp"]
    assert config["stages"][1]["params"]["amount"] == 2.0


def test_unprefixed_parameters_go_to_the_first_stage():
    composed = RESTORERS.create("dr2.n8t35+unsharp", tau=20)
    assert (composed.parts[0].params.N, composed.parts[0].params.tau) == (8, 20)
    assert RESTORERS.get("dr2+unsharp").stochastic
    assert "dr2+spar" in RESTORERS and "dr2+nope" not in RESTORERS


def test_errors_name_the_stage():
    with pytest.raises(RegistryError, match="did you mean 'unsharp'"):
        RESTORERS.create("lanczos+unsharpp")
    with pytest.raises(ConfigError, match="stage 'unsharp' of 'lanczos\\+unsharp'.*amuont"):
        RESTORERS.create("lanczos+unsharp", **{"unsharp.amuont": 1})


class _FailsSecond(Restorer):
    def restore(self, images, seeds):
        raise RestoreFailures(images, {1: "no face"})


def test_partial_failures_of_a_stage_are_reported():
    RESTORERS.register("test_fails_second", _FailsSecond)
    try:
        composed = RESTORERS.create("identity+test_fails_second")
        with pytest.raises(RestoreFailures) as caught:
            composed.restore_batch(_images(), [0, 1], ["a", "b"])
        assert caught.value.failures == {1: "test_fails_second: no face"}
    finally:
        RESTORERS.unregister("test_fails_second")
