"""Hostile files: pickles that run code, YAML tags, ids and names that try to leave the run
folder, and markup in data strings. Nothing runs, nothing is written outside, all is escaped.

Escaping in every report format is also tested in tests/reports/test_report_outputs.py.
"""

from __future__ import annotations

import ast
import os
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from bench.cli import main
from bench.config import ConfigError
from bench.images import write_png
from bench.run.config import load_run_config

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("bench", "degradations", "baselines", "metrics", "dr2", "reports", "benchmarks")


class _Payload:
    """Unpickling this creates a folder: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _evil_checkpoints(folder: Path) -> list[Path]:
    """The same payload as a torch.save zip and as a legacy raw pickle, under usual names."""
    marker = folder / "code-ran"
    state = {"weight": torch.zeros(2), "payload": _Payload(marker)}
    zipped, raw = folder / "zipped.pth", folder / "raw.pkl"
    torch.save(state, zipped)
    raw.write_bytes(pickle.dumps(state))
    return [zipped, raw]


def _load_checkpoint(path: Path) -> None:
    from bench.weights import load_checkpoint

    load_checkpoint(path)


def _native_restorer(path: Path) -> None:
    from bench.registry import RESTORERS

    RESTORERS.create("spar", weights=str(path)).load("cpu")


def _lpips_backbone(path: Path) -> None:
    from bench.registry import METRICS

    METRICS.create("lpips", backbone_weights=str(path)).load("cpu")


def _fid_weights(path: Path) -> None:
    from metrics.inception import weights_state

    weights_state("pytorch_fid", path)


def _fid_statistics(path: Path) -> None:
    from metrics.reference import load_stats_file

    load_stats_file(path)


def _dr2_checkpoint(path: Path) -> None:
    from dr2.checkpoints import load_unet

    load_unet(path)


def _dr2_training_resume(path: Path) -> None:
    from dr2.train import Trainer

    Trainer.load_checkpoint(SimpleNamespace(checkpoint_path=path))


LOADERS = {
    "weights.load_checkpoint": (_load_checkpoint, True),
    "native restorer weights": (_native_restorer, True),
    "lpips backbone": (_lpips_backbone, True),
    "fid inception weights": (_fid_weights, True),
    "fid statistics": (_fid_statistics, True),
    "dr2 checkpoint": (_dr2_checkpoint, True),
    "dr2 training resume": (_dr2_training_resume, False),  # torch's own message
}


@pytest.mark.parametrize(
    "loader",
    [pytest.param(n, marks=pytest.mark.slow) if n == "lpips backbone" else n for n in LOADERS],
)
@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_pickle_that_runs_code_is_refused_by_every_loader(loader, tmp_path):
    load, names_the_file = LOADERS[loader]
    for path in _evil_checkpoints(tmp_path):
        with pytest.raises(Exception) as refused:
            load(path)
        assert not (tmp_path / "code-ran").exists(), f"{loader} ran the payload of {path.name}"
        if names_the_file:
            assert str(path) in str(refused.value)


def test_a_damaged_safetensors_file_is_an_error_naming_it(tmp_path):
    from bench.weights import UnsafeCheckpointError, load_checkpoint

    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(
        UnsafeCheckpointError, match="model.safetensors: not a readable safetensors"
    ):
        load_checkpoint(path)


def _calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    """Every call with its dotted name (``torch.load``, ``np.load``, ``eval``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            parts, func = [], node.func
            while isinstance(func, ast.Attribute):
                parts.append(func.attr)
                func = func.value
            if isinstance(func, ast.Name):
                found.append((".".join([func.id, *reversed(parts)]), node))
    return found


def _keyword(call: ast.Call, name: str) -> object:
    for keyword in call.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return None


UNSAFE_MODULES = {"cPickle", "dill", "cloudpickle", "joblib", "marshal", "shelve"}
UNSAFE_CALLS = {
    *("eval", "exec", "yaml.load", "yaml.unsafe_load", "yaml.full_load", "pd.read_pickle"),
    *("pickle.load", "pickle.loads", "pickle.Unpickler"),
}


def _unrestricted_unpicklers(tree: ast.AST) -> list[ast.ClassDef]:
    """Subclasses of ``pickle.Unpickler`` that do not restrict ``find_class`` (an allow-list)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = [ast.unparse(base) for base in node.bases]
        methods = {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
        if "pickle.Unpickler" in bases and "find_class" not in methods:
            found.append(node)
    return found


def test_no_source_file_can_unpickle_code():
    """Every reader of checkpoints and arrays in the code base is one of the safe forms."""
    problems = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            where = path.relative_to(REPO).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                    if UNSAFE_MODULES & {name.split(".")[0] for name in names}:
                        problems.append(f"{where}:{node.lineno}: imports {names}")
                    if isinstance(node, ast.ImportFrom) and node.module == "pickle":
                        problems.append(f"{where}:{node.lineno}: from pickle import {names}")
            for cls in _unrestricted_unpicklers(tree):
                problems.append(f"{where}:{cls.lineno}: {cls.name} does not restrict find_class")
            for name, call in _calls(tree):
                line = f"{where}:{call.lineno}: {name}"
                if name in UNSAFE_CALLS:
                    problems.append(line)
                elif name == "torch.load" and _keyword(call, "weights_only") is not True:
                    problems.append(f"{line} without weights_only=True")
                elif name in ("np.load", "numpy.load") and _keyword(call, "allow_pickle"):
                    problems.append(f"{line} with allow_pickle")
                elif name == "torch.jit.load" and where != "metrics/inception.py":
                    problems.append(f"{line} (TorchScript only from the installed fid-helper)")
    assert not problems, "\n".join(problems)


YAML_ATTACKS = [
    "!!python/object/apply:os.mkdir [{marker}]",
    "!!python/object/new:os.mkdir [{marker}]",
    "!!python/name:os.mkdir",
    "!!python/module:os",
]


@pytest.mark.parametrize("attack", YAML_ATTACKS)
def test_yaml_tags_that_build_objects_are_refused(attack, tmp_path, capsys):
    marker = tmp_path / "code-ran"
    config = tmp_path / "evil.yaml"
    config.write_text(f"name: {attack.format(marker=marker)}\ndatasets: []\nrestorers: []\n")
    assert main(["run", str(config)]) == 2
    assert f"{config}: invalid YAML" in capsys.readouterr().err
    chain = tmp_path / "chain.yaml"
    chain.write_text(f"name: c\nversion: 1\nsteps: {attack.format(marker=marker)}\n")
    faces = tmp_path / "faces"
    write_png(faces / "a.png", np.zeros((40, 40, 3), np.float32))
    out = tmp_path / "out"
    args = ["degrade", "--input", str(faces), "--chain", str(chain), "--output", str(out)]
    assert main(args) == 2
    assert f"{chain}: invalid YAML" in capsys.readouterr().err
    assert not marker.exists()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"datasets": [{"name": "../up", "path": "x"}]}, "datasets\\[0\\].name: '../up' cannot"),
        ({"datasets": [{"name": "a/b", "path": "x"}]}, "'a/b' cannot be used as a name"),
        ({"datasets": [{"name": ".hidden", "path": "x"}]}, "'.hidden' cannot be used"),
        ({"restorers": [{"name": "identity", "label": "../../x"}]}, "'../../x' cannot"),
        ({"restorers": [{"name": "identity", "label": "/abs"}]}, "'/abs' cannot"),
        ({"degradations": [{"chain": "../../../etc/evil"}]}, "unknown chain '../../../etc/evil'"),
    ],
)
def test_config_names_cannot_escape_the_run_folder(entry, message, tmp_path):
    config = {
        "name": "names",
        "datasets": [{"name": "faces", "path": str(tmp_path)}],
        "restorers": ["identity"],
        "output": str(tmp_path / "run"),
    } | entry
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=message):
        load_run_config(path)


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("image_id", ["../escape.png", "/tmp/abs.png", "a/../../b.png", ".", ""])
def test_dataset_ids_cannot_escape_the_run_folder(image_id, tmp_path, capsys):
    image = tmp_path / "face.png"
    write_png(image, np.full((40, 40, 3), 0.5, np.float32))
    config = tmp_path / "run.yaml"
    dataset = {"name": "hostile", "kind": "test_hostile", "image": str(image), "id": image_id}
    output = tmp_path / "deep" / "run"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "hostile",
                "datasets": [dataset],
                "degradations": [{"chain": "jpeg", "severities": [1]}],
                "restorers": ["identity"],
                "output": str(output),
            }
        )
    )
    before = _files(tmp_path)
    assert main(["run", str(config), "--quiet"]) == 2
    assert "is not a safe relative path" in capsys.readouterr().err
    assert {p for p in _files(tmp_path) - before if output not in p.parents} == set()
    assert not Path("/tmp/abs.png").exists()


def test_replayed_ids_cannot_escape_the_output_folder(tmp_path, capsys):
    faces = tmp_path / "faces"
    for name in ("a.png", "b.png"):
        write_png(faces / name, np.full((40, 40, 3), 0.5, np.float32))
    built = tmp_path / "built"
    assert main(["degrade", "--input", str(faces), "--chain", "jpeg", "--severity", "1",
                 "--output", str(built)]) == 0  # fmt: skip
    params = built / "params.jsonl"
    params.write_text(params.read_text().replace('"id":"a.png"', '"id":"../../escape.png"'))
    before = _files(tmp_path)
    replay = ["degrade", "--replay", str(params), "--output", str(tmp_path / "replayed")]
    assert main(replay) == 2
    assert "id '../../escape.png': no clean image with that id" in capsys.readouterr().err
    assert _files(tmp_path) == before


HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.mark.slow
def test_report_of_a_hostile_run_folder_stays_inside_and_escapes(tmp_path):
    """A run folder from elsewhere, with markup and '../' in its names, gives a safe report."""
    from reports.build import build_report

    faces = tmp_path / "faces"
    rng = np.random.default_rng(2)
    for name in (f"{HOSTILE}.png", "plain.png"):
        write_png(faces / name, rng.uniform(0, 1, (40, 40, 3)).astype(np.float32))
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "<script>alert('name')</script>",
                "datasets": [{"name": "faces", "path": str(faces)}],
                "degradations": [{"chain": "jpeg", "severities": [1, 3]}],
                "restorers": [
                    "identity",
                    {"name": "test_faulty", "params": {"fault": "raise", "on": "onerror"}},
                ],
                "metrics": ["psnr"],
                "output": str(tmp_path / "run"),
            }
        )
    )
    assert main(["run", str(config), "--quiet"]) == 1  # the faulty restorer fails one image
    run_dir = tmp_path / "run"
    records = pd.read_parquet(run_dir / "records.parquet")
    records["dataset"] = "../../../outside"  # as if edited by someone else
    records.to_parquet(run_dir / "records.parquet", index=False)
    before = _files(tmp_path)
    report = build_report(run_dir)
    written = _files(tmp_path) - before
    assert all(report.folder in path.parents for path in written)
    # no thumbnails: under the edited dataset name, the run folder has no images
    assert {path.parent.name for path in written} == {"report", "csv", "figures", "drilldown"}
    text = (report.folder / "report.html").read_text(encoding="utf-8")
    assert HOSTILE not in text and "<script>alert" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


def test_the_source_check_catches_unsafe_unpickling():
    """The check above is not vacuous: each unsafe form is caught, the restricted one passes."""
    source = (
        "import pickle\n"
        "class Open(pickle.Unpickler):\n    pass\n"
        "class Closed(pickle.Unpickler):\n    def find_class(self, module, name):\n"
        "        raise pickle.UnpicklingError(name)\n"
        "pickle.loads(b'')\n"
    )
    tree = ast.parse(source)
    assert [cls.name for cls in _unrestricted_unpicklers(tree)] == ["Open"]
    assert [name for name, _ in _calls(tree) if name in UNSAFE_CALLS] == ["pickle.loads"]
