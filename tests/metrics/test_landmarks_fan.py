"""``lmd.fan`` (VQFR's LMD) against facexlib's own FAN, ``get_landmarks`` and ``calculate_points``.

Random weights are built from the official file's key spec and saved as the official file is
(``{"state_dict": ...}``); facexlib's ``FAN`` gets the same tensors. Random weights give arbitrary
heatmaps, so the decoding quirks are also checked on crafted heatmaps. facexlib still uses
``np.float`` (gone in NumPy 2); the reference calls set it back for their duration.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from bench.images import list_images
from bench.registry import METRICS
from metrics import fan, fan_landmarks
from metrics.common import quantize
from tests.metrics.conftest import batch

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SPEC = SHARED / "specs" / "fan_awing_wflw98.keys.json"
HQ = SHARED / "data" / "hq"

awing = pytest.importorskip("facexlib.alignment.awing_arch", reason="facexlib is the reference")


@pytest.fixture
def np_float(monkeypatch):
    """facexlib's ``calculate_points`` calls ``np.float``, removed in NumPy 2."""
    monkeypatch.setattr(np, "float", float, raising=False)


@pytest.fixture(scope="module")
def spec() -> dict[str, list[int]]:
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is not there (it sits beside the checkout in CI)")
    return json.loads(SPEC.read_text())


@pytest.fixture(scope="module")
def state(spec) -> dict[str, torch.Tensor]:
    """Seeded random tensors with the spec's names and shapes (BatchNorm variances positive)."""
    generator = torch.Generator().manual_seed(0)  # no peak at flat 4095 on the faces
    tensors = {}
    for name, shape in spec.items():
        if name.endswith("num_batches_tracked"):
            tensors[name] = torch.tensor(0)
        elif name.endswith("running_var") or (len(shape) == 1 and name.endswith("weight")):
            tensors[name] = torch.rand(shape, generator=generator) + 0.5
        elif len(shape) == 4:  # convolutions, scaled by fan-in
            fan_in = shape[1] * shape[2] * shape[3]
            tensors[name] = torch.randn(shape, generator=generator) / fan_in**0.5
        else:  # biases, BatchNorm shifts and running means
            tensors[name] = torch.randn(shape, generator=generator) * 0.1
    return tensors


