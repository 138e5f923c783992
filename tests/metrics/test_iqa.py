"""The pyiqa bridge (``metrics/iqa``): registry, the table vs pyiqa, offline files, values.

Values: every weight-free bridged metric, scored through ``dr2bench score`` on the five
calibration pairs, equals a direct pyiqa 0.1.16 call to 1e-6 and pyiqa's published calibration
(``pyiqa_values.csv``) to the digits it prints, except the few pairs listed in
``CSV_DIFFERENCES``: pyiqa 0.1.16 itself (the direct call) gives those values under torch 2.14 on
a CPU; the CSV was made by an older pyiqa build (float32 arithmetic, see docs/metrics.md).
Weighted metrics are checked with random weights saved under the file name pyiqa loads.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.metadata
import importlib.util
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

from bench.config import ConfigError
from bench.registry import METRICS, RegistryError
from metrics.iqa.table import PYIQA_VERSION, lookup, table
from tests.metrics.conftest import REPO_ROOT, batch, pattern

CALIBRATION = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "calibration"
PAIRS = ("I03", "I04", "I06", "I08", "I19")
# Weight-free: nothing to load (niqe's pristine model is written from dr2bench's own copy).
# mad is bridged but left out here: it takes minutes on a CPU for five 512x384 pairs.
WEIGHT_FREE = ("psnr", "ssim", "ms_ssim", "fsim", "vif", "gmsd", "nlpd", "vsi", "cw_ssim", "niqe")
NOT_IN_CSV = ("piqe", "entropy")
CSV_DIFFERENCES = {  # (metric, pair): what pyiqa 0.1.16 gives here, against the CSV's digits
    ("psnr", "I06"): 27.013847,  # CSV 27.0139
    ("vif", "I08"): 0.910287,  # CSV 0.9104
    ("niqe", "I03"): 15.653206,  # CSV 15.6538
    ("niqe", "I08"): 3.192150,  # CSV 3.1921
    ("niqe", "I19"): 9.072738,  # CSV 9.0722
}
WEIGHTED = [name for name, entry in table().items() if any(not f.bundled for f in entry.files)]


@pytest.fixture
def offline_home(tmp_path, monkeypatch) -> Path:
    """Empty ``$DR2BENCH_HOME``, torch and Hugging Face caches."""
    monkeypatch.setenv("DR2BENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    return tmp_path / "home"


@pytest.fixture
def no_network(monkeypatch) -> Iterator[list[tuple]]:
    """Every socket connection and name lookup fails at once; the attempts are recorded."""
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("the network is disabled in this test")

    for target, name in [(socket.socket, "connect"), (socket.socket, "connect_ex"),
                         (socket, "create_connection"), (socket, "getaddrinfo")]:  # fmt: skip
        monkeypatch.setattr(target, name, refuse)
    yield attempts


@pytest.fixture(scope="module")
def pyiqa_package():
    """pyiqa, imported as the bridge imports it; skipped where the iqa extra is not installed."""
    if importlib.util.find_spec("pyiqa") is None:
        pytest.skip("pyiqa is not installed (make install installs the iqa extra)")
    from metrics.iqa.offline import import_pyiqa

    return import_pyiqa("tests")


def calibration_dir() -> Path:
    if not (CALIBRATION / "pyiqa_values.csv").is_file():
        pytest.skip(f"{CALIBRATION} is not there (it sits beside the checkout in CI)")
    return CALIBRATION


# -- registry ----------------------------------------------------------------------------------


def test_tags_are_the_table_and_each_metric_has_its_own_class():
    from bench.contracts import NoReferenceMetric, PairedMetric

    assert "pyiqa" in METRICS.names()
    assert METRICS.info("pyiqa").tags == tuple(sorted(table()))
    fsim, gmsd, musiq = (METRICS.create(f"pyiqa.{n}") for n in ("fsim", "gmsd", "musiq"))
    assert isinstance(fsim, PairedMetric) and type(fsim).kind == "paired"
    assert type(fsim).higher_is_better is True and type(gmsd).higher_is_better is False
    assert isinstance(musiq, NoReferenceMetric) and type(musiq).kind == "no_reference"
    assert type(musiq).__name__ == "PyiqaMusiq" and musiq.name == "pyiqa.musiq"
    assert type(METRICS.create("pyiqa.topiq_nr-face")).__name__ == "PyiqaTopiqNrFace"
    for name, entry in table().items():
        cls = type(METRICS.create(f"pyiqa.{name}"))
        assert (cls.kind, cls.higher_is_better) == (entry.kind, not entry.lower_better)
    clone = musiq.replace(options={"test_sample": 1})
    assert type(clone) is type(musiq) and clone.params.options == {"test_sample": 1}


def test_config_records_pyiqa_version_options_and_files():
    config = METRICS.create("pyiqa.maniqa", options={"test_sample": 2}).config()
    assert config["metric"] == "maniqa" and config["package"].startswith("pyiqa ")
    assert config["metric_opts"] == {"type": "MANIQA", "train_dataset": "koniq", "scale": 0.8,
                                     "test_sample": 2}  # fmt: skip
    assert config["files"] == ["ckpt_koniq10k.pt"] and config["lower_better"] is False
    assert "niqe_pristine.npz" in METRICS.create("pyiqa.niqe").config()["files"][0]


def test_unknown_names_suggest_the_closest():
    with pytest.raises(RegistryError, match="did you mean 'musiq'"):
        METRICS.create("pyiqa.musiqq")
    with pytest.raises(ConfigError, match="did you mean 'clipiqa'"):
        METRICS.create("pyiqa", metric="clipiq")
    with pytest.raises(ConfigError, match=r"use pyiqa\.<name>"):
        METRICS.create("pyiqa")
    with pytest.raises(RegistryError, match="not bridged by dr2bench; did you mean 'brisque'"):
        lookup("brisq")


# -- missing weights, no network ---------------------------------------------------------------


@pytest.mark.parametrize("name", WEIGHTED)
def test_missing_weights_is_one_sentence_at_once(name, offline_home, no_network):
    from bench.weights import MissingWeightsError

    entry = lookup(name)
    metric = METRICS.create(f"pyiqa.{name}")
    start = time.monotonic()
    with pytest.raises(MissingWeightsError) as caught:
        metric.load("cpu")
    assert time.monotonic() - start < 2.0 and no_network == []
    message = str(caught.value)
    assert message.startswith("missing weights ") and f"(needed by pyiqa.{name})" in message
    assert ". " not in message and "\n" not in message  # one sentence
    for item in entry.files:
        if not item.bundled:
            assert item.file in message and item.url in message
    if entry.files[-1].cache != "huggingface":
        assert str(offline_home / "weights") in message


@pytest.mark.slow
def test_pyiqa_asks_only_for_listed_files_and_never_connects(
    pyiqa_package, offline_home, no_network
):
    """Building each metric past the table's check: pyiqa's own first request is refused."""
    from bench.contracts import Unavailable
    from bench.weights import MissingWeightsError
    from metrics.iqa.plugin import build

    for name in WEIGHTED:
        entry = lookup(name)
        start = time.monotonic()
        with pytest.raises(Unavailable) as caught:  # MissingWeightsError is one
            build(entry, {}, "cpu")
        assert time.monotonic() - start < 30.0, name
        if entry.files[0].cache == "huggingface":  # transformers' offline error, passed on
            assert "couldn't find them in the cached files" in str(caught.value)
        else:
            assert isinstance(caught.value, MissingWeightsError), (name, caught.value)
            requested = re.match(r"missing weights (\S+) ", str(caught.value)).group(1)
            assert requested in [item.file for item in entry.files], (name, requested)
    assert no_network == []


@pytest.mark.slow
def test_cli_reports_missing_weights_without_a_network(tmp_path):
    """``dr2bench score`` in a process without a network (``unshare -n`` where available)."""
    from bench.images import write_png

    write_png(tmp_path / "pred" / "a.png", pattern(256))
    code = (
        "import json, socket, sys, time\n"
        "def refuse(*a, **k): raise OSError('no network')\n"
        "socket.socket.connect = socket.create_connection = socket.getaddrinfo = refuse\n"
        "from bench.cli import main\n"
        "from metrics.iqa.plugin import build\n"
        "from metrics.iqa.table import lookup\n"
        "start = time.monotonic()\n"
        "main(['score', '--pred', sys.argv[1], '--metrics', 'pyiqa.musiq,pyiqa.maniqa',\n"
        "      '--json', sys.argv[2]])\n"
        "score_s = time.monotonic() - start\n"
        "from metrics.iqa.offline import import_pyiqa\n"
        "import_pyiqa('musiq').archs._lazy_import_arch('MUSIQ')  # imports: not timed\n"
        "start = time.monotonic()\n"
        "try:\n"
        "    build(lookup('musiq'), {}, 'cpu')\n"
        "except OSError as exc:\n"
        "    print(json.dumps({'score_s': score_s, 'build_s': time.monotonic() - start,\n"
        "                      'error': type(exc).__name__, 'message': str(exc)}))\n"
    )
    command = [sys.executable, "-c", code, str(tmp_path / "pred"), str(tmp_path / "s.json")]
    isolated = shutil.which("unshare") is not None and (
        subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    )
    env = {"DR2BENCH_HOME": str(tmp_path / "home"), "TORCH_HOME": str(tmp_path / "torch"),
           "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin"}  # fmt: skip
    done = subprocess.run(
        (["unshare", "-n"] if isolated else []) + command,
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    timings = json.loads(done.stdout.strip().splitlines()[-1])
    assert timings["error"] == "MissingWeightsError" and timings["build_s"] < 5.0
    assert "musiq_koniq_ckpt-e95806b9.pth" in timings["message"]
    assert timings["score_s"] < 60.0  # the process start (torch) included
    report = json.loads((tmp_path / "s.json").read_text())["metrics"]
    assert report["pyiqa.musiq"]["unavailable"].startswith("missing weights musiq_koniq_ckpt")
    assert "ckpt_koniq10k.pt" in report["pyiqa.maniqa"]["unavailable"]


# -- the table against the installed pyiqa ----------------------------------------------------


def _known_urls(pyiqa_package) -> set[str]:
    """Every URL the installed pyiqa (and the torchvision / facexlib code it calls) loads from."""
    import inspect

    import facexlib.detection
    import facexlib.parsing
    import torchvision.models as models

    urls: set[str] = set()
    for entry in table().values():
        pyiqa_package.archs._lazy_import_arch(entry.metric_opts["type"])
    for name, module in list(sys.modules.items()):
        if name.startswith("pyiqa.archs."):
            urls.update(getattr(module, "default_model_urls", {}).values())
    urls.update(sys.modules["pyiqa.archs.clip_model"]._MODELS.values())
    urls.update(w.url for enum in (models.AlexNet_Weights, models.VGG16_Weights) for w in enum)
    for module in (facexlib.detection, facexlib.parsing, sys.modules["pyiqa.archs.qalign_arch"]):
        source = inspect.getsource(module)
        urls.update(re.findall(r"https://[^'\"\s]+", source))
        urls.update(
            f"https://huggingface.co/{r}" for r in re.findall(r"'(q-future/[\w-]+)'", source)
        )
    return urls


@pytest.mark.slow
def test_table_matches_the_installed_pyiqa(pyiqa_package):
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    assert importlib.metadata.version("pyiqa") == PYIQA_VERSION
    known = _known_urls(pyiqa_package)
    for name, entry in table().items():
        config = DEFAULT_CONFIGS[name]
        assert entry.kind == {"FR": "paired", "NR": "no_reference"}[config["metric_mode"]], name
        assert entry.lower_better == config.get("lower_better", False), name
        assert entry.score_range == config["score_range"], name
        assert entry.metric_opts == config["metric_opts"], name
        for item in entry.files:
            assert item.url in known, (name, item.url)
            assert item.cache == "huggingface" or unquote(item.url).endswith("/" + item.file)


# -- values --------------------------------------------------------------------------------------


def _direct(pyiqa_package, name: str, dist, ref) -> np.ndarray:
    """pyiqa's own call on the same batch, as a pyiqa user would make it."""
    import torch

    from metrics.iqa.offline import bundled_niqe

    options = {"pretrained_model_path": str(bundled_niqe())} if name == "niqe" else {}
    metric = pyiqa_package.create_metric(name, device="cpu", **options)
    with torch.no_grad():
        output = metric(dist, ref) if metric.metric_mode == "FR" else metric(dist)
    return output.reshape(-1).double().numpy()


