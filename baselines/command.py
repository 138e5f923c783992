"""The ``command`` restorer: an external inference program run on a folder of inputs.

The official scripts of GFPGAN, CodeFormer and others run unchanged, in their own interpreter
or environment. For each call (a batch, or a whole set in ``per_folder`` mode) the inputs are
written as PNG files to a fresh work folder ``input/``, the command runs with ``{input}`` and
``{output}`` replaced by ``input/`` and ``output/``, and each image's result is read back from
``output/`` by ``output_pattern``. Missing or unreadable results become per-image failures
(:class:`bench.contracts.RestoreFailures`); the command's stdout and stderr go to the run log
(:meth:`CommandRestorer.take_log`) and, when ``work_dir`` is set, to ``command.log`` beside the
kept inputs and outputs.

Example:
    >>> RESTORERS.create(  # doctest: +SKIP
    ...     "command",
    ...     command="/envs/cf/bin/python inference_codeformer.py -w 0.7 --has_aligned"
    ...     " --input_path {input} --output_path {output}",
    ...     cwd="~/src/CodeFormer",
    ...     output_pattern="restored_faces/{stem}.png",
    ... )
"""

from __future__ import annotations

import shlex
import shutil
import string
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from baselines.outputs import assemble
from baselines.process import ProcessResult, run_process
from bench.contracts import Restorer, Unavailable
from bench.files import atomic_write_text

if TYPE_CHECKING:
    import torch

COMMAND_FIELDS = frozenset({"input", "output", "python"})


def _fields(template: str, where: str) -> set[str]:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(
            f"{where} {template!r} is malformed: {exc} (write {{{{ and }}}} for braces)"
        ) from exc
    return names


