"""Crashes, full disks and read-only folders never lose results that were already written.

``kill -9`` at random moments of a run, then a resume, is tested in
tests/bench/run/test_resume.py; these tests add a crash inside one atomic write, write errors at
several points of a run (ENOSPC, EDQUOT, EROFS), a read-only run folder, a damaged journal line
and a full disk met by an isolated worker.
"""

from __future__ import annotations

import builtins
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import reliability_plugins
import yaml

import bench.run.journal
from bench.cli import main
from bench.files import StorageError, atomic_write_bytes
from bench.images import write_png
from bench.run.isolation import IsolatedWorker
from bench.run.journal import Journal

REPO = Path(__file__).resolve().parents[2]
TABLES = ("records.parquet", "sets.parquet", "manifest.json", "journal.jsonl")


def _config(root: Path, output: Path, extended: bool) -> Path:
    """A paired set of ten images; the extended config adds a restorer and a metric."""
    config = {
        "name": "crash-safety",
        "datasets": [{"name": "pairs", "kind": "paired", "path": str(root / "data")}],
        "restorers": ["identity", "lanczos"] if extended else ["identity"],
        "metrics": ["psnr", "ssim"] if extended else ["psnr"],
        "output": str(output),
        "batch_size": 2,
    }
    path = root / f"{output.name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The data, a finished run of the small config and a finished run of the extended one."""
    root = tmp_path_factory.mktemp("crash")
    rng = np.random.default_rng(11)
    for i in range(10):
        gt = rng.uniform(0, 1, (40, 40, 3)).astype(np.float32)
        write_png(root / "data/gt" / f"{i}.png", gt)
        write_png(root / "data/lq" / f"{i}.png", np.clip(gt + 0.1, 0, 1))
    assert main(["run", str(_config(root, root / "small", False)), "--quiet"]) == 0
    assert main(["run", str(_config(root, root / "clean", True)), "--quiet"]) == 0
    return root


@pytest.fixture(scope="module")
def extension_fsyncs(base, tmp_path_factory) -> int:
    """How many ``fsync`` calls extending the small run makes (one per file and journal batch)."""
    config = _copy_small_run(base, tmp_path_factory.mktemp("count"))[1]
    real_fsync, calls = os.fsync, [0]

    def fsync(fd: int) -> None:
        calls[0] += 1
        real_fsync(fd)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "fsync", fsync)
        assert main(["run", str(config), "--resume", "--quiet"]) == 0
    return calls[0]


def _copy_small_run(base: Path, tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """A copy of the finished small run, the extended config over it and its files' bytes."""
    run_dir = tmp_path / "run"
    shutil.copytree(base / "small", run_dir)
    config = _config(base, run_dir, True)
    shutil.move(config, tmp_path / "extended.yaml")
    return run_dir, tmp_path / "extended.yaml", {t: (run_dir / t).read_bytes() for t in TABLES}


def _assert_readable(run_dir: Path) -> None:
    for table in ("records.parquet", "sets.parquet"):
        pd.read_parquet(run_dir / table)
    json.loads((run_dir / "manifest.json").read_text())
    lines = (run_dir / "journal.jsonl").read_bytes().splitlines()
    assert all(isinstance(json.loads(line)["k"], str) for line in lines)
    assert not list(run_dir.rglob(".*.tmp")), "a temporary file was left behind"


def _assert_resumes_like_a_clean_run(run_dir: Path, config: Path, base: Path) -> None:
    assert main(["run", str(config), "--resume", "--quiet"]) == 0
    for table in ("records.parquet", "sets.parquet"):
        assert (run_dir / table).read_bytes() == (base / "clean" / table).read_bytes(), table


def _fail_fsync_after(monkeypatch, successes: int, code: int) -> None:
    """Every ``os.fsync`` after the first ``successes`` fails with ``code`` (a full disk...)."""
    real_fsync, calls = os.fsync, [0]

    def fsync(fd: int) -> None:
        calls[0] += 1
        if calls[0] > successes:
            raise OSError(code, os.strerror(code))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("moment", "code"),
    [
        (0.0, errno.ENOSPC),  # the first write: a restored image
        (0.2, errno.EDQUOT),
        (0.5, errno.ENOSPC),
        (0.8, errno.EROFS),
        (1.0, errno.ENOSPC),  # the last write: manifest.json
    ],
)
def test_write_errors_stop_the_run_and_keep_earlier_results(
    base, extension_fsyncs, tmp_path, monkeypatch, capsys, moment, code
):
    successes = round(moment * (extension_fsyncs - 1))
    run_dir, config, before = _copy_small_run(base, tmp_path)
    with monkeypatch.context() as patch:
        _fail_fsync_after(patch, successes, code)
        assert main(["run", str(config), "--resume", "--quiet"]) == 3
    message = capsys.readouterr().err
    assert os.strerror(code) in message and "Results written so far are intact" in message
    assert str(run_dir) in message  # the file it could not write
    _assert_readable(run_dir)
    journal = (run_dir / "journal.jsonl").read_bytes()
    assert journal.startswith(before["journal.jsonl"])  # only appended to
    _assert_resumes_like_a_clean_run(run_dir, config, base)


