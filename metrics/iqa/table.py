"""The static table of bridged pyiqa metrics (``table.yaml``) and where their files are looked up.

Reading the table imports neither torch nor pyiqa, so the registry knows every bridged metric's
kind and direction while ``dr2bench list`` stays cheap. Files are looked up, never downloaded:
``$DR2BENCH_HOME/weights/<file>`` first, then the cache pyiqa itself would have filled
(``$TORCH_HOME/hub/pyiqa``, torchvision's ``$TORCH_HOME/hub/checkpoints``, CLIP's
``$TORCH_HOME/hub/clip``, or the Hugging Face cache for a model repository).

Example:
    >>> from metrics.iqa.table import lookup
    >>> lookup("musiq").kind
    'no_reference'
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from bench.config import build, load_yaml
from bench.home import weights_dir
from bench.registry import RegistryError, suggest

TABLE = Path(__file__).with_name("table.yaml")
PYIQA_VERSION = "0.1.16"

Cache = Literal["pyiqa", "torch_hub", "clip", "huggingface"]


@dataclass(frozen=True)
class WeightsFile:
    """One file a bridged metric loads.

    Attributes:
        file: The file name pyiqa asks for (for ``huggingface``, the repository id).
        url: Where to get it.
        cache: The cache pyiqa (or torchvision, CLIP, Hugging Face) would have put it in.
        bundled: dr2bench writes the file itself from data it ships (NIQE's pristine model).
    """

    file: str
    url: str
    cache: Cache = "pyiqa"
    bundled: bool = False


@dataclass(frozen=True)
class BridgedMetric:
    """One row of ``table.yaml``: a pyiqa metric as dr2bench sees it."""

    name: str
    kind: Literal["paired", "no_reference"]
    lower_better: bool
    score_range: str
    metric_opts: dict[str, Any]
    files: tuple[WeightsFile, ...] = ()
    timm_backbone: Literal["pretrained", "replaced"] = "pretrained"
    batch: int | None = None


@functools.cache
def table() -> dict[str, BridgedMetric]:
    """Every bridged metric by pyiqa name, in the table's order."""
    rows = load_yaml(TABLE)
    entries = [build(BridgedMetric, row, where=f"{TABLE}[{i}]") for i, row in enumerate(rows)]
    return {entry.name: entry for entry in entries}


def lookup(name: str) -> BridgedMetric:
    """The table row of pyiqa metric ``name``.

    Raises:
        RegistryError: ``name`` is not bridged (with the closest bridged name).
    """
    rows = table()
    if name not in rows:
        raise RegistryError(
            f"pyiqa metric '{name}' is not bridged by dr2bench{suggest(name, list(rows))} "
            f"(bridged: {', '.join(rows)}; the table is {TABLE})"
        )
    return rows[name]


def torch_home() -> Path:
    """``$TORCH_HOME`` as torch computes it (``~/.cache/torch`` by default)."""
    configured = os.environ.get("TORCH_HOME")
    if configured:
        return Path(configured).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser() / "torch"


def huggingface_cache() -> Path:
    """The Hugging Face hub cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    hf_home = os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface"
    return Path(hf_home).expanduser() / "hub"


def cache_folder(cache: Cache) -> Path:
    """The folder of one of the caches a file may sit in."""
    hub = torch_home() / "hub"
    return {
        "pyiqa": hub / "pyiqa",  # pyiqa's download folder, its ``DEFAULT_CACHE_DIR``
        "torch_hub": hub / "checkpoints",
        "clip": hub / "clip",
        "huggingface": huggingface_cache(),
    }[cache]


def search_paths(item: WeightsFile) -> list[Path]:
    """Where ``item`` is looked for, in order.

    In its own cache the file may also carry the name its downloader derives from the URL
    (pyiqa keeps ``%2B`` for ``+``).
    """
    if item.cache == "huggingface":
        return [huggingface_cache() / f"models--{item.file.replace('/', '--')}"]
    url_name = os.path.basename(urlparse(item.url).path)
    cached = [cache_folder(item.cache) / name for name in dict.fromkeys([item.file, url_name])]
    return [weights_dir() / item.file, *cached]


def find(item: WeightsFile) -> Path | None:
    """The first existing search path of ``item`` (a repository needs a snapshot), or ``None``."""
    for path in search_paths(item):
        if item.cache == "huggingface":
            if any((path / "snapshots").glob("*/config.json")):
                return path
        elif path.is_file():
            return path
    return None


def missing_message(metric: str, items: list[WeightsFile]) -> str:
    """One sentence: which files ``pyiqa.<metric>`` misses, where to get them, where to put them."""
    names = ", ".join(item.file for item in items)
    sources = " and ".join(item.url for item in items)
    if all(item.cache == "huggingface" for item in items):
        repos = " ".join(item.file for item in items)
        place = (
            f"put the repository in the Hugging Face cache {huggingface_cache()} "
            f"(`hf download {repos}` on a machine with a network, then copy the cache over)"
        )
    elif len(items) == 1:
        place = f"put it at {weights_dir() / items[0].file}"
    else:
        place = f"put them in {weights_dir()}"
    looked = dict.fromkeys(str(path.parent) for item in items for path in search_paths(item))
    noun = "it" if len(items) == 1 else "them"
    return (
        f"missing weights {names} (needed by pyiqa.{metric}): download {noun} from {sources} "
        f"and {place} (looked in: {', '.join(looked)}; dr2bench never downloads)"
    )


def locate_files(entry: BridgedMetric) -> dict[str, Path]:
    """The path of every non-bundled file of ``entry``, by file name.

    Raises:
        bench.weights.MissingWeightsError: some files are missing (all of them are named).
    """
    from bench.weights import MissingWeightsError

    found: dict[str, Path] = {}
    missing = []
    for item in entry.files:
        if item.bundled:
            continue
        path = find(item)
        if path is None:
            missing.append(item)
        else:
            found[item.file] = path
    if missing:
        raise MissingWeightsError(missing_message(entry.name, missing))
    return found
