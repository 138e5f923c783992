"""What every built-in degradation shares: typed parameters, sampling specs and severity ladders.

A degradation declares its parameters as :class:`Field` objects (type, valid interval, unit).
Parameter values are drawn from *specs*, written the same way in Python ladders and YAML chains:

================================  =================================================================
spec                              meaning
================================  =================================================================
``2.5``, ``true``, ``bicubic``    that value, always
``[low, high]``                   uniform on the closed interval (integer fields: every integer in
                                  it, equally likely)
``{choice: [4, 8, 12]}``          one of the listed values, equally likely
================================  =================================================================

The specs used for one draw are, later ones winning: the class's ``defaults`` (its continuous
ranges), the ladder rung of the requested severity, and the parameters the instance was created
with (``GaussianBlur(kernel_size=41)``). Fields are drawn in declaration order and a fixed value
draws nothing from the generator, so a draw is a pure function of the generator state.

Example:
    >>> import numpy as np
    >>> from degradations.gaussian_blur import GaussianBlur
    >>> GaussianBlur().sample(np.random.default_rng(0), severity=2)
    {'sigma': 2.0, 'kernel_size': 41}
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bench.chains import DegradationError, check_image
from bench.contracts import Degradation

SEED_HIGH = 2**32 - 1
"""Largest noise seed: noise is drawn with ``numpy.random.RandomState``, as basicsr does."""


@dataclass(frozen=True)
class Field:
    """One parameter of a degradation.

    Attributes:
        kind: ``float``, ``int``, ``bool`` or ``str``.
        low: Smallest valid value (numbers only).
        high: Largest valid value (numbers only).
        choices: The valid values of a ``str`` field.
        unit: The physical unit, shown by ``dr2bench list degradations`` and in the docs.
        odd: The value must be odd (kernel sizes).
    """

    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    unit: str = ""
    odd: bool = False

    def check(self, value: Any, where: str) -> Any:
        """Return ``value`` as this field's type, or raise naming ``where``."""
        if self.kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:
                raise DegradationError(
                    f"{where} is an integer too large for a float; the range is "
                    f"[{self.low}, {self.high}]"
                ) from None
        elif not isinstance(value, self.kind) or (self.kind is int and isinstance(value, bool)):
            raise DegradationError(
                f"{where} must be {self.kind.__name__}, got {type(value).__name__} {value!r}"
            )
        if self.choices and value not in self.choices:
            raise DegradationError(f"{where} is {value!r}; choose one of {', '.join(self.choices)}")
        if self.low is not None and self.high is not None and not self.low <= value <= self.high:
            raise DegradationError(f"{where} = {value!r} is outside [{self.low}, {self.high}]")
        if self.odd and value % 2 != 1:
            raise DegradationError(f"{where} = {value!r} must be odd")
        return value

    def check_spec(self, spec: Any, where: str) -> None:
        """Raise unless ``spec`` is a valid fixed value, range or choice for this field."""
        if isinstance(spec, Mapping):
            if set(spec) != {"choice"} or not isinstance(spec["choice"], list | tuple):
                raise DegradationError(f"{where}: a choice is written {{choice: [a, b, ...]}}")
            if not spec["choice"]:
                raise DegradationError(f"{where}: a choice needs at least one value")
            for index, option in enumerate(spec["choice"]):
                self.check(option, f"{where} choice {index}")
        elif isinstance(spec, list | tuple):
            if len(spec) != 2 or self.kind not in (int, float):
                raise DegradationError(f"{where}: a range is [low, high] on a numeric parameter")
            low, high = (self.check(bound, f"{where} range bound") for bound in spec)
            if low > high:
                raise DegradationError(f"{where}: range [{low}, {high}] has low > high")
        else:
            self.check(spec, where)

    def draw(self, spec: Any, rng: np.random.Generator) -> Any:
        """One value from a checked spec; fixed values draw nothing from ``rng``."""
        if isinstance(spec, Mapping):
            options = spec["choice"]
            return self.check(options[int(rng.integers(len(options)))], "choice")
        if isinstance(spec, list | tuple):
            low, high = spec
            if self.kind is int:
                return int(rng.integers(low, high, endpoint=True))
            return float(rng.uniform(low, high))
        return self.check(spec, "value")


class SampledDegradation(Degradation):
    """Base of the built-in degradations: sampling from specs, parameter and image checks.

    Subclasses set ``severities`` (the ladder, first in the class body), ``version``,
    ``description``, ``fields``, ``defaults`` and implement :meth:`transform`. ``Params`` is built
    from ``fields``: one optional spec per field.
    """

    fields: ClassVar[dict[str, Field]] = {}
    defaults: ClassVar[dict[str, Any]] = {}
    keeps_size: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.Params = dataclasses.make_dataclass(
            f"{cls.__name__}Params",
            [(name, Any, dataclasses.field(default=None)) for name in cls.fields],
            frozen=True,
        )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.name = _snake_case(type(self).__name__)
        for key, spec in self.given().items():
            self.fields[key].check_spec(spec, f"{self.name}: parameter '{key}'")

    def given(self) -> dict[str, Any]:
        """The specs this instance was created with (fields left unset are not included)."""
        return {k: v for k, v in dataclasses.asdict(self.params).items() if v is not None}

    def specs(self, severity: int | None = None) -> dict[str, Any]:
        """The spec of every field at ``severity`` (``None`` or ``0``: the continuous ranges).

        Raises:
            DegradationError: the severity is not on the ladder.
        """
        if severity is None or (severity == 0 and not isinstance(severity, bool)):
            rung: dict[str, Any] = {}
        elif type(severity) is int and severity in self.severities:
            rung = self.severities[severity]
        else:
            levels = ", ".join(str(level) for level in sorted(self.severities))
            raise DegradationError(
                f"{self.name}: severity {severity!r} is not on its ladder ({levels}); "
                "use 0 or None for the continuous ranges"
            )
        specs = self.defaults | rung | self.given()
        missing = [name for name in self.fields if name not in specs]
        if missing:
            raise DegradationError(f"{self.name}: no value or range for {', '.join(missing)}")
        return {name: specs[name] for name in self.fields}

    def sample(self, rng: np.random.Generator, severity: int | None = None) -> dict[str, Any]:
        """Draw JSON-ready parameters at ``severity`` with ``rng``."""
        specs = self.specs(severity)
        for key, spec in specs.items():
            self.fields[key].check_spec(spec, f"{self.name}: parameter '{key}'")
        return {key: self.fields[key].draw(spec, rng) for key, spec in specs.items()}

    def check_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` with every field present, typed and in range.

        Raises:
            DegradationError: a key is unknown or missing, or a value is invalid.
        """
        if not isinstance(params, Mapping):
            raise DegradationError(f"{self.name}: params must be a mapping, got {params!r}")
        unknown = sorted(set(params) - set(self.fields))
        missing = [name for name in self.fields if name not in params]
        if unknown or missing:
            raise DegradationError(
                f"{self.name}: unknown params {unknown}, missing params {missing} "
                f"(expected {', '.join(self.fields)})"
            )
        return {
            key: self.fields[key].check(params[key], f"{self.name}: param '{key}'")
            for key in self.fields
        }

    def apply(self, image: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        """Degrade a ``H x W x 3`` float32 image in [0, 1] with recorded ``params``."""
        check_image(image, self.name)
        return self.transform(image, self.check_params(params))

    @abstractmethod
    def transform(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        """The degradation itself, on a checked image and checked parameters."""


def _snake_case(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