@pytest.fixture(scope="module")
def official_file(state, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "alignment_WFLW_4HG.pth"
    torch.save({"state_dict": state}, path)
    return path


def test_network_has_the_official_names_and_shapes(spec):
    network = fan.AwingFan()
    assert {name: list(value.shape) for name, value in network.state_dict().items()} == spec


def test_loads_the_official_layout_strictly_and_refuses_others(official_file, state, tmp_path):
    metric = METRICS.create("lmd.fan", weights=str(official_file))
    metric.load("cpu")
    loaded = metric.network.state_dict()
    assert all(torch.equal(loaded[name], tensor) for name, tensor in state.items())
    assert metric.config()["region"] == "whole image, no detection, no normalisation"
    assert metric.config()["units"] == "pixels of the image"

    renamed = dict(state)
    renamed["l3.offset"] = renamed.pop("l3.bias")
    wrong = tmp_path / "renamed.pth"
    torch.save({"state_dict": renamed}, wrong)
    with pytest.raises(fan.FanCheckpointError) as refused:
        fan.load_fan(wrong)
    message = str(refused.value)
    assert str(wrong) in message and "\n" not in message
    assert "missing key (first 'l3.bias')" in message
    assert "unexpected key (first 'l3.offset')" in message

    plain = tmp_path / "plain.pth"
    torch.save({"conv1.conv.weight": state["conv1.conv.weight"]}, plain)
    with pytest.raises(fan.FanCheckpointError, match=r"plain\.pth.*'state_dict' entry"):
        fan.load_fan(plain)


def test_missing_weights_say_what_and_where(isolated_home):
    from bench.weights import MissingWeightsError

    with pytest.raises(MissingWeightsError) as missing:
        METRICS.create("lmd.fan").load("cpu")
    message = str(missing.value)
    assert "alignment_WFLW_4HG.pth" in message
    assert "github.com/xinntao/facexlib/releases" in message
    assert str(isolated_home / "weights" / "alignment_WFLW_4HG.pth") in message
    assert METRICS.create("lmd.fan").config()["weights_sha256"] is None


def crafted_maps(peaks: dict[int, int], seed: int = 0) -> np.ndarray:
    """98 random float32 64x64 maps in [0, 1); map ``i`` peaks (value 2) at flat index ``peaks[i]``
    and every other map at a random interior cell."""
    rng = np.random.default_rng(seed)
    maps = rng.random((98, 64 * 64), dtype=np.float32)
    for index in range(98):
        row, col = rng.integers(2, 62, size=2)
        maps[index, peaks.get(index, row * 64 + col)] = 2.0
    return maps.reshape(98, 64, 64)


def script_points(maps: np.ndarray) -> np.ndarray:
    """facexlib's (= VQFR's) ``calculate_points`` on a batch of ``B x 98 x 64 x 64`` maps."""
    return awing.calculate_points(maps)


def test_decoding_takes_x_neighbours_across_row_ends(np_float):
    """A peak at a row end (or at flat 0) has x neighbours in another row (or the last cell)."""
    peaks = {0: 10 * 64 + 63, 1: 20 * 64, 2: 0}
    maps = crafted_maps(peaks).reshape(98, -1)
    # what only the cross-row neighbour can explain: +0.25 for map 0, -0.25 for maps 1 and 2
    maps[0, [10 * 64 + 64, 10 * 64 + 62]] = 1.9, 0.0
    maps[1, [20 * 64 - 1, 20 * 64 + 1]] = 1.9, 0.0
    maps[2, [4095, 1]] = 1.9, 0.0
    maps = maps.reshape(98, 64, 64)
    points = fan_landmarks.decode_heatmaps(maps)
    np.testing.assert_array_equal(points, script_points(maps[None])[0])
    assert list(points[:3, 0]) == [63.75, 0.25, 0.25]


@pytest.mark.parametrize(
    "peaks",
    [{5: 63 * 64 + 30}, {7: 12}, {3: 64}, {2: 0}],
    ids=["last-row", "first-row", "flat-64", "flat-0"],
)
def test_decoding_reproduces_the_rules_that_span_all_maps(peaks, np_float):
    """One peak in the last row (first row, flat 64 or flat 0) changes every map's y neighbour:
    ``any()`` over the 98 maps switches all of them to flat 4095 (or flat 0)."""
    maps = crafted_maps(peaks)
    expected = script_points(maps[None])[0]
    np.testing.assert_array_equal(fan_landmarks.decode_heatmaps(maps), expected)
    index = next(iter(peaks))
    moved = maps.copy()
    moved[index] = crafted_maps({})[index]  # the same map with its peak at an interior cell
    others = np.delete(np.arange(98), index)
    assert (fan_landmarks.decode_heatmaps(moved)[others, 1] != expected[others, 1]).any()
    np.testing.assert_array_equal(
        fan_landmarks.decode_heatmaps(moved)[others, 0], expected[others, 0]
    )


def test_decoding_is_per_image_and_fails_where_the_script_fails(np_float):
    quirky, clean = crafted_maps({5: 63 * 64 + 30}, seed=1), crafted_maps({}, seed=2)
    together = script_points(np.stack([quirky, clean]))  # any() would span both images
    alone = script_points(clean[None])[0]
    np.testing.assert_array_equal(fan_landmarks.decode_heatmaps(clean), alone)
    assert not np.array_equal(together[1], alone)

    last = crafted_maps({9: 4095})
    with pytest.raises(IndexError):
        script_points(last[None])
    with pytest.raises(fan_landmarks.PeakAtLastCell, match="IndexError"):
        fan_landmarks.decode_heatmaps(last)


def test_input_and_scaling_match_get_landmarks(np_float, rng):
    """``get_landmarks`` with a stand-in network: the same input tensor and the same points on
    a non-square image whose sides are not multiples of 64."""
    bgr = rng.integers(0, 256, (517, 301, 3), dtype=np.uint8)
    maps = crafted_maps({})
    seen = {}

    def forward(inp: torch.Tensor):
        seen["input"] = inp
        return [torch.from_numpy(np.concatenate([maps, maps[:1]]))[None]], None

    stand_in = type("StandIn", (), {"device": "cpu", "forward": staticmethod(forward)})()
    expected = awing.FAN.get_landmarks(stand_in, bgr)
    rgb = bgr[..., ::-1]
    assert torch.equal(fan_landmarks.network_input(rgb[None]), seen["input"])
    np.testing.assert_array_equal(fan_landmarks.landmarks_in_pixels(maps, 301, 517), expected)


def test_an_image_the_script_fails_on_gives_nan_with_the_reason():
    maps = {0: crafted_maps({}), 255: crafted_maps({9: 4095})}  # by the image's first pixel

    def stand_in(inputs: torch.Tensor) -> torch.Tensor:
        chosen = [maps[round(float(image[0, 0, 0]) * 255)] for image in inputs]
        return torch.from_numpy(np.stack([np.concatenate([m, m[:1]]) for m in chosen]))

    metric = METRICS.create("lmd.fan")
    metric.network = stand_in
    images = np.zeros((2, 64, 96, 3), dtype=np.uint8)
    images[1] = 255
    scores = metric.score(batch(images[0], images[0]), batch(images[0], images[1]))
    assert scores.values[0] == 0.0 and np.isnan(scores.values[1])
    assert scores.errors[0] is None
    assert scores.errors[1].startswith("gt image: a heatmap peaks at its last cell")


def test_listed_with_its_tags(capsys):
    from bench.cli import main

    assert main(["list", "metrics"]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("lmd "))
    assert line.endswith("[tags: dlib, fan]")


def degraded(image: np.ndarray, kind: int) -> np.ndarray:
    if kind == 0:
        return cv2.GaussianBlur(image, (0, 0), 3.0)
    small = cv2.resize(image, (128, 128), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 30])
    assert ok
    return cv2.resize(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), image.shape[1::-1])


