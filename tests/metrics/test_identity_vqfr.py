"""``deg.vqfr`` / ``ids.vqfr`` against VQFR's ``calculate_cos_dist.py`` run with GFPGAN's network.

Random weights are built from the official file's key spec (seeded) and saved the way both
official files are saved; the reference reads PNG files with ``cv2.imread(path, 0)`` and follows
the script line by line with GFPGAN's ``ResNetArcFace`` holding the same tensors.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from bench.config import ConfigError
from bench.images import list_images, write_png
from bench.registry import METRICS
from bench.weights import MissingWeightsError, UnsafeCheckpointError
from metrics.identity_vqfr import png_grey
from tests.metrics.conftest import batch

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SPEC = SHARED / "specs" / "arcface_resnet18_vqfr.keys.json"
HQ = SHARED / "data" / "hq"
PREFIX = "module."
TOLERANCE = 1e-5  # degrees
# Under 1 degree the angle is the embeddings' perpendicular difference itself, and float32 noise
# of the 32768-term fc5 sum (which depends on the batch size) shows: measured 8.5e-6 degree.
TOLERANCE_UNDER_1 = 1e-4
COSINE_TOLERANCE = 1e-7
FLOAT32_STEP_BELOW_1 = 2.0**-24


@pytest.fixture(scope="module")
def spec() -> dict[str, list[int]]:
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} (the key spec of resnet18_110.pth) is not there")
    return json.loads(SPEC.read_text(encoding="utf-8"))


def random_state(spec: dict[str, list[int]], seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded tensors of the spec's names and shapes, scaled like a trained network's."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in spec.items():
        leaf = name.rsplit(".", 1)[1]
        if leaf == "num_batches_tracked":
            state[name] = torch.tensor(1000, dtype=torch.long)
        elif name.endswith("prelu.weight"):
            state[name] = torch.full(shape, 0.25)
        elif leaf == "running_var":
            state[name] = 0.5 + torch.rand(shape, generator=generator)
        elif leaf in ("running_mean", "bias"):
            state[name] = 0.1 * torch.randn(shape, generator=generator)
        elif len(shape) == 1:  # BatchNorm scale
            state[name] = 1 + 0.1 * torch.randn(shape, generator=generator)
        else:  # He initialisation keeps the activations in range through 18 layers
            fan_in = math.prod(shape[1:])
            state[name] = torch.randn(shape, generator=generator) * math.sqrt(2 / fan_in)
    return state


@pytest.fixture(scope="module")
def weights(spec, tmp_path_factory) -> dict[str, object]:
    """The same random tensors as VQFR's file (``module.`` keys) and as GFPGAN's (no prefix)."""
    folder = tmp_path_factory.mktemp("arcface18")
    state = random_state(spec)
    vqfr, gfpgan = folder / "vqfr" / "resnet18_110.pth", folder / "gfpgan" / "arcface_resnet18.pth"
    for path in (vqfr, gfpgan):
        path.parent.mkdir()
    torch.save(state, vqfr)
    torch.save({name[len(PREFIX) :]: value for name, value in state.items()}, gfpgan)
    return {"state": state, "vqfr": vqfr, "gfpgan": gfpgan}


@pytest.fixture(scope="module")
def gfpgan_network(weights):
    """GFPGAN's ``ResNetArcFace`` (IRBlock, 2-2-2-2, no SE) with the same tensors, eval mode.

    ``arcface_arch.py`` is executed from its file with a stand-in ``basicsr.utils.registry``
    (the one name it imports), so neither gfpgan's nor basicsr's package is imported.
    """
    found = importlib.util.find_spec("gfpgan")
    if found is None or not found.submodule_search_locations:
        pytest.skip("gfpgan (the test reference for the ArcFace ResNet-18) is not installed")
    source = Path(next(iter(found.submodule_search_locations)), "archs", "arcface_arch.py")
    registry = types.ModuleType("basicsr.utils.registry")
    registry.ARCH_REGISTRY = types.SimpleNamespace(register=lambda: lambda cls: cls)
    stand_ins = {
        "basicsr": types.ModuleType("basicsr"),
        "basicsr.utils": types.ModuleType("basicsr.utils"),
        "basicsr.utils.registry": registry,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, module in stand_ins.items():
            patch.setitem(sys.modules, name, module)
        module_spec = importlib.util.spec_from_file_location("gfpgan_arcface_arch", source)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    network = module.ResNetArcFace(block="IRBlock", layers=(2, 2, 2, 2), use_se=False)
    state = {name[len(PREFIX) :]: value for name, value in weights["state"].items()}
    network.load_state_dict(state, strict=True)
    return network.eval()


def script_embeddings(network, gt_path: Path, restored_path: Path) -> np.ndarray:
    """``calculate_cos_dist.py`` up to the network: its ``load_image``, a batch of two."""

    def load_image(path: Path) -> torch.Tensor:
        image = cv2.imread(str(path), 0)
        image = cv2.resize(image, (128, 128), interpolation=cv2.INTER_LINEAR)
        image = image[np.newaxis, :, :].astype(np.float32, copy=False)
        image -= 127.5
        image /= 127.5
        return torch.from_numpy(image)

    data = torch.stack([load_image(gt_path), load_image(restored_path)], dim=0)
    with torch.no_grad():
        return network(data).numpy()


def cosin_metric(x1: np.ndarray, x2: np.ndarray) -> float:
    """The script's cosine (in float32 for its float32 embeddings)."""
    return np.dot(x1, x2) / (np.linalg.norm(x1) * np.linalg.norm(x2))


