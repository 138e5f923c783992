"""One generic plugin registry, with one instance per plugin kind.

Built-in plugins and third-party plugins are declared the same way, as entry points
(``[project.entry-points."dr2bench.restorers"]`` in a ``pyproject.toml``), so there is one source
of truth and no second mapping table. Entries stay lazy ``"module:attr"`` strings until a plugin
is asked for by name; plugin modules keep heavy imports (torch) inside functions, so listing
plugins stays cheap.

Example:
    >>> from bench.registry import RESTORERS
    >>> RESTORERS.names()  # doctest: +SKIP
    ['bilateral', 'dr2', 'identity', ...]
    >>> restorer = RESTORERS.create("dr2.n8t35", seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar


class _Named(Protocol):
    name: str  # the registry sets the name a plugin was created under


T = TypeVar("T", bound=_Named)

# Modules imported when the registries are first read: plugins registered in code (not through
# entry points) become visible to worker processes (Ray tasks, isolated workers) too.
PLUGIN_MODULES = "DR2BENCH_PLUGIN_MODULES"


class RegistryError(LookupError):
    """A plugin name is unknown, taken twice, or points at something that does not load."""


@dataclass(frozen=True)
class PluginInfo:
    """What ``dr2bench list`` shows for one plugin."""

    name: str
    version: int
    description: str
    source: str
    tags: tuple[str, ...] = ()


@dataclass
class _Entry:
    target: str | type
    source: str


def suggest(name: str, candidates: list[str] | tuple[str, ...]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest candidate, or ``""`` if none is close."""
    by_folded = {c.casefold(): c for c in candidates}
    close = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.6)
    return f"; did you mean '{by_folded[close[0]]}'?" if close else ""


class Registry(Generic[T]):
    """Named plugins of one kind, each a subclass of ``base``.

    Args:
        kind: Human name of the plugin kind, used in messages ("restorer").
        base: The import path ``"module:Class"`` of the base class every plugin subclasses
            (a string so that building a registry imports nothing heavy).
        group: The entry-point group third-party packages register under.
    """

    def __init__(self, kind: str, base: str, group: str, composer: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self._base = base
        self._composer = composer
        self._entries: dict[str, _Entry] = {}
        self._loaded: dict[str, type[T]] = {}
        self._entry_points_read = False

    def register(self, name: str, target: str | type | None = None, *, source: str = "code"):
        """Register ``target`` (a class or a lazy ``"module:attr"``) under ``name``.

        Used bare it is a decorator: ``@RESTORERS.register("mine")``.
        """
        if target is None:

            def decorator(cls: type[T]) -> type[T]:
                self.register(name, cls, source=source)
                return cls

            return decorator
        if not name or any(c in name for c in ".+") or name != name.strip():
            raise RegistryError(
                f"invalid {self.kind} name {name!r}: no dots, '+' or spaces allowed"
            )
        self._read_entry_points()
        if name in self._entries:
            other = self._entries[name].source
            raise RegistryError(
                f"{self.kind} '{name}' is registered twice: by {other} and by {source}"
            )
        self._entries[name] = _Entry(target, source)
        return target

    def unregister(self, name: str) -> None:
        """Remove a plugin (for tests and interactive use)."""
        self._entries.pop(name, None)
        self._loaded.pop(name, None)

    def names(self) -> list[str]:
        """All registered names, sorted; loads nothing."""
        self._read_entry_points()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        parts = name.split("+") if self._composer else [name]
        return all(split_tag(part)[0] in self.names() for part in parts)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> type[T]:
        """The plugin class for ``name`` (a variant ``name.tag`` gives its base class).

        With a composer, ``a+b`` names a composition of plugins (see :mod:`baselines.compose`).
        """
        if self._composer and "+" in name:
            return _import_attr(self._composer)(name)
        base_name, _ = split_tag(name)
        if base_name in self._loaded:
            return self._loaded[base_name]
        names = self.names()
        if base_name not in self._entries:
            raise RegistryError(f"unknown {self.kind} '{base_name}'{suggest(base_name, names)}")
        entry = self._entries[base_name]
        cls = entry.target if isinstance(entry.target, type) else self._import(base_name, entry)
        base = _import_attr(self._base)
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise RegistryError(
                f"{self.kind} '{base_name}' from {entry.source} is {cls!r}, "
                f"not a subclass of {base.__name__}"
            )
        self._loaded[base_name] = cls
        return cls

    def create(self, name: str, **params: Any) -> T:
        """Instantiate ``name`` (or ``name.tag``): the tag's preset parameters, then ``params``."""
        if self._composer and "+" in name:
            plugin = self.get(name)(**params)
            plugin.name = name
            return plugin
        base_name, tag = split_tag(name)
        cls = self.get(base_name)
        preset: dict[str, Any] = {}
        if tag is None and getattr(cls, "tag_required", False):
            choices = sorted(getattr(cls, "tags", {}))
            raise RegistryError(
                f"{self.kind} '{base_name}' names a family of different numbers; say which: "
                f"{', '.join(f'{base_name}.{t}' for t in choices)}"
            )
        if tag is not None:
            tags = getattr(cls, "tags", {})
            if tag not in tags:
                raise RegistryError(
                    f"unknown tag '{tag}' for {self.kind} '{base_name}'{suggest(tag, list(tags))}"
                    f" (known tags: {', '.join(sorted(tags)) or 'none'})"
                )
            preset = dict(tags[tag])
        plugin = cls(**(preset | params))
        plugin.name = name
        return plugin

    def info(self, name: str) -> PluginInfo:
        """Name, version and one-line description of a plugin (imports its module)."""
        cls = self.get(name)
        return PluginInfo(
            name=name,
            version=int(getattr(cls, "version", 1)),
            description=str(getattr(cls, "description", "")).strip(),
            source=self._entries[name].source,
            tags=tuple(sorted(getattr(cls, "tags", {}))),
        )

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        for ep in importlib.metadata.entry_points(group=self.group):
            dist = ep.dist.name if ep.dist is not None else "unknown distribution"
            self.register(ep.name, ep.value, source=f"{dist} ({self.group})")
        for module in filter(None, os.environ.get(PLUGIN_MODULES, "").split(",")):
            importlib.import_module(module.strip())

    def _import(self, name: str, entry: _Entry) -> Any:
        try:
            return _import_attr(str(entry.target))
        except (ImportError, AttributeError) as exc:
            raise RegistryError(
                f"{self.kind} '{name}' from {entry.source} points at '{entry.target}', "
                f"which does not load: {exc}"
            ) from exc


def split_tag(name: str) -> tuple[str, str | None]:
    """Split ``"dr2.n8t35"`` into ``("dr2", "n8t35")``."""
    base, _, tag = name.partition(".")
    return base, (tag or None)


def _import_attr(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


DEGRADATIONS: Registry[Any] = Registry(
    "degradation", "bench.contracts:Degradation", "dr2bench.degradations"
)
RESTORERS: Registry[Any] = Registry(
    "restorer",
    "bench.contracts:Restorer",
    "dr2bench.restorers",
    composer="baselines.compose:composite",
)
METRICS: Registry[Any] = Registry("metric", "bench.contracts:Metric", "dr2bench.metrics")
DATASETS: Registry[Any] = Registry("dataset", "bench.contracts:Dataset", "dr2bench.datasets")

REGISTRIES: dict[str, Registry[Any]] = {
    "degradations": DEGRADATIONS,
    "restorers": RESTORERS,
    "metrics": METRICS,
    "datasets": DATASETS,
}
