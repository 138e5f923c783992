"""Running an external program with a timeout that also ends every process it started.

The program runs in a new session (its own process group), so on timeout the whole group is
killed: a wrapper such as ``conda run`` or a shell script cannot leave its Python child running.
stdout and stderr are kept (the last :data:`KEPT_CHARS` characters of each).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

KEPT_CHARS = 20_000
DRAIN_TIMEOUT_S = 5.0  # after a kill, how long to wait for the pipes to close


@dataclass(frozen=True)
class ProcessResult:
    """What happened when a program ran.

    Attributes:
        argv: The program and its arguments.
        cwd: The working folder, or ``None`` for the current one.
        returncode: The exit status (negative: killed by that signal), ``None`` if it did not start.
        timed_out: Whether it was killed for running past its timeout.
        seconds: Wall-clock time.
        stdout: The end of its standard output.
        stderr: The end of its standard error (or why it did not start).
    """

    argv: tuple[str, ...]
    cwd: str | None
    returncode: int | None
    timed_out: bool
    seconds: float
    stdout: str
    stderr: str

    def outcome(self) -> str:
        """One phrase: ``exited with status 0``, ``timed out after 10.0 s``, ``did not start``."""
        if self.timed_out:
            return f"command timed out after {self.seconds:.1f} s"
        if self.returncode is None:
            return f"command did not start: {self.stderr.strip()}"
        return f"command exited with status {self.returncode}"

    def as_text(self) -> str:
        """The run as log text: the command, its outcome, then its stdout and stderr."""
        where = f" (in {self.cwd})" if self.cwd else ""
        lines = [f"$ {' '.join(self.argv)}{where}", f"{self.outcome()} in {self.seconds:.1f} s"]
        for name, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            if text.strip():
                lines += [f"--- {name} ---", text.rstrip("\n")]
        return "\n".join(lines)


def run_process(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float,
) -> ProcessResult:
    """Run ``argv`` (no shell), with ``env`` added to the current environment.

    Example:
        >>> run_process(["true"], timeout_s=5).returncode  # doctest: +SKIP
        0
    """
    start = time.monotonic()
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=os.environ | dict(env or {}),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return ProcessResult(
            tuple(argv), _text(cwd), None, False, time.monotonic() - start, "", str(exc)
        )
    timed_out = False
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        stdout, stderr = _kill(process)
    return ProcessResult(
        argv=tuple(argv),
        cwd=_text(cwd),
        returncode=process.returncode,
        timed_out=timed_out,
        seconds=time.monotonic() - start,
        stdout=_tail(stdout),
        stderr=_tail(stderr),
    )


def _kill(process: subprocess.Popen) -> tuple[bytes, bytes]:
    """Kill the program's whole process group and collect what it wrote."""
    with contextlib.suppress(ProcessLookupError):  # it ended by itself meanwhile
        os.killpg(process.pid, signal.SIGKILL)
    try:
        return process.communicate(timeout=DRAIN_TIMEOUT_S)
    except subprocess.TimeoutExpired:  # a grandchild escaped the group and holds the pipes
        process.kill()
        process.wait()
        return b"", b"(output lost: a process outside the group kept the pipes open)"


def _tail(data: bytes | None) -> str:
    text = (data or b"").decode("utf-8", errors="replace")
    return text if len(text) <= KEPT_CHARS else "[...]\n" + text[-KEPT_CHARS:]


def _text(path: Path | None) -> str | None:
    return str(path) if path is not None else None
