"""Remove what the pyiqa 0.1.16 wheel installs outside its own package (``python -m ...install``).

The wheel ships, besides ``pyiqa/``, top-level folders of its source tree into site-packages:
``tests/`` (a regular package, with ``__init__.py``), ``docs/``, ``options/``, ``build/`` (a
second copy of pyiqa) and ``ResultsCalibra/``. A regular ``tests`` package in site-packages
shadows dr2bench's own ``tests`` namespace package, so ``from tests.metrics import ...`` fails in
the test suite. This removes those files and their lines in the wheel's ``RECORD`` (so that
``pip uninstall pyiqa`` stays clean); it changes nothing else and can be run any number of times.
``make install`` runs it after installing pyiqa.
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

KEEP = ("pyiqa/", "pyiqa-", "../")  # the package, its metadata, its console script


def stray_entries(record: list[str]) -> list[str]:
    """The ``RECORD`` paths outside pyiqa's package, metadata and scripts."""
    paths = [line.split(",")[0] for line in record if line.strip()]
    return [path for path in paths if not path.startswith(KEEP)]


def prune(site_packages: Path, record_path: Path) -> list[str]:
    """Delete the stray files (and folders left empty); the top-level names they were under.

    Only files listed in ``RECORD`` (and the bytecode Python compiled from them) are deleted, so a
    package of another distribution that shares a top-level name (``build``) is left alone.
    """
    lines = record_path.read_text(encoding="utf-8").splitlines()
    stray = stray_entries(lines)
    folders: set[Path] = set()
    for relative in stray:
        path = site_packages / relative
        path.unlink(missing_ok=True)
        if path.suffix == ".py":
            for compiled in path.parent.glob(f"__pycache__/{path.stem}.*.pyc"):
                compiled.unlink(missing_ok=True)
        folders.update(parent for parent in path.parents if site_packages in parent.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        pycache = folder / "__pycache__"
        if pycache.is_dir() and not any(pycache.iterdir()):
            pycache.rmdir()
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    removed = set(stray)
    record_path.write_text(
        "\n".join(line for line in lines if line.split(",")[0] not in removed) + "\n",
        encoding="utf-8",
    )
    return sorted({relative.split("/")[0] for relative in stray})


def main() -> int:
    try:
        dist = importlib.metadata.distribution("pyiqa")
    except importlib.metadata.PackageNotFoundError:
        print("pyiqa is not installed; nothing to prune", file=sys.stderr)
        return 0
    record = next((f for f in dist.files or [] if f.name == "RECORD"), None)
    if record is None:
        print("pyiqa has no RECORD; nothing to prune", file=sys.stderr)
        return 0
    record_path = Path(str(dist.locate_file(record)))  # typed as a SimplePath; a Path here
    site_packages = record_path.parent.parent
    removed = prune(site_packages, record_path)
    if removed:
        print(f"removed pyiqa's stray top-level folders from {site_packages}: {', '.join(removed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