@pytest.mark.slow
def test_weight_free_metrics_equal_pyiqa_and_its_calibration(
    pyiqa_package, tmp_path, offline_home, no_network, capsys
):
    import torch
    from pyiqa.utils.img_util import imread2tensor

    from bench.cli import main

    folder = calibration_dir()
    names = WEIGHT_FREE + NOT_IN_CSV
    out = tmp_path / "scores.json"
    argv = ["score", "--pred", str(folder / "dist"), "--gt", str(folder / "ref"), "--json",
            str(out), "--metrics", ",".join(f"pyiqa.{name}" for name in names)]  # fmt: skip
    assert main(argv) == 0
    rows = {row["id"].removesuffix(".png"): row for row in json.loads(out.read_text())["per_image"]}
    with open(folder / "pyiqa_values.csv", newline="") as handle:
        printed = {row.pop("Method"): row for row in csv.DictReader(handle)}
    read = [imread2tensor(str(folder / part / f"{p}.png"), rgb=True) for part in ("dist", "ref")
            for p in PAIRS]  # fmt: skip
    dist, ref = torch.stack(read[:5]), torch.stack(read[5:])
    differences = {}
    for name in names:
        ours = np.array([rows[p][f"pyiqa.{name}"] for p in PAIRS])
        np.testing.assert_allclose(ours, _direct(pyiqa_package, name, dist, ref), atol=1e-6)
        if name not in printed:
            continue
        for pair, value in zip(PAIRS, ours, strict=True):
            text = printed[name][pair]
            decimals = len(text.partition(".")[2])
            if f"{value:.{decimals}f}" != f"{float(text):.{decimals}f}":
                differences[(name, pair)] = round(float(value), 6)
    assert differences == CSV_DIFFERENCES
    assert no_network == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "options", "weight_key"),
    [("musiq", {}, None), ("maniqa", {"test_sample": 1}, None), ("topiq_nr", {}, "params")],
)
def test_weighted_metric_loads_the_file_pyiqa_would(
    name, options, weight_key, pyiqa_package, offline_home, no_network, monkeypatch
):
    """Random weights saved as pyiqa's file in $DR2BENCH_HOME/weights: bridge == pyiqa."""
    import timm
    import torch

    original = timm.create_model
    monkeypatch.setattr(
        timm, "create_model", lambda *a, **k: original(*a, **k | {"pretrained": False})
    )
    torch.manual_seed(0)
    direct = pyiqa_package.create_metric(name, device="cpu", pretrained=False, **options)
    monkeypatch.setattr(timm, "create_model", original)
    state = direct.net.state_dict()
    path = offline_home / "weights" / lookup(name).files[0].file
    path.parent.mkdir(parents=True)
    torch.save({weight_key: state} if weight_key else state, path)
    images = batch(pattern(224), pattern(224, shift=40))[: 1 if name == "maniqa" else 2]
    with torch.no_grad():
        expected = direct(images).reshape(-1).double().numpy()
    metric = METRICS.create(f"pyiqa.{name}", options=options)
    metric.load("cpu")
    scores = metric.score(images)
    assert scores.errors == (None,) * len(images)
    np.testing.assert_allclose(scores.values, expected, atol=1e-6, rtol=0)
    assert np.ptp(expected) > 0 or len(expected) == 1
    assert no_network == []