class CommandRestorer(Restorer):
    """Runs an external inference program on a folder of inputs (see the module docstring)."""

    version = 1
    description = "External inference program run on a folder of inputs (official scripts as-is)"

    @dataclass(frozen=True)
    class Params:
        """Attributes:
        command: The command line, split like a shell would (no shell runs it); ``{input}``
            and ``{output}`` are the input and output folders, ``{python}`` this interpreter.
            Write ``{{`` and ``}}`` for literal braces.
        mode: ``per_batch`` runs the command once per batch; ``per_folder`` asks the runner
            for the whole set in one call, for programs slow to start.
        output_pattern: Where each result is, relative to ``{output}``; ``{stem}`` is the
            input's file name without suffix (e.g. ``restored_faces/{stem}_00.png``).
        timeout_s: Seconds before the command (and every process it started) is killed.
        cwd: Working folder of the command (default: the current one).
        env: Environment variables set for the command, on top of the current ones.
        resize: Resample results of another size to the input size instead of failing.
        work_dir: Keep each call's ``input/``, ``output/`` and ``command.log`` in a new folder
            under this one; by default a temporary folder is used and deleted.
        """

        command: str
        mode: Literal["per_batch", "per_folder"] = "per_batch"
        output_pattern: str = "{stem}.png"
        timeout_s: float = 3600.0
        cwd: Path | None = None
        env: dict[str, str] = field(default_factory=dict)
        resize: bool = True
        work_dir: Path | None = None

        def __post_init__(self) -> None:
            try:
                shlex.split(self.command)
            except ValueError as exc:
                raise ValueError(f"command {self.command!r} cannot be split: {exc}") from exc
            names = _fields(self.command, "command")
            if not {"input", "output"} <= names or not names <= COMMAND_FIELDS:
                raise ValueError(
                    f"command must use {{input}} and {{output}} and no placeholder but "
                    f"{{input}}, {{output}}, {{python}}; got {sorted(names)} in {self.command!r}"
                )
            if _fields(self.output_pattern, "output_pattern") != {"stem"}:
                raise ValueError(
                    f"output_pattern must use {{stem}} and no other placeholder: "
                    f"{self.output_pattern!r}"
                )
            pattern = PurePosixPath(self.output_pattern)
            if pattern.is_absolute() or ".." in pattern.parts:
                raise ValueError(f"output_pattern must stay inside {{output}}: {pattern}")
            if not self.timeout_s > 0:
                raise ValueError(f"timeout_s must be positive, got {self.timeout_s}")

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._log: list[str] = []

    @property
    def whole_set(self) -> bool:
        """True in ``per_folder`` mode."""
        return self.params.mode == "per_folder"

    def load(self, device: str = "cpu") -> None:
        """Check that the program exists (the device is the program's business).

        Raises:
            Unavailable: the program or the working folder is not there.
        """
        cwd = self._cwd()
        if cwd is not None and not cwd.is_dir():
            raise Unavailable(f"command restorer: working folder {cwd} does not exist")
        program = self._argv(Path("input"), Path("output"))[0]
        local = (cwd or Path.cwd()) / Path(program).expanduser()
        if not local.is_file() and shutil.which(program) is None:
            raise Unavailable(
                f"command restorer: program '{program}' not found on PATH or in {cwd or Path.cwd()}"
            )

    def restore(self, images: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        """Run the command on ``images``, named ``00000.png``, ``00001.png``, ..."""
        return self._run(images, [f"{index:05d}" for index in range(len(images))])

    def restore_batch(
        self, images: torch.Tensor, seeds: Sequence[int], ids: Sequence[str]
    ) -> torch.Tensor:
        """Run the command on ``images``, files named after their ids (``a/b.jpg``: ``a__b``)."""
        return self._run(images, file_stems(ids))

    def take_log(self) -> list[str]:
        """The log of every command run since the last call."""
        lines, self._log = self._log, []
        return lines

    def _cwd(self) -> Path | None:
        return self.params.cwd.expanduser() if self.params.cwd is not None else None

    def _argv(self, input_dir: Path, output_dir: Path) -> list[str]:
        values = {"input": str(input_dir), "output": str(output_dir), "python": sys.executable}
        return [token.format(**values) for token in shlex.split(self.params.command)]

    def _run(self, images: torch.Tensor, stems: list[str]) -> torch.Tensor:
        from bench.images import to_numpy, write_png

        if len(images) == 0:
            return images.clone()
        if self.params.work_dir is not None:
            self.params.work_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="dr2bench-command-", dir=self.params.work_dir))
        try:
            input_dir, output_dir = work / "input", work / "output"
            output_dir.mkdir()
            for stem, image in zip(stems, to_numpy(images), strict=True):
                write_png(input_dir / f"{stem}.png", image)
            result = run_process(
                self._argv(input_dir.resolve(), output_dir.resolve()),
                cwd=self._cwd(),
                env=self.params.env,
                timeout_s=self.params.timeout_s,
            )
            self._record(result, work)
            return self._collect(images, stems, output_dir, result)
        finally:
            if self.params.work_dir is None:
                shutil.rmtree(work, ignore_errors=True)

    def _record(self, result: ProcessResult, work: Path) -> None:
        text = result.as_text()
        self._log.extend(text.splitlines())
        if self.params.work_dir is not None:
            atomic_write_text(work / "command.log", text + "\n")

    def _collect(
        self, images: torch.Tensor, stems: list[str], output_dir: Path, result: ProcessResult
    ) -> torch.Tensor:
        files: list[Path | None] = []
        missing: dict[int, str] = {}
        for index, stem in enumerate(stems):
            relative = self.params.output_pattern.format(stem=stem)
            path = output_dir / relative
            files.append(path if path.is_file() else None)
            if not path.is_file():
                missing[index] = f"no output {relative} for input {stem}.png ({result.outcome()})"
        return assemble(images, files, missing, resize=self.params.resize)


def file_stems(ids: Sequence[str]) -> list[str]:
    """Flat, unique file stems for image ids: ``a/b.jpg`` -> ``a__b``; repeats get ``__2``, ...

    Example:
        >>> file_stems(["a/b.jpg", "c.png", "a/b.png"])
        ['a__b', 'c', 'a__b__2']
    """
    stems: list[str] = []
    taken: set[str] = set()
    for image_id in ids:
        stem = PurePosixPath(image_id).with_suffix("").as_posix().replace("/", "__")
        candidate, count = stem, 1
        while candidate in taken:
            count += 1
            candidate = f"{stem}__{count}"
        taken.add(candidate)
        stems.append(candidate)
    return stems
