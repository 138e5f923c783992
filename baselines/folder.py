"""The ``folder`` restorer: precomputed outputs (released by a paper's authors, or run elsewhere).

Outputs are matched to inputs by image id (the input's relative path in its dataset). For the
id ``sub/0007.jpg`` and ``pattern: "{stem}_00"`` the restorer takes the first of:

1. ``PATH/sub/0007.jpg``, the same relative path (only with the default pattern ``{stem}``);
2. ``PATH/sub/0007_00.*``, the same folder and the pattern, any image suffix;
3. ``PATH/0007_00.*``, the pattern at the top of the folder;
4. the one file named ``0007_00.*`` anywhere below ``PATH``.

Two candidates at the same step make the match ambiguous; no candidate makes it missing. Both
are per-image failures (:class:`bench.contracts.RestoreFailures`), and :meth:`FolderRestorer.check`
reports them for a whole list of ids before anything runs.

Example:
    >>> restorer = RESTORERS.create("folder", path="results/cf/restored_faces")  # doctest: +SKIP
    >>> restorer.load()  # doctest: +SKIP
    >>> restorer.check(["0001.png", "0002.png"]).missing  # doctest: +SKIP
    {'0002.png': "no output for '0002.png' in results/codeformer/restored_faces (...)"}
"""

from __future__ import annotations

import string
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from baselines.outputs import assemble
from bench.contracts import Restorer
from bench.images import IMAGE_SUFFIXES, list_images

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class FolderMatch:
    """Outputs found for a list of ids, and why the others have none.

    Attributes:
        found: The output file of each matched id.
        missing: The reason for each id without a usable match (missing or ambiguous).
        unused: Output files (relative POSIX paths) matched to no id.
    """

    found: dict[str, Path]
    missing: dict[str, str]
    unused: tuple[str, ...]


class FolderRestorer(Restorer):
    """Reads precomputed outputs from a folder (see the module docstring for the matching)."""

    version = 1
    description = "Precomputed outputs from a folder, matched to inputs by relative path or stem"

    @dataclass(frozen=True)
    class Params:
        """Attributes:
        path: The folder of outputs (searched recursively).
        pattern: The output's file stem for an input stem ``{stem}``, without suffix
            (``{stem}_00`` for GFPGAN's ``restored_faces``); may include subfolders.
        resize: Resample outputs of another size to the input size instead of failing.
        """

        path: Path
        pattern: str = "{stem}"
        resize: bool = True

        def __post_init__(self) -> None:
            names = {n for _, n, _, _ in string.Formatter().parse(self.pattern) if n is not None}
            if names != {"stem"}:
                raise ValueError(f"pattern must use {{stem}} and nothing else: {self.pattern!r}")

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._by_path: dict[str, list[Path]] = {}
        self._by_name: dict[str, list[Path]] = {}
        self._indexed = False

    def load(self, device: str = "cpu") -> None:
        """Index the folder's images by relative path and by file name, without suffix.

        Raises:
            FileNotFoundError: the folder does not exist.
        """
        root = self.params.path.expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"folder restorer: {root} is not a folder")
        by_path: dict[str, list[Path]] = defaultdict(list)
        by_name: dict[str, list[Path]] = defaultdict(list)
        for path in list_images(root):
            relative = PurePosixPath(path.relative_to(root).as_posix())
            by_path[relative.with_suffix("").as_posix()].append(path)
            by_name[relative.stem].append(path)
        self._by_path, self._by_name = dict(by_path), dict(by_name)
        self._indexed = True

    def fingerprint(self) -> dict[str, str]:
        """One digest of every image in the folder, by relative path and bytes.

        Replacing, adding or removing an output file invalidates this restorer's cached results.
        """
        from bench.files import cached_sha256, hash_value

        root = self.params.path.expanduser()
        if not root.is_dir():
            return {}  # load() reports it
        files = {
            path.relative_to(root).as_posix(): cached_sha256(path) for path in list_images(root)
        }
        return {str(root): hash_value(files)}

    def restore(self, images: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        """Not possible without ids.

        Raises:
            TypeError: always; runners call :meth:`restore_batch`.
        """
        raise TypeError(
            "the folder restorer finds outputs by image id: call restore_batch(images, seeds, ids)"
        )

    def restore_batch(
        self, images: torch.Tensor, seeds: Sequence[int], ids: Sequence[str]
    ) -> torch.Tensor:
        """The outputs of ``ids``, resized to the inputs' size if ``resize`` is set."""
        match = self.check(ids)
        files = [match.found.get(image_id) for image_id in ids]
        missing = {
            index: match.missing[image_id]
            for index, image_id in enumerate(ids)
            if image_id in match.missing
        }
        return assemble(images, files, missing, resize=self.params.resize)

    def check(self, ids: Sequence[str]) -> FolderMatch:
        """Match every id to its output; say which are missing and which outputs are unused."""
        if not self._indexed:
            self.load()
        found: dict[str, Path] = {}
        missing: dict[str, str] = {}
        for image_id in ids:
            try:
                found[image_id] = self._find(image_id)
            except LookupError as exc:
                missing[image_id] = str(exc)
        root = self.params.path.expanduser()
        used = set(found.values())
        unused = sorted(
            path.relative_to(root).as_posix()
            for paths in self._by_path.values()
            for path in paths
            if path not in used
        )
        return FolderMatch(found, missing, tuple(unused))

    def _find(self, image_id: str) -> Path:
        root = self.params.path.expanduser()
        relative = PurePosixPath(image_id)
        if self.params.pattern == "{stem}" and (root / relative).is_file():
            return root / relative
        target = PurePosixPath(self.params.pattern.format(stem=relative.stem))
        steps = [
            (self._by_path, (relative.parent / target).as_posix()),
            (self._by_path, target.as_posix()),
            (self._by_name, target.name),
        ]
        for table, key in steps:
            candidates = table.get(key, [])
            if len(candidates) == 1:
                return candidates[0]
            if len(candidates) > 1:
                names = ", ".join(p.relative_to(root).as_posix() for p in candidates)
                raise LookupError(f"ambiguous output for '{image_id}' in {root}: {names}")
        suffixes = "/".join(sorted(s.lstrip(".") for s in IMAGE_SUFFIXES))
        raise LookupError(
            f"no output for '{image_id}' in {root} (looked for "
            f"{(relative.parent / target).as_posix()}.* and any file named {target.name}.*, "
            f"* = {suffixes})"
        )
