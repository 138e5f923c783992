"""Datasets: a folder of images, a paired LQ/GT folder, and the ``params.jsonl`` manifest.

Ids are relative POSIX paths inside the dataset folder, so they are stable across machines and
do not depend on listing order. Files whose suffix is not an image suffix are left out of a
dataset and listed by ``skipped()`` (the runner logs them and counts them in ``manifest.json``).

Example:
    >>> ds = FolderDataset(path="../shared/data/hq")  # doctest: +SKIP
    >>> ds.items()[0]  # doctest: +SKIP
    Item(id='celebahq_005735.png', lq=None, gt=PosixPath('../shared/data/hq/celebahq_005735.png'))
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.contracts import Dataset, Item
from bench.files import atomic_write_text, canonical_json
from bench.images import IMAGE_SUFFIXES, list_images


class DatasetError(ValueError):
    """A dataset folder or manifest cannot be used; the message names the file."""


def _relative_ids(root: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Images below ``root`` by relative id, and why some ids cannot be used.

    An id cannot be used when its name is not valid UTF-8 (records and JSON could not hold it;
    the id shows the bad bytes as ``\\xff``), or when it clashes with an earlier id (in sorted
    order) after case folding or after the suffix change of the output file (``a.jpg`` and
    ``a.png`` would both write ``a.png``).

    Returns:
        ``(images, problems)``: ``problems`` maps an id to the reason it cannot be used.
    """
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    ids: dict[str, Path] = {}
    outputs: dict[str, str] = {}
    problems: dict[str, str] = {}
    for path in list_images(root):
        rel = path.relative_to(root).as_posix()
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            rel = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            problems[rel] = f"{root / rel}: the file name is not valid UTF-8; rename the file"
        output = image_stem(rel).casefold()
        if output in outputs and rel not in problems:
            problems[rel] = (
                f"id '{rel}' and '{outputs[output]}' differ only in letter case or suffix, so "
                "they would share output files (and clash on case-insensitive file systems); "
                "rename one of them"
            )
        outputs.setdefault(output, rel)
        ids[rel] = path
    return ids, problems


def non_images(root: Path) -> list[Path]:
    """Files below ``root`` that are not images by suffix: never part of a dataset, but reported.

    Example:
        >>> non_images(Path("faces"))  # doctest: +SKIP
        [PosixPath('faces/README.txt')]
    """
    if not root.is_dir():
        return []
    found = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() not in IMAGE_SUFFIXES]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _not_image_notes(root: Path) -> list[str]:
    broken = [
        f"{path}: a symbolic link to nothing ({os.readlink(path)}); left out of the dataset"
        for path in sorted(root.rglob("*"))
        if path.is_symlink() and not path.exists()
    ]
    return broken + [
        f"{path}: not an image file (suffix '{path.suffix}'); left out of the dataset"
        for path in non_images(root)
    ]


class FolderDataset(Dataset):
    """A folder of images, recursively; clean images to degrade, or real LQ images."""

    description = "Folder of images (recursive); clean faces to degrade, or real LQ faces"

    @dataclass(frozen=True)
    class Params:
        """Attributes:
        path: The folder.
        paired: True for clean images (degraded by the run, used as ground truth);
            False for real degraded images without ground truth.
        """

        path: Path
        paired: bool = True

    def items(self) -> list[Item]:
        images, problems = _relative_ids(Path(self.params.path))
        role = "gt" if self.params.paired else "lq"
        return [
            Item(id=rel, problem=problems.get(rel), **{role: path}) for rel, path in images.items()
        ]

    def skipped(self) -> list[str]:
        """Files in the folder that are not part of the dataset, each with the reason."""
        return _not_image_notes(Path(self.params.path))


