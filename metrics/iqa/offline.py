"""pyiqa without a network: its downloaders find files where dr2bench looks, or fail at once.

pyiqa fetches what a metric needs on first use: its own ``load_file_from_url`` (metric
checkpoints, NIQE / BRISQUE / NRQM parameters), ``torch.hub.load_state_dict_from_url``
(torchvision backbones), CLIP's ``_download``, facexlib's ``load_file_from_url`` (face
detection and parsing for ``topiq_nr-face``), timm's and transformers' Hugging Face hub calls.
While :func:`guarded` is active every one of them is replaced:

- a file request is answered from ``$DR2BENCH_HOME/weights`` or the cache the downloader would
  have used, and otherwise raises :class:`bench.weights.MissingWeightsError` (one sentence: the
  file, its URL, where to put it); nothing waits on a socket;
- ``torch.hub.download_url_to_file`` raises the same error (a download nobody anticipated);
- the Hugging Face hub is switched to offline mode (``HF_HUB_OFFLINE``), so a missing model
  repository fails immediately instead of timing out;
- ``torch.load`` runs with ``weights_only=True`` (pyiqa asks for ``False``): a checkpoint that
  would run code to unpickle is refused, as everywhere in dr2bench;
- for metrics whose ImageNet backbone is overwritten whole by their own checkpoint
  (``timm_backbone: replaced`` in ``table.yaml``), ``timm.create_model`` builds it without
  pretrained weights, so that file (which cannot change the value) is not needed.

The replacements are process-wide while the context is active (one metric at a time, under a
lock) and are undone on exit. The test ``tests/metrics/test_iqa.py`` runs the missing-weights
path with every socket connection refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import logging
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from bench.home import cache_dir, weights_dir
from metrics.common import placeholders
from metrics.iqa.table import BridgedMetric, cache_folder

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
BUNDLED_NIQE = "niqe_modelparameters.mat"
PATCHED_PREFIXES = (
    "pyiqa",
    "facexlib",
    "torchvision",
    "timm",
    "clip",
    "torch.hub",
    "torch.utils.model_zoo",
)

_LOCK = threading.RLock()


def import_pyiqa(metric: str) -> types.ModuleType:
    """Import pyiqa with the hub offline and its logger quiet.

    Raises:
        bench.contracts.Unavailable: pyiqa (or a package it imports) is not installed.
    """
    from bench.contracts import Unavailable

    os.environ.update(OFFLINE_ENV)
    try:
        import pyiqa
        import pyiqa.archs.arch_util
        from pyiqa.utils import get_root_logger
    except ImportError as exc:
        raise Unavailable(missing_package(metric, exc)) from exc
    import huggingface_hub.constants

    huggingface_hub.constants.HF_HUB_OFFLINE = True  # read once at import: force it
    get_root_logger().setLevel(logging.WARNING)
    with placeholder_pkg_resources(), contextlib.suppress(ImportError):
        import clip  # noqa: F401  (openai-clip: imported once here, used by pyiqa's CLIP metrics)
    return pyiqa


def missing_package(metric: str, exc: ImportError) -> str:
    """Why ``pyiqa.<metric>`` cannot run: a package of the ``iqa`` extra is not installed."""
    package = getattr(exc, "name", None) or str(exc)
    return (
        f"pyiqa.{metric} needs the Python package '{package}', which is not installed: install "
        "dr2bench's iqa extra (`make install` does; by hand: pip install -c constraints.txt "
        "-e '.[iqa]' && pip install --no-deps -c constraints.txt pyiqa==0.1.16)"
    )


def placeholder_pkg_resources() -> contextlib.AbstractContextManager[None]:
    """A ``pkg_resources`` module holding ``packaging`` while openai-clip is imported.

    openai-clip 1.0.1 imports ``packaging`` from ``pkg_resources``, which setuptools 81 removed;
    it only compares torch versions with it. The real module is used where it exists.
    """
    import packaging.version

    return placeholders({"pkg_resources": ("packaging", packaging)})


def bundled_niqe() -> Path:
    """NIQE's pristine model as pyiqa's ``.mat`` file, written from dr2bench's own copy."""
    path = cache_dir() / "pyiqa" / BUNDLED_NIQE
    if not path.is_file():
        import scipy.io

        from metrics.niqe import pristine_model

        mu, cov = pristine_model()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        scipy.io.savemat(partial, {"mu_prisparam": mu.reshape(1, -1), "cov_prisparam": cov})
        os.replace(partial, path)
    return path


