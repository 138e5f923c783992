"""Reference sets of the set-level metrics: statistics files and cached folder features.

A reference is either a folder of images, whose features are extracted once and cached in
``$DR2BENCH_HOME/cache/features/<key>.npz`` (the key hashes the folder's content, the metric's
preprocessing and the extractor's weights, never just a name; the file is written atomically), or a
statistics file:

- ``.npz`` with ``mu`` and ``sigma``, as pytorch-fid's ``--save-stats`` writes;
- ``.pth`` with ``mean`` and ``cov``, as basicsr / GFPGAN / VQFR's ``inception_FFHQ_512.pth``.

``weights:NAME`` names a statistics file of the weights manifest
(``weights:inception_ffhq512_stats`` is ``inception_FFHQ_512.pth``), found where weights are; a
missing one raises
:class:`bench.weights.MissingWeightsError` (the metric is then unavailable, with the file to get).
Every reference carries a ``fingerprint`` (the file's sha256, the folder's content hash), part of
the cache key of the values computed against it.

Example:
    >>> stats = load_stats_file("inception_FFHQ_512.pth")  # doctest: +SKIP
    >>> stats.mu.shape, stats.n
    ((2048,), None)
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.files import StorageError, atomic_write_bytes, cached_sha256, hash_value, sha256_file
from bench.home import cache_dir
from bench.images import list_images, read_image
from bench.parallel import prefetched

STATS_SUFFIXES = (".npz", ".pth", ".pt")
WEIGHTS_PREFIX = "weights:"


class ReferenceSetError(ValueError):
    """A reference folder or statistics file cannot be used; the message names it."""


@dataclass(frozen=True, eq=False)
class ReferenceStats:
    """A reference set: mean and covariance of its features, their count and maybe the features.

    Attributes:
        mu: Mean feature, shape ``(D,)``, float64.
        sigma: Covariance (``np.cov`` with ``rowvar=False``: divided by ``n - 1``), ``(D, D)``.
        n: Number of images, or ``None`` when a statistics file does not say.
        features: The ``n x D`` features (needed by KID), or ``None`` for a statistics file.
        source: Where the statistics come from (a path), for records and messages.
        fingerprint: A hash of the content the statistics come from.
    """

    mu: np.ndarray
    sigma: np.ndarray
    n: int | None
    features: np.ndarray | None = None
    source: str = ""
    fingerprint: str = ""

    @classmethod
    def from_features(
        cls, features: np.ndarray, source: str = "", fingerprint: str = ""
    ) -> ReferenceStats:
        """Statistics of ``n x D`` features, computed in float64."""
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or len(features) < 2:
            raise ReferenceSetError(
                f"{source or 'features'}: need at least 2 feature vectors (images), "
                f"got shape {features.shape}"
            )
        mu, sigma = features.mean(axis=0), np.cov(features, rowvar=False)
        return cls(mu, sigma, len(features), features, source, fingerprint)


def load_stats_file(path: str | Path) -> ReferenceStats:
    """Read a pytorch-fid ``.npz`` (``mu``, ``sigma``) or basicsr ``.pth`` (``mean``, ``cov``).

    Raises:
        ReferenceSetError: unreadable file, missing keys or inconsistent shapes (file named).
    """
    path = Path(path)
    if not path.is_file():
        raise ReferenceSetError(f"{path}: statistics file does not exist")
    data = _read_npz(path) if path.suffix == ".npz" else _read_pth(path)
    for mean_key, cov_key in (("mu", "sigma"), ("mean", "cov")):
        if mean_key in data and cov_key in data:
            return _checked(path, data[mean_key], data[cov_key])
    raise ReferenceSetError(
        f"{path}: expected keys mu/sigma (pytorch-fid .npz) or mean/cov (basicsr .pth), "
        f"found {', '.join(sorted(map(str, data))) or 'none'}"
    )


def _read_npz(path: Path) -> dict[str, Any]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as exc:
        raise ReferenceSetError(f"{path}: not a readable .npz statistics file ({exc})") from exc


def _read_pth(path: Path) -> dict[str, Any]:
    """A basicsr statistics file: a dict of numpy arrays, loaded without running code."""
    import torch

    allowed = _numpy_globals()
    try:
        with torch.serialization.safe_globals(allowed):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ReferenceSetError(
            f"{path}: not a readable statistics file: only dicts of arrays/tensors are loaded "
            f"(no code is run). Detail: {_detail(exc)}"
        ) from exc
    if not isinstance(data, dict):
        raise ReferenceSetError(f"{path}: expected a dict with mean/cov, got {type(data).__name__}")
    return {key: value.numpy() if hasattr(value, "numpy") else value for key, value in data.items()}


def _detail(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    found = [line for line in lines if "error" in line.lower() or "global" in line.lower()]
    return (found or lines or [type(exc).__name__])[-1]


def _numpy_globals() -> list[Any]:
    """The numpy reconstructors ``torch.save`` pickles numpy arrays with (data only, no code).

    Files written under numpy 1 (GFPGAN's, VQFR's) name the reconstructor ``numpy.core...``.
    """
    from numpy._core.multiarray import _reconstruct

    dtypes = [type(np.dtype(name)) for name in ("float16", "float32", "float64", "int32", "int64")]
    return [
        _reconstruct,
        (_reconstruct, "numpy.core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
        *dtypes,
    ]


def _checked(path: Path, mean: Any, cov: Any) -> ReferenceStats:
    mu = np.asarray(mean, dtype=np.float64).reshape(-1)
    sigma = np.asarray(cov, dtype=np.float64)
    if sigma.shape != (len(mu), len(mu)):
        raise ReferenceSetError(
            f"{path}: mean has {len(mu)} values but the covariance is {sigma.shape}, "
            f"expected {(len(mu), len(mu))}"
        )
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ReferenceSetError(f"{path}: statistics contain NaN or Inf")
    return ReferenceStats(mu, sigma, None, None, str(path), cached_sha256(path))


def folder_content_hash(folder: Path) -> tuple[str, list[Path]]:
    """sha256 over relative paths and contents of the images below ``folder``; and the images."""
    images = list_images(folder)
    if not images:
        raise ReferenceSetError(f"{folder}: no images found (looked for png, jpg, webp, bmp, tif)")
    manifest = [[p.relative_to(folder).as_posix(), sha256_file(p)] for p in images]
    return hash_value(manifest), images


def folder_features(
    folder: str | Path,
    extract: Callable[[Any], np.ndarray],
    identity: dict[str, Any],
    batch_size: int = 32,
) -> tuple[np.ndarray, str]:
    """Features of every image below ``folder``, cached by content hash and ``identity``; and
    the content hash.

    Args:
        folder: The reference folder.
        extract: The metric's ``features`` function (an ``N x 3 x H x W`` batch to ``N x D``).
        identity: Everything that changes the features: preprocessing, extractor hash, version.
        batch_size: Images per call of ``extract``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ReferenceSetError(f"{folder}: reference folder does not exist")
    content, images = folder_content_hash(folder)
    path = cache_dir() / "features" / f"{hash_value({'content': content} | identity)}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as cached:
            return cached["features"], content
    features = np.concatenate([extract(batch) for batch in image_batches(images, batch_size)])
    buffer = io.BytesIO()
    np.savez(buffer, features=features)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except StorageError as exc:  # a read-only or full $DR2BENCH_HOME: the value does not need it
        warnings.warn(
            f"reference features not cached ({exc}); set DR2BENCH_HOME to a writable folder to "
            "keep them for the next run",
            stacklevel=2,
        )
    return features, content