def script_angle(cosine: float) -> float:
    """The script's ``np.arccos(dist) / math.pi * 180`` (NaN where a float32 cosine tops 1)."""
    with np.errstate(invalid="ignore"):
        return float(np.arccos(cosine) / math.pi * 180)


def assert_same_angles(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal to :data:`TOLERANCE` degree, or :data:`TOLERANCE_UNDER_1` where under 1 degree."""
    expected = np.asarray(expected)
    tolerance = np.where(expected >= 1, TOLERANCE, TOLERANCE_UNDER_1)
    assert (np.abs(np.asarray(actual) - expected) <= tolerance).all(), (actual, expected)


def degraded_copies(image: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Blur, noise, JPEG, 4x down and up, and a copy one level off in a few pixels."""
    noisy = np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)
    _, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 15])
    small = cv2.resize(image, (128, 128), interpolation=cv2.INTER_AREA)
    nearly = image.copy()
    nearly[::97, ::89] ^= 1
    return [
        cv2.GaussianBlur(image, (0, 0), 3),
        noisy,
        cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED),
        cv2.resize(small, image.shape[1::-1], interpolation=cv2.INTER_CUBIC),
        nearly,
    ]


# the copies each face gets: 6 pairs (an image through the network costs 0.1-0.5 s of a CI core)
COPIES = ((0, 4), (2, 3), (1, 4))
NEARLY = 4  # the copy one level off in a few pixels
NEARLY_MASK = np.array([number == NEARLY for copies in COPIES for number in copies])


@pytest.fixture(scope="module")
def face_pairs(tmp_path_factory):
    """GT files from ../shared/data/hq and degraded copies stored as the run stores outputs."""
    if not HQ.is_dir():
        pytest.skip(f"{HQ} (real faces) is not there")
    folder = tmp_path_factory.mktemp("outputs")
    rng = np.random.default_rng(7)
    pairs = []
    for index, (gt_path, copies) in enumerate(zip(list_images(HQ), COPIES, strict=False)):
        gt = cv2.cvtColor(cv2.imread(str(gt_path)), cv2.COLOR_BGR2RGB)
        outputs = degraded_copies(gt, rng)
        for number in copies:
            out_path = folder / f"{index}_{number}.png"
            write_png(out_path, outputs[number])
            pairs.append((gt_path, gt, out_path, outputs[number]))
    return pairs


