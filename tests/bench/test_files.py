"""Values derived from a file are cached only while the file stays the same."""

from __future__ import annotations

import os

import pytest

from bench.files import cached_sha256, per_file_version, sha256_bytes


def test_per_file_version_recomputes_after_a_change_and_passes_missing_files_through(tmp_path):
    calls = []

    @per_file_version(maxsize=8)
    def size_of(path):
        calls.append(path)
        return os.path.getsize(path)

    path = tmp_path / "a.bin"
    path.write_bytes(b"12")
    assert size_of(str(path)) == size_of(str(path)) == 2
    assert len(calls) == 1
    path.write_bytes(b"12345")
    assert size_of(str(path)) == 5
    assert len(calls) == 2
    with pytest.raises(FileNotFoundError):
        size_of(str(tmp_path / "missing.bin"))


def test_cached_sha256_follows_the_bytes(tmp_path):
    path = tmp_path / "w.pt"
    path.write_bytes(b"first")
    assert cached_sha256(path) == sha256_bytes(b"first")
    path.write_bytes(b"second, longer")
    assert cached_sha256(path) == sha256_bytes(b"second, longer")