def image_batches(paths: list[Path], batch_size: int) -> Iterator[Any]:
    """``N x 3 x H x W`` batches of the images at ``paths``; a size change starts a new batch.

    The next batch is decoded in a background thread while the caller uses the current one.
    """
    return prefetched(_decoded_batches(paths, batch_size))


def _decoded_batches(paths: list[Path], batch_size: int) -> Iterator[Any]:
    from bench.images import to_tensor

    batch: list[np.ndarray] = []
    for path in paths:
        image = read_image(path)
        if batch and (len(batch) == batch_size or image.shape != batch[0].shape):
            yield to_tensor(batch)
            batch = []
        batch.append(image)
    if batch:
        yield to_tensor(batch)


def reference_from(
    source: str | Path, extract: Callable[[Any], np.ndarray], identity: dict[str, Any]
) -> ReferenceStats:
    """A reference from a folder (features, cached), a statistics file or ``weights:NAME``.

    Raises:
        bench.weights.MissingWeightsError: ``weights:NAME`` is not in the weights folder.
        ReferenceSetError: the folder or file cannot be used (named in the message).
    """
    if str(source).startswith(WEIGHTS_PREFIX):
        from bench.weights import locate

        return load_stats_file(locate(str(source)[len(WEIGHTS_PREFIX) :]))
    path = Path(source).expanduser()
    if path.is_dir():
        features, content = folder_features(path, extract, identity)
        return ReferenceStats.from_features(features, str(path), content)
    if path.suffix in STATS_SUFFIXES:
        return load_stats_file(path)
    raise ReferenceSetError(
        f"{path}: a reference must be a folder of images or a statistics file "
        f"({', '.join(STATS_SUFFIXES)})"
    )