@pytest.fixture(scope="module")
def scored(weights, face_pairs) -> dict[str, np.ndarray]:
    """``deg.vqfr`` of all pairs (VQFR's file) and ``ids.vqfr`` of three (GFPGAN's file)."""
    outputs = batch(*(output for *_, output in face_pairs))
    references = batch(*(gt for _, gt, *_ in face_pairs))
    deg = METRICS.create("deg.vqfr", weights=weights["vqfr"]).score(outputs, references)
    ids = METRICS.create("ids.vqfr", weights=weights["gfpgan"]).score(outputs[:3], references[:3])
    assert deg.errors == (None,) * len(face_pairs) and ids.errors == (None,) * 3
    return {"deg": deg.values, "ids": ids.values}


def test_network_names_and_shapes_equal_the_official_file(spec):
    from metrics.arcface18 import ArcfaceResNet18

    ours = {name: list(value.shape) for name, value in ArcfaceResNet18().state_dict().items()}
    assert ours == {name[len(PREFIX) :]: shape for name, shape in spec.items()}


def test_both_official_layouts_load_strictly(weights):
    from metrics.arcface18 import load_network

    for key in ("vqfr", "gfpgan"):
        network = load_network(weights[key])
        assert not network.training
        loaded = network.state_dict()
        for name, value in weights["state"].items():
            assert torch.equal(loaded[name[len(PREFIX) :]], value), (key, name)


@pytest.mark.slow
def test_deg_and_ids_equal_the_script_with_gfpgans_network(gfpgan_network, face_pairs, scored):
    embeddings = [script_embeddings(gfpgan_network, gt, out) for gt, _, out, _ in face_pairs]
    cosines = np.array([cosin_metric(*pair.astype(np.float64)) for pair in embeddings])
    angles = np.degrees(np.arccos(np.clip(cosines, -1, 1)))
    np.testing.assert_allclose(scored["ids"], cosines[:3], rtol=0, atol=COSINE_TOLERANCE)
    assert_same_angles(scored["deg"], angles)
    # the angle the script prints, float32 division and all: within that rounding's bound
    printed = np.array([script_angle(cosin_metric(*pair)) for pair in embeddings])
    kept = angles >= 1
    bound = TOLERANCE + np.degrees(16 * FLOAT32_STEP_BELOW_1 / np.sin(np.radians(angles[kept])))
    assert (np.abs(scored["deg"][kept] - printed[kept]) <= bound).all()
    assert (scored["deg"][NEARLY_MASK] < 1).all() and not (printed[NEARLY_MASK] >= 1).any()
    assert scored["deg"][~NEARLY_MASK].min() > 1 and scored["deg"].max() < 60  # real differences


def test_grey_equals_imread_of_real_png_files(face_pairs):
    for gt_path, gt, out_path, output in face_pairs:
        assert np.array_equal(png_grey(gt), cv2.imread(str(gt_path), cv2.IMREAD_GRAYSCALE))
        assert np.array_equal(png_grey(output), cv2.imread(str(out_path), cv2.IMREAD_GRAYSCALE))


def test_grey_equals_imread_of_random_png_files(tmp_path, rng):
    for index, size in enumerate([(1, 1), (7, 13), (64, 48), (256, 256)]):
        image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        path = tmp_path / f"{index}.png"
        write_png(path, image)
        assert np.array_equal(png_grey(image), cv2.imread(str(path), 0))
    assert not np.array_equal(png_grey(image), cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))


@pytest.mark.slow
def test_grey_equals_libpng_for_every_24_bit_colour():
    """All 2**24 colours in one 4096x4096 PNG, decoded as grey by OpenCV (libpng) in memory."""
    code = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([code >> 16, (code >> 8) & 255, code & 255], axis=-1).astype(np.uint8)
    rgb = rgb.reshape(4096, 4096, 3)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    assert ok
    assert np.array_equal(png_grey(rgb), cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE))


