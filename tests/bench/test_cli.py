from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[2]
FAKE_PLUGIN = REPO / "tests" / "fake_plugin"


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps long lines
    for name, (_, summary) in COMMANDS.items():
        assert name in out and summary in out


def test_list_datasets_json(capsys):
    assert main(["list", "datasets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = [row["name"] for row in rows]
    assert {"folder", "paired"} <= set(names)
    assert all(set(row) >= {"name", "version", "description"} for row in rows)


def test_list_restorers_imports_no_torch():
    code = (
        "import sys, json, io, contextlib\n"
        "from bench.cli import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    assert main(['list', 'restorers', '--json']) == 0\n"
        "json.loads(buf.getvalue())\n"
        "heavy = [m for m in ('torch', 'torchvision', 'cv2', 'pandas') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


@pytest.mark.slow
def test_installed_fake_plugin_shows_up_in_list(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(FAKE_PLUGIN),
        ],
        check=True,
        cwd=tmp_path,
    )
    env = {"PYTHONPATH": str(target), "PATH": str(Path(sys.executable).parent)}
    for kind, name in [
        ("restorers", "fake_blur"),
        ("metrics", "fake_mean"),
        ("degradations", "fake_invert"),
        ("datasets", "fake_empty"),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "bench.cli", "list", kind, "--json"],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        rows = {row["name"]: row for row in json.loads(result.stdout)}
        assert name in rows, result.stdout
        assert "fake-dr2bench-plugin" in rows[name]["source"]
        assert not rows[name]["description"].startswith("BROKEN")
    result = subprocess.run(
        [sys.executable, "-m", "bench.cli", "list", "restorers"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert re.search(r"fake_blur +v3 +A third-party restorer that returns its input", result.stdout)


def test_help_imports_no_command_module():
    code = (
        "import sys\n"
        "from bench.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in sys.modules if m.startswith('bench.commands.')]\n"
        "assert not loaded and 'torch' not in sys.modules, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, capture_output=True)


def test_output_piped_to_a_reader_that_stops_early_is_not_an_error():
    """``dr2bench list | head -1``: the reader goes away; no BrokenPipeError traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()  # before the command writes anything: its first write fails
    assert process.wait(timeout=300) == 0
    assert process.stderr.read() == ""