def test_full_disk_in_a_fresh_run_during_degradation(base, tmp_path, monkeypatch, capsys):
    config = _config(base, tmp_path / "fresh", False)
    with monkeypatch.context() as patch:  # degradation runs in worker processes (forked)
        _fail_fsync_after(patch, 0, errno.ENOSPC)
        assert main(["run", str(config), "--quiet"]) == 3
    assert "No space left on device" in capsys.readouterr().err
    assert not list((tmp_path / "fresh").rglob(".*.tmp"))
    assert main(["run", str(config), "--quiet"]) == 0
    for table in ("records.parquet", "sets.parquet"):
        assert (tmp_path / "fresh" / table).read_bytes() == (base / "small" / table).read_bytes()


def _refuse_writes(path: str | Path, mode: str = "r", *args, **kwargs):
    if any(flag in mode for flag in "wax+"):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
    return builtins.open(path, mode, *args, **kwargs)


def test_read_only_run_folder_gives_a_clear_error(base, tmp_path, monkeypatch, capsys):
    run_dir, config, before = _copy_small_run(base, tmp_path)
    with monkeypatch.context() as patch:  # the lock and the journal are opened first
        patch.setattr(bench.run.journal, "open", _refuse_writes, raising=False)
        assert main(["run", str(config), "--resume", "--quiet"]) == 3
    message = capsys.readouterr().err
    assert f"cannot write {run_dir / '.lock'}: Read-only file system" in message
    assert {t: (run_dir / t).read_bytes() for t in TABLES} == before
    _assert_resumes_like_a_clean_run(run_dir, config, base)


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not stop root (CI runs as root)")
def test_folder_without_write_permission(base, tmp_path, capsys):
    run_dir, config, before = _copy_small_run(base, tmp_path)
    folders = [run_dir, *(p for p in run_dir.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        assert main(["run", str(config), "--resume", "--quiet"]) == 3
        assert "Permission denied" in capsys.readouterr().err
        assert {t: (run_dir / t).read_bytes() for t in TABLES} == before
    finally:
        for folder in folders:
            folder.chmod(0o755)
    _assert_resumes_like_a_clean_run(run_dir, config, base)


def test_a_failing_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "records.parquet"
    target.write_bytes(b"old")

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StorageError, match=f"cannot write {target}: No space left on device"):
        atomic_write_bytes(target, b"new" * 1000)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.parquet"]


KILLED_WRITER = """
import os, sys, time
from bench.files import atomic_write_bytes
def stall(fd):
    print("writing", flush=True)
    time.sleep(120)
os.fsync = stall
atomic_write_bytes(sys.argv[1], b"new" * 100000)
"""


@pytest.mark.slow
def test_kill_inside_an_atomic_write_keeps_the_old_file(base, tmp_path):
    run_dir, config, before = _copy_small_run(base, tmp_path)
    target = run_dir / "records.parquet"
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(target)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": str(REPO)},
    )
    try:
        assert writer.stdout.readline() == b"writing\n"  # the new bytes are in the temporary
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert target.read_bytes() == before["records.parquet"]
    assert len(list(run_dir.glob(".records.parquet.*.tmp"))) == 1
    _assert_resumes_like_a_clean_run(run_dir, config, base)  # the next run removes it
    assert not list(run_dir.rglob(".*.tmp"))
    assert "removed 1 temporary files" in (run_dir / "run.log").read_text()


def test_a_damaged_journal_line_is_done_again(base, tmp_path):
    run_dir, config, _ = _copy_small_run(base, tmp_path)
    journal = run_dir / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[3] = b"\x00" * 20 + lines[3][20:]  # a damaged sector in the middle
    journal.write_bytes(b"".join(lines))
    opened = Journal(journal)
    opened.close()
    assert opened.damaged == 1 and len(opened.entries) == len(lines) - 1
    _assert_resumes_like_a_clean_run(run_dir, config, base)
    assert "journal: 1 damaged lines ignored" in (run_dir / "run.log").read_text()


@pytest.mark.slow
def test_full_disk_in_an_isolated_worker_stops_the_run(tmp_path):
    worker = IsolatedWorker(timeout_s=60)
    try:
        with pytest.raises(StorageError, match="No space left on device"):
            worker.call(reliability_plugins.fail_to_write, (str(tmp_path / "x.png"),))
    finally:
        worker.close()