@pytest.mark.slow
def test_values_do_not_depend_on_the_batch(weights, face_pairs, scored):
    """BatchNorm runs in eval mode: a pair's angle is the same alone, in a batch, in any order."""
    metric = METRICS.create("deg.vqfr", weights=weights["vqfr"])
    outputs = [output for *_, output in face_pairs[:4]]
    references = [gt for _, gt, *_ in face_pairs[:4]]
    alone = [metric.score(batch(outputs[i]), batch(references[i])).values[0] for i in range(2)]
    reverse = metric.score(batch(*outputs[::-1]), batch(*references[::-1])).values[::-1]
    assert_same_angles(alone, scored["deg"][:2])
    assert_same_angles(reverse, scored["deg"][:4])


def test_a_batch_is_embedded_in_one_forward(weights, face_pairs):
    metric = METRICS.create("ids.vqfr", weights=weights["vqfr"])
    metric.load("cpu")
    sizes = []
    hook = metric.backend.network.register_forward_hook(lambda m, i, o: sizes.append(len(i[0])))
    outputs = batch(*(output for *_, output in face_pairs[:2]))
    try:
        metric.score(outputs, batch(*(gt for _, gt, *_ in face_pairs[:2])))
    finally:
        hook.remove()
    assert sizes == [4]


def test_ids_input_accepts_an_input_of_another_size(weights, face_pairs):
    _, gt, _, _ = face_pairs[0]
    small = cv2.resize(gt, (128, 128), interpolation=cv2.INTER_AREA)
    value = METRICS.create("ids_input.vqfr", weights=weights["vqfr"]).score(batch(gt), batch(small))
    assert 0.9 < value.values[0] <= 1.0


@pytest.mark.slow
def test_weights_found_in_the_home_folder_under_either_name(
    weights, isolated_home, face_pairs, scored
):
    folder = isolated_home / "weights"
    folder.mkdir(parents=True)
    (folder / "arcface_resnet18.pth").symlink_to(weights["gfpgan"])
    _, gt, _, output = face_pairs[0]
    metric = METRICS.create("deg.vqfr")
    assert metric.config()["weights_file"] == "arcface_resnet18.pth"
    value = metric.score(batch(output), batch(gt)).values[0]
    assert_same_angles([value], scored["deg"][:1])
    (folder / "resnet18_110.pth").symlink_to(weights["vqfr"])
    assert METRICS.create("deg.vqfr").config()["weights_file"] == "resnet18_110.pth"


def test_config_records_the_protocol(weights):
    from bench.files import sha256_file

    deg = METRICS.create("deg.vqfr", weights=weights["vqfr"]).config()
    ids = METRICS.create("ids.vqfr", weights=weights["vqfr"]).config()
    assert deg["alignment_policy"] == "whole image, no detection"
    assert "resnet_face18" in deg["network"] and "use_se=False" in deg["network"]
    assert deg["input_size"] == 128 and "INTER_LINEAR" in deg["resize"]
    assert deg["input_scaling"] == "(x - 127.5) / 127.5" and "imread" in deg["grey"]
    assert deg["weights_file"] == "resnet18_110.pth"
    assert deg["weights_sha256"] == sha256_file(weights["vqfr"])
    assert deg["units"] == "degrees" and ids["units"] == "cosine"
    assert deg["mean_leaves_out_below"] == 1.0 and "mean_leaves_out_below" not in ids
    assert "weights" not in METRICS.create("ids.dlib").config()  # the others are unchanged