def recorded(monkeypatch, owner, name: str, keep=lambda result: result) -> list:
    """Wrap ``owner.name`` so that it records ``keep(result)`` of each call, in order."""
    calls, original = [], getattr(owner, name)

    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(keep(result))
        return result

    monkeypatch.setattr(owner, name, wrapper)
    return calls


def script_on_files(reference, out_path: Path, gt_path: Path) -> tuple[float, list]:
    """VQFR's loop body for one pair: ``cv2.imread``, ``get_landmarks``, the distance.

    Returns NaN and no points where the script raises ``IndexError`` (a peak at flat 4095).
    """
    try:
        with torch.no_grad():
            found = reference.get_landmarks(cv2.imread(str(out_path)))
            truth = reference.get_landmarks(cv2.imread(str(gt_path)))
    except IndexError:
        return float("nan"), []
    return float(np.sqrt(((truth - found) ** 2).sum(1)).mean()), [found, truth]


@pytest.mark.slow
def test_lmd_fan_equals_vqfr_script_on_real_faces(official_file, tmp_path, np_float, monkeypatch):
    if not HQ.is_dir():
        pytest.skip(f"{HQ} is not there (it sits beside the checkout in CI)")
    reference = awing.FAN(num_modules=4, num_landmarks=98, device="cpu")
    reference.load_state_dict(torch.load(official_file)["state_dict"], strict=True)
    reference.eval()
    script_maps = recorded(monkeypatch, reference, "forward", lambda out: out[0][-1][0, :-1])

    gt_bgr = [cv2.imread(str(path)) for path in list_images(HQ)[:2]]
    out_bgr = [degraded(image, kind) for kind, image in enumerate(gt_bgr)]
    expected, expected_points = [], []
    for index, (gt_image, out_image) in enumerate(zip(gt_bgr, out_bgr, strict=True)):
        cv2.imwrite(str(tmp_path / f"gt_{index}.png"), gt_image)
        cv2.imwrite(str(tmp_path / f"out_{index}.png"), out_image)
        value, points = script_on_files(
            reference, tmp_path / f"out_{index}.png", tmp_path / f"gt_{index}.png"
        )
        expected.append(value)
        expected_points.append(points)

    ours = recorded(monkeypatch, fan_landmarks, "predict_landmarks")  # dr2bench's, while it scores
    our_maps = recorded(monkeypatch, fan_landmarks, "predict_heatmaps")
    metric = METRICS.create("lmd.fan", weights=str(official_file))
    out_rgb = [image[..., ::-1] for image in out_bgr]
    gt_rgb = [image[..., ::-1] for image in gt_bgr]
    scores = metric.score(batch(*out_rgb), batch(*gt_rgb))

    assert np.array_equal(quantize(batch(*gt_rgb))[..., ::-1], np.stack(gt_bgr))
    np.testing.assert_allclose(scores.values, expected, rtol=0, atol=1e-5)
    assert np.isfinite(expected).all()
    assert scores.errors == (None, None)
    found_points, truth_points = ours
    for index, (found, truth) in enumerate(expected_points):
        np.testing.assert_array_equal(found_points[index], found)
        np.testing.assert_array_equal(truth_points[index], truth)
    # the script's order: output 0, gt 0, output 1, gt 1; ours: outputs, then gts (batched)
    script = torch.stack(script_maps).numpy()[[0, 2, 1, 3]]
    mine = np.concatenate(our_maps)
    scale = np.abs(script).max()
    assert np.abs(mine - script).max() <= 1e-5 * scale