class PairedFolderDataset(Dataset):
    """LQ and GT folders matched by relative path (also the output of ``dr2bench degrade``)."""

    description = "Paired LQ/GT folders matched by relative path (e.g. a `dr2bench degrade` output)"

    @dataclass(frozen=True)
    class Params:
        """Attributes:
        path: A folder holding ``lq/`` and ``gt/`` (as ``dr2bench degrade`` writes).
        lq: The LQ folder, if not ``path/lq``.
        gt: The GT folder, if not ``path/gt``.
        """

        path: Path | None = None
        lq: Path | None = None
        gt: Path | None = None

    def folders(self) -> tuple[Path, Path]:
        p = self.params
        lq = p.lq or (p.path / "lq" if p.path else None)
        gt = p.gt or (p.path / "gt" if p.path else None)
        if lq is None or gt is None:
            raise DatasetError("a paired dataset needs 'path' or both 'lq' and 'gt'")
        return Path(lq), Path(gt)

    def items(self) -> list[Item]:
        """Every LQ image with its GT; a missing pair is an item with a ``problem``."""
        lq_dir, gt_dir = self.folders()
        (lq_images, problems), (gt_images, _) = _relative_ids(lq_dir), _relative_ids(gt_dir)
        by_stem = {image_stem(rel): path for rel, path in gt_images.items()}
        items = []
        for rel, path in lq_images.items():
            gt = gt_images.get(rel) or by_stem.get(image_stem(rel))
            problem = problems.get(rel)
            if gt is None:
                problem = f"no ground truth for {path} (expected {gt_dir / rel} or same stem)"
            items.append(Item(id=rel, lq=path, gt=gt, problem=problem))
        return items

    def unmatched_gt(self) -> list[str]:
        """GT ids with no LQ image."""
        lq_dir, gt_dir = self.folders()
        lq_stems = {image_stem(rel) for rel in _relative_ids(lq_dir)[0]}
        return [rel for rel in _relative_ids(gt_dir)[0] if image_stem(rel) not in lq_stems]

    def skipped(self) -> list[str]:
        """Files in the LQ and GT folders that are not part of the dataset, with the reason."""
        lq_dir, gt_dir = self.folders()
        unmatched = [
            f"{gt_dir / rel}: ground truth without an LQ image; left out of the dataset"
            for rel in self.unmatched_gt()
        ]
        return _not_image_notes(lq_dir) + _not_image_notes(gt_dir) + unmatched


def image_stem(rel: str) -> str:
    """An id without its image suffix: ``a/b.png`` and ``a/b.jpg`` are both ``a/b``."""
    path = Path(rel)
    return path.with_suffix("").as_posix() if path.suffix.lower() in IMAGE_SUFFIXES else rel


PARAMS_REQUIRED = ("id", "chain", "chain_version", "severity", "seed", "steps")
PARAMS_TYPES = {"id": str, "chain": str, "chain_version": int}


def write_params(path: str | Path, records: Iterable[dict[str, Any]]) -> None:
    """Write ``params.jsonl`` atomically: one canonical JSON object per line, sorted by id."""
    lines = [canonical_json(r) for r in sorted(records, key=lambda r: r["id"])]
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def read_params(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read ``params.jsonl`` into ``{id: record}``, checking every line.

    Raises:
        DatasetError: naming the file and line of a malformed or duplicated record.
    """
    path = Path(path)
    records: dict[str, dict[str, Any]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read params manifest: {exc}") from exc
    for number, line in enumerate(text.split("\n"), start=1):  # JSON text may hold U+2028
        if not line.strip():
            continue
        where = f"{path}:{number}"
        record = _params_record(line, where)
        if record["id"] in records:
            raise DatasetError(f"{where}: duplicate id '{record['id']}'")
        records[record["id"]] = record
    return records


def _params_record(line: str, where: str) -> dict[str, Any]:
    """One checked line of ``params.jsonl``; ``where`` (file and line) starts every error."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: not valid JSON ({exc.msg})") from exc
    except (ValueError, RecursionError) as exc:  # a number over 4300 digits, deep nesting
        raise DatasetError(f"{where}: not usable JSON ({type(exc).__name__})") from exc
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [key for key in PARAMS_REQUIRED if key not in record]
    if missing:
        raise DatasetError(f"{where}: missing keys {', '.join(missing)}")
    for key, kind in PARAMS_TYPES.items():
        value = record[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise DatasetError(f"{where}: '{key}' must be {kind.__name__}, got {value!r}")
    if not record["id"]:
        raise DatasetError(f"{where}: 'id' must be a non-empty string")
    if not isinstance(record["steps"], list):
        raise DatasetError(f"{where}: 'steps' must be a list of degradation steps")
    return record