def test_the_printed_mean_leaves_out_pairs_under_one_degree():
    from types import SimpleNamespace

    from bench.commands.score import metric_summary

    metric = METRICS.create("deg.vqfr")
    assert metric.config()["mean_leaves_out_below"] == 1.0
    angles = {"a": 0.2, "b": 0.999, "c": 1.0, "d": 20.0, "e": math.nan, "f": 30.0}
    run = SimpleNamespace(metric=metric, unavailable=None, values=angles, errors={"e": "no value"})
    summary = metric_summary(run)
    assert summary["left_out"] == 2 and summary["n"] == 3 and summary["failed"] == 1
    assert summary["mean"] == pytest.approx(17.0)
    assert summary["mean_all"] == pytest.approx((0.2 + 0.999 + 1.0 + 20.0 + 30.0) / 5)
    assert "mean_leaves_out_below" not in METRICS.create("deg.sface").config()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update({"module.fc6.weight": s.pop("module.fc5.weight")}), "'fc5.weight'"),
        (lambda s: s.update({"module.se.fc.0.weight": torch.zeros(1)}), "'se.fc.0.weight'"),
        (lambda s: s.update({"module.fc5.weight": torch.zeros(512, 8)}), "'fc5.weight' has shape"),
        (lambda s: s.update({"fc5.bias": s.pop("module.fc5.bias")}), "'conv1.weight' is missing"),
    ],
    ids=["missing", "unexpected", "shape", "mixed-prefix"],
)
def test_a_file_of_another_network_is_refused_naming_the_key(weights, tmp_path, change, message):
    from metrics.arcface18 import ArcfaceCheckpointError

    state = dict(weights["state"])
    change(state)
    path = tmp_path / "resnet18_110.pth"
    torch.save(state, path)
    with pytest.raises(ArcfaceCheckpointError) as caught:
        METRICS.create("deg.vqfr", weights=path).load("cpu")
    text = str(caught.value)
    assert str(path) in text and message in text and "\n" not in text


def test_a_missing_file_says_what_to_get_and_where(isolated_home):
    with pytest.raises(MissingWeightsError) as caught:
        METRICS.create("deg.vqfr").load("cpu")
    text = str(caught.value)
    assert "resnet18_110.pth" in text and "github.com/TencentARC/VQFR" in text
    assert str(isolated_home / "weights" / "resnet18_110.pth") in text
    assert "arcface_resnet18.pth" in text
    assert METRICS.create("deg.vqfr").config()["weights_file"] is None
    with pytest.raises(MissingWeightsError, match=r"nowhere\.pth.*resnet18_110\.pth"):
        METRICS.create("ids.vqfr", weights=isolated_home / "nowhere.pth").load("cpu")


class _Hostile:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


def test_a_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "resnet18_110.pth"
    torch.save({"module.conv1.weight": _Hostile(marker)}, path)
    with pytest.raises(UnsafeCheckpointError, match="refused"):
        METRICS.create("deg.vqfr", weights=path).load("cpu")
    assert not marker.exists()


def test_weights_parameter_is_for_the_vqfr_backend_only(tmp_path):
    with pytest.raises(ConfigError, match="'weights' is for backend vqfr"):
        METRICS.create("ids.sface", weights=tmp_path / "resnet18_110.pth")


def test_list_metrics_shows_the_vqfr_tags(capsys):
    from bench.cli import main

    assert main(["list", "metrics"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    for family in ("deg", "ids", "ids_input"):
        assert "vqfr" in lines[family].split("[tags:")[1]


def test_cuda_convolutions_run_in_full_float32_and_the_settings_come_back():
    from metrics.common import ieee_float32

    settings = (torch.backends.cudnn.conv, torch.backends.cuda.matmul)
    before = [setting.fp32_precision for setting in settings]
    with ieee_float32("cuda:0"):
        assert [setting.fp32_precision for setting in settings] == ["ieee", "ieee"]
    assert [setting.fp32_precision for setting in settings] == before
    with ieee_float32("cpu"):
        assert [setting.fp32_precision for setting in settings] == before
