"""The wheel installs beside a research environment's own torch, without replacing it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_dependencies_state_lower_bounds_and_constraints_pin_them():
    """An exact pin in pyproject.toml makes 'pip install dr2bench' fight the user's torch."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    requirements = project["dependencies"] + extras
    assert not [r for r in requirements if "==" in r]
    pins = (REPO / "constraints.txt").read_text().splitlines()
    assert "torch==2.14.1" in pins and "torchvision==0.29.1" in pins


def _pip(python: Path, *args: str, cwd: Path) -> str:
    command = [str(python), "-m", "pip", "--disable-pip-version-check", "-q", *args]
    env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}  # no local wheels
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_the_wheel_installs_beside_an_existing_torch_and_runs(tmp_path):
    # the source tree as git has it, built outside the checkout (setuptools writes into it)
    source = tmp_path / "source"
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        target = source / os.fsdecode(name)
        if (REPO / os.fsdecode(name)).is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((REPO / os.fsdecode(name)).read_bytes())
    dist = tmp_path / "dist"
    _pip(Path(sys.executable), "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(dist), str(source), cwd=tmp_path)  # fmt: skip
    (wheel,) = dist.glob("dr2bench-*.whl")

    # an environment that already has torch and the other dependencies, but not dr2bench
    existing = tmp_path / "existing"
    existing.mkdir()
    ours = Path(sysconfig.get_paths()["purelib"])
    for entry in ours.iterdir():
        if "dr2bench" not in entry.name and entry.suffix != ".pth":
            (existing / entry.name).symlink_to(entry)
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    python = env / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    (site / "existing.pth").write_text(f"{existing}\n")
    _pip(python, "uninstall", "-y", "setuptools", cwd=tmp_path)  # venv's own, older than torch's

    # no index: every dependency must be satisfied by what is there, torch included
    _pip(python, "install", "--no-index", str(wheel), cwd=tmp_path)
    installed = {path.name.split("-")[0].lower() for path in site.glob("*.dist-info")}
    assert "dr2bench" in installed and "torch" not in installed, sorted(installed)

    run = {"cwd": tmp_path, "capture_output": True, "text": True, "timeout": 300}
    where = subprocess.run(
        [str(python), "-c", "import bench, torch; print(bench.__file__); print(torch.__version__)"],
        **run,
    )
    bench_file, torch_version = where.stdout.split()
    assert Path(bench_file).is_relative_to(site)
    assert torch_version.startswith("2.14.1")
    assert subprocess.run([str(env / "bin" / "dr2bench"), "--help"], **run).returncode == 0
    listed = subprocess.run([str(env / "bin" / "dr2bench"), "list"], **run)
    assert listed.returncode == 0, listed.stderr
    for plugin in ("gaussian_blur", "dr2", "lpips", "demo_faces"):
        assert plugin in listed.stdout