class Resolver:
    """Answers pyiqa's file requests for one metric from the folders dr2bench searches."""

    def __init__(self, entry: BridgedMetric) -> None:
        self.entry = entry
        self.urls = {item.file: item.url for item in entry.files}

    def path(self, url: str, file_name: str | None = None, *folders: str | Path | None) -> str:
        """The local file for ``url``, or :class:`MissingWeightsError` naming it."""
        from bench.weights import MissingWeightsError

        url_name = file_name or os.path.basename(urlparse(url).path)
        name = unquote(url_name)  # pyiqa's own cache keeps the URL's %2B for +
        if name == BUNDLED_NIQE:
            return str(bundled_niqe())
        candidates = [weights_dir()] + [Path(f) for f in folders if f]
        for folder in candidates:
            for candidate in dict.fromkeys([folder / name, folder / url_name]):
                if candidate.is_file():
                    return str(candidate)
        looked = ", ".join(dict.fromkeys(str(folder) for folder in candidates))
        raise MissingWeightsError(
            f"missing weights {name} (needed by pyiqa.{self.entry.name}): download it from "
            f"{self.urls.get(name, url)} and put it at {weights_dir() / name} "
            f"(looked in: {looked}; dr2bench never downloads)"
        )

    def pyiqa_file(self, url: str, model_dir: str | None = None, *args: Any, **kwargs: Any) -> str:
        """Stands in for ``pyiqa.utils.download_util.load_file_from_url``."""
        return self.path(url, kwargs.get("file_name"), model_dir or cache_folder("pyiqa"))

    def facexlib_file(self, url: str, *args: Any, **kwargs: Any) -> str:
        """Stands in for ``facexlib.utils.misc.load_file_from_url`` (``save_dir`` is searched)."""
        return self.path(
            url, kwargs.get("file_name"), kwargs.get("save_dir"), cache_folder("pyiqa")
        )

    def state_dict(self, url: str, model_dir: str | None = None, **kwargs: Any) -> Any:
        """Stands in for ``torch.hub.load_state_dict_from_url`` (torchvision backbones)."""
        import torch

        folder = model_dir or cache_folder("torch_hub")
        path = self.path(url, kwargs.get("file_name"), folder)
        return torch.load(path, map_location=kwargs.get("map_location"), weights_only=True)

    def clip_file(self, url: str, root: str) -> str:
        """Stands in for pyiqa's CLIP ``_download``; the file must match the URL's sha256."""
        from bench.weights import MissingWeightsError

        path = self.path(url, None, root, cache_folder("clip"))
        expected = url.split("/")[-2]
        with open(path, "rb") as handle:
            if hashlib.file_digest(handle, "sha256").hexdigest() != expected:
                raise MissingWeightsError(
                    f"{path} is not OpenAI's CLIP file (its sha256 is not {expected}): replace "
                    f"it with the file from {url}"
                )
        return path

    def refuse_download(self, url: str, dst: str, *args: Any, **kwargs: Any) -> None:
        """Stands in for ``torch.hub.download_url_to_file``: nothing is ever downloaded."""
        self.path(url, os.path.basename(dst))


def _replacements(resolver: Resolver) -> dict[int, Callable[..., Any]]:
    """The functions to replace, by ``id`` of the original, with their stand-ins."""
    import torch.hub

    pairs: list[tuple[Callable[..., Any], Callable[..., Any]]] = [
        (torch.hub.load_state_dict_from_url, resolver.state_dict),
        (torch.hub.download_url_to_file, resolver.refuse_download),
    ]
    for module_name, attr, replacement in (
        ("pyiqa.utils.download_util", "load_file_from_url", resolver.pyiqa_file),
        ("pyiqa.archs.clip_model", "_download", resolver.clip_file),
        ("facexlib.utils.misc", "load_file_from_url", resolver.facexlib_file),
    ):
        if importlib.util.find_spec(module_name.partition(".")[0]) is None:
            continue
        with contextlib.suppress(ImportError):
            pairs.append((getattr(importlib.import_module(module_name), attr), replacement))
    return {id(original): _stand_in(original, replacement) for original, replacement in pairs}


def _stand_in(original: Callable[..., Any], replacement: Callable[..., Any]) -> Callable[..., Any]:
    """``replacement``, remembering ``original`` so that every reference can be put back."""

    def stand_in(*args: Any, **kwargs: Any) -> Any:
        return replacement(*args, **kwargs)

    stand_in.dr2bench_original = original  # type: ignore[attr-defined]
    return stand_in


def _modules() -> list[types.ModuleType]:
    return [
        module
        for name, module in list(sys.modules.items())
        if module is not None and name.startswith(PATCHED_PREFIXES)
    ]


def _patch(replacements: dict[int, Callable[..., Any]]) -> None:
    """Swap every reference to an original in the loaded modules for its stand-in."""
    for module in _modules():
        for attr, value in list(vars(module).items()):
            if callable(value) and id(value) in replacements:
                setattr(module, attr, replacements[id(value)])


def _restore() -> None:
    """Put the originals back, also where a module imported meanwhile took a stand-in."""
    for module in _modules():
        for attr, value in list(vars(module).items()):
            original = getattr(value, "dr2bench_original", None)
            if original is not None:
                setattr(module, attr, original)


def _forcing(original: Callable[..., Any], **forced: Any) -> Callable[..., Any]:
    """``original`` called with the keyword arguments ``forced``, whatever the caller passes."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **(kwargs | forced))

    return call


@contextlib.contextmanager
def guarded(entry: BridgedMetric) -> Iterator[None]:
    """Run pyiqa code for ``entry`` with every download path replaced (see the module doc)."""
    import torch

    with _LOCK:
        _patch(_replacements(Resolver(entry)))
        swapped: list[tuple[Any, str, Any]] = [(torch, "load", torch.load)]
        torch.load = _forcing(torch.load, weights_only=True)
        if entry.timm_backbone == "replaced":
            import timm

            swapped.append((timm, "create_model", timm.create_model))
            timm.create_model = _forcing(timm.create_model, pretrained=False)
        try:
            with contextlib.redirect_stdout(sys.stderr):  # pyiqa prints "Loading pretrained ..."
                yield
        finally:
            for module, attr, value in reversed(swapped):
                setattr(module, attr, value)
            _restore()
