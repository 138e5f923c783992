"""``dr2bench weights list|verify`` against a small manifest, and the real manifest's data."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from bench import weights
from bench.cli import main
from bench.files import sha256_bytes

GOOD = b"good weights"
ENTRIES = [
    {"name": "good", "file": "good.pth", "sha256": sha256_bytes(GOOD)[:8], "url": "https://g",
     "licence": "MIT", "used_by": ["a"]},
    {"name": "bad", "file": "bad.pth", "sha256": sha256_bytes(b"other")[:8], "url": "https://b",
     "licence": "MIT", "used_by": ["b"]},
    {"name": "unhashed", "file": "u.pth", "sha256": None, "url": "https://u", "licence": "MIT",
     "used_by": ["c"]},
    {"name": "absent", "file": "absent.pth", "sha256": None, "url": "https://a/absent.pth",
     "licence": "MIT", "used_by": ["d"], "search": ["weights", "torch_hub"]},
]  # fmt: skip


@pytest.fixture
def small_manifest(tmp_path, isolated_home, monkeypatch):
    """A four-entry manifest; ``good``, ``bad`` and ``unhashed`` are in the weights folder."""
    path = tmp_path / "weights.yaml"
    path.write_text(yaml.safe_dump(ENTRIES))
    monkeypatch.setattr(weights, "MANIFEST", path)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    weights.manifest.cache_clear()
    folder = isolated_home / "weights"
    folder.mkdir(parents=True)
    (folder / "good.pth").write_bytes(GOOD)
    (folder / "bad.pth").write_bytes(b"corrupted download")
    (folder / "u.pth").write_bytes(b"anything")
    yield folder
    weights.manifest.cache_clear()


def test_list_json(small_manifest, tmp_path, capsys):
    assert main(["weights", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert {name: row["status"] for name, row in rows.items()} == {
        "good": "ok",
        "bad": "wrong hash",
        "unhashed": "present",
        "absent": "missing",
    }
    assert rows["good"]["path"] == str(small_manifest / "good.pth")
    assert rows["unhashed"]["sha256"] is None  # list hashes only where a hash is published
    assert rows["absent"]["searched"] == [
        str(small_manifest / "absent.pth"),
        str(tmp_path / "torch" / "hub" / "checkpoints" / "absent.pth"),
    ]
    assert rows["absent"]["path"] is None and rows["absent"]["url"] == "https://a/absent.pth"


def test_list_table_says_where_it_looks(small_manifest, tmp_path, capsys):
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert f"weights    {small_manifest}" in out
    assert f"torch_hub  {tmp_path / 'torch' / 'hub' / 'checkpoints'}" in out
    assert re.search(r"absent\s+missing\s+absent.pth\s+get https://a/absent.pth -> ", out)
    assert re.search(rf"good\s+ok\s+good.pth\s+{re.escape(str(small_manifest))}", out)


def test_explicit_path(small_manifest, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere.bin"
    elsewhere.write_bytes(b"other")  # the file whose hash the "bad" entry publishes
    assert main(["weights", "list", "--json", "--path", f"bad={elsewhere}"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["bad"]["status"] == "ok"  # the right file, given explicitly
    assert rows["bad"]["path"] == str(elsewhere)
    assert main(["weights", "list", "--path", "bda=/x"]) == 2
    assert "did you mean 'bad'" in capsys.readouterr().err


def test_verify(small_manifest, capsys):
    assert main(["weights", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"good: ok, sha256 {sha256_bytes(GOOD)}" in out
    assert f"bad: WRONG HASH: {small_manifest / 'bad.pth'} has sha256 " in out
    assert (
        f"unhashed: present, no published hash to check; sha256 {sha256_bytes(b'anything')}" in out
    )
    assert "absent: missing" in out
    assert main(["weights", "verify", "good", "unhashed"]) == 0
    assert main(["weights", "verify", "absent"]) == 1  # named, so missing is an error
    assert main(["weights", "verify", "godo"]) == 2
    assert "did you mean 'good'" in capsys.readouterr().err


def test_real_manifest_is_complete():
    entries = weights.manifest()
    files = [item.file for item in entries.values()]
    assert len(files) == len(set(files))
    for item in entries.values():
        assert item.url.startswith("https://"), item.name
        assert item.licence and item.used_by, item.name
        if item.sha256 is not None:
            assert re.fullmatch(r"[0-9a-f]{8,64}", item.sha256), item.name
            if len(item.sha256) < 64:  # 64 digits: pinned by dr2bench (a file inside a package)
                # a published prefix is the one in the file name (torchvision, pytorch-fid)
                assert item.sha256 in item.file, item.name
    for needed in ("sparnethd_dr2aug", "gfpgan_v1.4", "codeformer", "dr2_ffhq256"):
        assert needed in entries
