"""Restorers composed in sequence: ``dr2+spar`` runs ``dr2``, then ``spar`` on its output.

Any registered restorers compose, each stage optionally tagged (``dr2.n8t35+codeformer.w07``).
Parameters without a prefix go to the first stage; ``stage.key`` goes to the named stage:

    dr2bench restore --restorer dr2+spar --set N=8 --set tau=35 --set spar.weights=FILE ...

Every stage's output is clipped to [0, 1] and has the input's size, so any restorer can follow
any other (DR2's coarse face, resized back to the input size, is what the enhancer sees, as in
the paper's two-stage pipeline).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.config import ConfigError
from bench.contracts import RestoreFailures, Restorer

if TYPE_CHECKING:
    import torch

SEPARATOR = "+"


class Composite(Restorer):
    """A sequence of restorers; subclasses made by :func:`composite` fix the stage names."""

    stages: tuple[str, ...] = ()

    def __init__(self, **params: Any) -> None:
        from bench.registry import RESTORERS

        self.name = SEPARATOR.join(self.stages)
        bases = [stage.partition(".")[0] for stage in self.stages]
        split: list[dict[str, Any]] = [{} for _ in self.stages]
        for key, value in params.items():
            prefix, dot, rest = key.partition(".")
            if dot and prefix in bases:
                split[bases.index(prefix)][rest] = value
            else:
                split[0][key] = value
        self.parts = []
        for stage, stage_params in zip(self.stages, split, strict=True):
            try:
                self.parts.append(RESTORERS.create(stage, **stage_params))
            except ConfigError as exc:
                raise ConfigError(f"stage '{stage}' of '{self.name}': {exc}") from exc
        self.params = params

    def config(self) -> dict[str, Any]:
        return {
            "stages": [
                {"name": part.name, "version": type(part).version, "params": part.config()}
                for part in self.parts
            ]
        }

    def replace(self, **changes: Any) -> Composite:
        clone = type(self)(**(dict(self.params) | changes))
        clone.name = self.name
        return clone

    @property
    def whole_set(self) -> bool:
        return any(part.whole_set for part in self.parts)

    def weights_files(self) -> list[Path]:
        return [path for part in self.parts for path in part.weights_files()]

    def missing_weights(self) -> list[str]:
        return [why for part in self.parts for why in part.missing_weights()]

    def fingerprint(self) -> dict[str, str]:
        return {path: digest for part in self.parts for path, digest in part.fingerprint().items()}

    def load(self, device: str = "cpu") -> None:
        for part in self.parts:
            part.load(device)

    def take_log(self) -> list[str]:
        return [line for part in self.parts for line in part.take_log()]

    def restore(self, images: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        return self.restore_batch(images, seeds, [str(i) for i in range(len(images))])

    def restore_batch(
        self, images: torch.Tensor, seeds: Sequence[int], ids: Sequence[str]
    ) -> torch.Tensor:
        failures: dict[int, str] = {}
        for part in self.parts:
            try:
                images = part.restore_batch(images, seeds, ids)
            except RestoreFailures as partial:
                images = partial.output
                failures |= {i: f"{part.name}: {why}" for i, why in partial.failures.items()}
            images = images.clamp(0, 1)
        if failures:
            raise RestoreFailures(images, failures)
        return images


@functools.cache
def composite(name: str) -> type[Composite]:
    """The composite restorer class for ``name`` (``"a+b"``, stages possibly tagged).

    Raises:
        bench.registry.RegistryError: a stage is not a registered restorer.
    """
    from bench.registry import RESTORERS

    stages = tuple(name.split(SEPARATOR))
    classes = [RESTORERS.get(stage) for stage in stages]  # unknown stages fail here
    return type(
        "Composite_" + "_".join(s.replace(".", "_") for s in stages),
        (Composite,),
        {
            "stages": stages,
            "version": 1,
            "description": " then ".join(stages),
            "stochastic": any(cls.stochastic for cls in classes),
            "weights": tuple(w for cls in classes for w in cls.weights),
        },
    )
