"""Typed, frozen configuration built from YAML or dicts; unknown keys are rejected.

Every config in dr2bench (run configs, plugin parameters, chain presets) is a frozen dataclass
built by :func:`build`, which checks types and names the file, the key and the closest valid key
when something is wrong.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Blur:
    ...     sigma: float = 1.0
    >>> build(Blur, {"sigma": 2})
    Blur(sigma=2.0)
    >>> build(Blur, {"sigam": 2}, where="b.yaml")
    Traceback (most recent call last):
    ...
    bench.config.ConfigError: b.yaml: unknown key 'sigam'; did you mean 'sigma'? (valid keys: sigma)
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union

import yaml

from bench.registry import suggest

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")


class ConfigError(ValueError):
    """A configuration file or mapping is malformed; the message says where and why."""


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file with the safe loader (no Python objects, no code)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from exc
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date like 2023-02-30, a huge int
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from exc


def load_config(cls: type[D], path: str | Path) -> D:
    """Load ``path`` (YAML) into the frozen dataclass ``cls``."""
    data = load_yaml(path)
    return build(cls, {} if data is None else data, where=str(path))


def build(cls: type[D], data: Any, *, where: str = "config") -> D:
    """Build the dataclass ``cls`` from a mapping, converting and checking every field.

    Args:
        cls: A dataclass type.
        data: A mapping of field names to values.
        where: Prefix for error messages: the file and the position in it.

    Raises:
        ConfigError: on an unknown key (with a did-you-mean), a missing key or a wrong type.
    """
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping for {cls.__name__}, got {_kind(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            valid = ", ".join(fields) or "none"
            raise ConfigError(
                f"{where}: unknown key '{key}'{suggest(str(key), list(fields))}"
                f" (valid keys: {valid})"
            )
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name in data:
            values[name] = convert(data[name], hints[name], where=f"{where}: {name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing required key '{name}'")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def convert(value: Any, hint: Any, *, where: str) -> Any:
    """Convert ``value`` to the type ``hint``; raise :class:`ConfigError` if it does not fit."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        for option in options[:-1]:
            try:
                return convert(value, option, where=where)
            except ConfigError:
                continue
        return convert(value, options[-1], where=where)
    if origin is Literal:
        if value in args:
            return value
        choices = ", ".join(repr(a) for a in args)
        hint_text = suggest(str(value), [str(a) for a in args])
        raise ConfigError(f"{where}: {value!r} is not one of {choices}{hint_text}")
    if origin in (list, tuple):
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {_kind(value)}")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            pairs = enumerate(zip(value, args, strict=True))
            return tuple(convert(v, a, where=f"{where}[{i}]") for i, (v, a) in pairs)
        item = args[0] if args else Any
        items = [convert(v, item, where=f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {_kind(value)}")
        key_t, val_t = args or (Any, Any)
        return {
            convert(k, key_t, where=where): convert(v, val_t, where=f"{where}.{k}")
            for k, v in value.items()
        }
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return build(hint, value, where=where)
    return _scalar(value, hint, where)


# what a scalar field accepts besides its own type, converted to it; a bool is never a number
_ALSO_ACCEPTED: dict[Any, tuple[type, ...]] = {float: (int,), Path: (str,)}


def _scalar(value: Any, hint: Any, where: str) -> Any:
    if isinstance(hint, type):
        accepted = (hint, *_ALSO_ACCEPTED.get(hint, ()))
        if isinstance(value, accepted) and not (isinstance(value, bool) and hint in (int, float)):
            return hint(value) if hint in _ALSO_ACCEPTED else value
    name = getattr(hint, "__name__", str(hint))
    raise ConfigError(f"{where}: expected {name}, got {_kind(value)} {value!r}")


def _kind(value: Any) -> str:
    return type(value).__name__ if value is not None else "nothing"


def to_dict(config: Any) -> Any:
    """A JSON-ready copy of a config dataclass (paths as strings, tuples as lists)."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, list | tuple):
        return [to_dict(v) for v in config]
    if isinstance(config, Mapping):
        return {str(k): to_dict(v) for k, v in config.items()}
    if isinstance(config, Path):
        return str(config)
    return config