@pytest.mark.slow
def test_a_checkpoint_that_needs_code_to_load_is_refused(pyiqa_package, offline_home, no_network):
    import argparse

    import torch

    from bench.contracts import Unavailable

    path = offline_home / "weights" / lookup("musiq").files[0].file
    path.parent.mkdir(parents=True)
    torch.save({"args": argparse.Namespace(lr=1)}, path)  # unpickling it builds a Namespace
    with pytest.raises(Unavailable, match="needs code to load"):
        METRICS.create("pyiqa.musiq").load("cpu")


# -- install helper --------------------------------------------------------------------------


def test_prune_removes_only_the_wheels_stray_files(tmp_path):
    from metrics.iqa.install import prune

    site = tmp_path / "site-packages"
    files = ["pyiqa/__init__.py", "tests/__init__.py", "tests/x.jpg", "docs/conf.py",
             "build/lib/pyiqa/__init__.py", "ResultsCalibra/ref_dir/I03.bmp"]  # fmt: skip
    for relative in [*files, "build/__init__.py", "tests/__pycache__/__init__.cpython-311.pyc"]:
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text("")
    record = site / "pyiqa-0.1.16.dist-info" / "RECORD"
    record.parent.mkdir()
    record.write_text("".join(f"{f},sha256=x,0\n" for f in files) + "../../../bin/pyiqa,,\n")
    assert prune(site, record) == ["ResultsCalibra", "build", "docs", "tests"]
    left = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert left == ["build/__init__.py", "pyiqa-0.1.16.dist-info/RECORD", "pyiqa/__init__.py"]
    assert record.read_text() == "pyiqa/__init__.py,sha256=x,0\n../../../bin/pyiqa,,\n"
    assert prune(site, record) == []


def test_nothing_of_pyiqa_shadows_the_test_package():
    spec = importlib.util.find_spec("tests")
    assert spec is not None and spec.origin in (None, "namespace")  # ours: a namespace package
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        files = importlib.metadata.distribution("pyiqa").files or []
        assert not [f for f in files if str(f).startswith("tests/")]
