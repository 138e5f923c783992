"""``ids_input.adaface``: the NTIRE 2025 challenge's identity check, against golden values.

The original code (the challenge's ``face_alignment/net.py``, ``mtcnn_pytorch/src/align_trans.py``
and ``inference.inference_face``) is not on PyPI, so it cannot run here. It was run once, outside
the repository, on the three LQ faces of :data:`FACES` from ``../shared/data/real`` with their
rows of the challenge's ``val_face.csv``, on the outputs of :func:`restored_copies` saved as PNG,
and with the network holding :func:`random_state` (seed :data:`SEED`, imported from this file):
``inference_face(model, lq_path, pred_path, "cpu", mode="val")`` for each pair of :data:`PAIRS`
(one image per forward, float32 dot product), the sha256 of ``warp_and_crop_face``'s crops and
the matrices of ``get_similarity_transform_for_cv2``. Only those numbers are kept here
(:data:`GOLDEN_COSINES`, :data:`GOLDEN_CROPS`, :data:`GOLDEN_MIRRORED_MATRIX`); dr2bench must
equal the cosines to :data:`TOLERANCE` (measured: 1.2e-7, the float32 rounding of the original's
dot product) and the crops byte for byte.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.config import ConfigError
from bench.images import read_image, to_uint8
from bench.registry import METRICS
from bench.weights import MissingWeightsError, UnsafeCheckpointError
from tests.metrics.conftest import batch

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
SPEC = Path(__file__).with_name("specs") / "adaface_ir50.keys.json"
SEED = 2025


def random_state(spec: dict[str, list[int]], seed: int = SEED) -> dict[str, torch.Tensor]:
    """Seeded tensors of the spec's names and shapes, scaled like a trained network's.

    The golden values below were computed with exactly these tensors (this function, imported
    from this file by the script that ran the challenge's own code).
    """
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in spec.items():
        leaf = name.rsplit(".", 1)[1]
        if leaf == "num_batches_tracked":
            state[name] = torch.tensor(1000, dtype=torch.long)
        elif leaf == "running_var":
            state[name] = 0.5 + torch.rand(shape, generator=generator)
        elif leaf in ("running_mean", "bias"):
            state[name] = 0.1 * torch.randn(shape, generator=generator)
        elif len(shape) == 1:  # BatchNorm scales and PReLU slopes
            state[name] = 1 + 0.1 * torch.randn(shape, generator=generator)
            if name.endswith(("res_layer.3.weight", "input_layer.2.weight")):  # PReLU
                state[name] = 0.25 * state[name]
        else:  # He initialisation; each unit's last convolution damped, as after training
            fan_in = math.prod(shape[1:])
            damping = 0.3 if name.endswith("res_layer.4.weight") else 1.0
            state[name] = torch.randn(shape, generator=generator) * damping * math.sqrt(2 / fan_in)
    return state


def load_spec() -> dict[str, list[int]]:
    return json.loads(SPEC.read_text(encoding="utf-8"))


# Three LQ faces of the challenge's validation split (in ../shared/data/real): their rows of the
# challenge's face_alignment/val_face.csv (dataset, then left eye, right eye, nose, mouth left,
# mouth right as x, y), the points the challenge aligns them with.
FACES = {
    "lfw/Abid_Hamid_Mahmud_Al-Tikriti_0001_00.png": (
        "LFW-Test",
        (200.11685180664065, 240.10641479492188, 322.4142761230469, 236.40704345703125),
        (249.0979461669922, 317.5862121582031),
        (206.11160278320312, 377.7115173339844, 326.4232177734375, 373.39154052734375),
    ),
    "celebchild/015_John_Travolta_00.png": (
        "CelebChild-Test",
        (193.83068783068785, 241.7142857142857, 315.5238095238095, 243.3015873015873),
        (258.91005291005285, 293.5661375661376),
        (190.6560846560847, 356.0, 308.1164021164021, 357.5873015873016),
    ),
    "wider/0024.png": (
        "Wider-Test",
        (188.010582010582, 241.1851851851852, 323.9894179894179, 241.1851851851852),
        (273.7248677248677, 312.6137566137566),
        (192.24338624338623, 379.8095238095238, 314.4656084656084, 378.22222222222223),
    ),
}
CSV_HEADER = (
    "filename,dataset,x1,y1,x2,y2,left_eye_x,left_eye_y,right_eye_x,right_eye_y,nose_x,nose_y,"
    "mouth_left_x,mouth_left_y,mouth_right_x,mouth_right_y"
)


def face_points(face: str) -> np.ndarray:
    """The face's five CSV points, ``5 x 2``."""
    _, eyes, nose, mouth = FACES[face]
    return np.array([*eyes, *nose, *mouth]).reshape(5, 2)


def write_csv(path: Path) -> None:
    """The three rows in the challenge's format (its face boxes, unused, left out as 0)."""
    lines = [CSV_HEADER]
    for face, (dataset, *_) in FACES.items():
        values = ",".join(repr(float(v)) for v in face_points(face).reshape(-1))
        lines.append(f"{Path(face).stem},{dataset},0,0,0,0,{values}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def restored_copies(lq: np.ndarray, other: np.ndarray) -> dict[str, np.ndarray]:
    """Stand-ins for restored images, in integer arithmetic (the same bytes everywhere)."""
    wide = lq.astype(np.int32)
    height, width = lq.shape[:2]
    blocks = wide.reshape(height // 4, 4, width // 4, 4, 3).sum(axis=(1, 3)) // 16
    return {
        "same": lq.copy(),
        "blocky": np.repeat(np.repeat(blocks, 4, axis=0), 4, axis=1).astype(np.uint8),
        "contrast": (wide * 3 // 4 + 40).astype(np.uint8),
        "other": other.copy(),
    }


# (face, copy) pairs scored: each face with two copies (one forward of 12 crops)
PAIRS = (
    ("lfw/Abid_Hamid_Mahmud_Al-Tikriti_0001_00.png", "blocky"),
    ("lfw/Abid_Hamid_Mahmud_Al-Tikriti_0001_00.png", "contrast"),
    ("celebchild/015_John_Travolta_00.png", "blocky"),
    ("celebchild/015_John_Travolta_00.png", "other"),
    ("wider/0024.png", "same"),
    ("wider/0024.png", "contrast"),
)


TOLERANCE = 1e-5
# inference_face's ID_Sim for each pair of PAIRS, in order (see the module docstring)
GOLDEN_COSINES = (
    0.9990516304969788,
    0.9884733557701111,
    0.9958129525184631,
    0.47148260474205017,
    1.0,
    0.9836183190345764,
)
# sha256 of warp_and_crop_face(lq, csv points, reference, (112, 112)), by face; "mirrored": the
# first face with its points mirrored (x -> 512 - x), where findSimilarity's in-place reflection
# picks the reflective fit
GOLDEN_CROPS = {
    "lfw/Abid_Hamid_Mahmud_Al-Tikriti_0001_00.png": (
        "a553a93f843e8c7a26c4d9d20638ce4a48051cc67374b9489430c20345275282"
    ),
    "celebchild/015_John_Travolta_00.png": (
        "f0c9215462c14934d6bc579295563243df8e62c1e777331c2c4003360e0638d4"
    ),
    "wider/0024.png": "a87d18aaccab467f3b12dd334d8d864525fa7adefcdab7f52309c04d457623bd",
    "mirrored": "7c43658101b5bd2242efd2fb270df91164ba334f7a6f6ba0a8d871c78b4e172e",
}
GOLDEN_MIRRORED_MATRIX = (
    (-0.2842912814605005, -0.008425014865901392, 130.03448036741764),
    (-0.008425014865901399, 0.2842912814605005, -13.840663951685793),
)


def mirrored_points() -> np.ndarray:
    points = face_points(next(iter(FACES))).copy()
    points[:, 0] = 512 - points[:, 0]
    return points


@pytest.fixture(scope="module")
def spec() -> dict[str, list[int]]:
    return load_spec()


@pytest.fixture(scope="module")
def lq() -> dict[str, np.ndarray]:
    """The three LQ faces, decoded as dr2bench decodes inputs."""
    if not REAL.is_dir():
        pytest.skip(f"{REAL} (the challenge's real LQ faces) is not there")
    return {face: to_uint8(read_image(REAL / face)) for face in FACES}


class AttributeDict(dict):
    """Lightning's hyper-parameter dict (attribute access), pickled under Lightning's name."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError as exc:
            raise AttributeError(key) from exc

    def __setattr__(self, key, value):
        self[key] = value


class ModelCheckpoint:
    """Lightning's checkpoint callback: before 1.5, its class keys the saved callback states."""


LIGHTNING = {
    "pytorch_lightning.utilities.parsing.AttributeDict": AttributeDict,
    "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint": ModelCheckpoint,
}


def save_lightning(path: Path, checkpoint: dict) -> None:
    """``torch.save`` with stand-in modules under Lightning's names, gone again afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        for full_name, cls in LIGHTNING.items():
            module_name, _, cls.__qualname__ = full_name.rpartition(".")
            cls.__module__ = module_name
            parts = module_name.split(".")
            for depth in range(1, len(parts) + 1):
                patch.setitem(sys.modules, ".".join(parts[:depth]), types.ModuleType("stand-in"))
            setattr(sys.modules[module_name], cls.__qualname__, cls)
        torch.save(checkpoint, path)


def lightning_checkpoint(state: dict[str, torch.Tensor]) -> dict:
    """The layout of AdaFace's released file (pytorch-lightning 1.4): backbone, head and more."""
    head = {
        "head.kernel": torch.randn(512, 7),
        "head.t": torch.zeros(1),
        "head.batch_mean": torch.ones(1) * 20,
        "head.batch_std": torch.ones(1) * 100,
    }
    hyper_parameters = AttributeDict(arch="ir_50", head="adaface", m=0.4, h=0.333)
    hyper_parameters.lr_milestones = "12,20,24"
    return {
        "epoch": 25,
        "global_step": 123,
        "pytorch-lightning_version": "1.4.4",
        "state_dict": {f"model.{name}": value for name, value in state.items()} | head,
        "callbacks": {
            ModelCheckpoint: {
                "monitor": "val_acc",
                "best_model_score": torch.tensor(0.97),
                "best_model_path": "/experiments/epoch=24.ckpt",
                "current_score": torch.tensor(0.96),
                "dirpath": "/experiments",
            }
        },
        "optimizer_states": [
            {
                "state": {0: {"momentum_buffer": torch.zeros(3)}},
                "param_groups": [{"lr": 0.1, "momentum": 0.9, "params": [0]}],
            }
        ],
        "lr_schedulers": [{"milestones": collections.Counter({12: 1, 20: 1}), "gamma": 0.1}],
        "hparams_name": "kwargs",
        "hyper_parameters": hyper_parameters,
    }


@pytest.fixture(scope="module")
def weights(spec, tmp_path_factory) -> dict[str, object]:
    """The random tensors, saved as AdaFace's Lightning checkpoint."""
    state = random_state(spec)
    path = tmp_path_factory.mktemp("adaface") / "adaface_ir50_ms1mv2.ckpt"
    save_lightning(path, lightning_checkpoint(state))
    return {"state": state, "path": path}


@pytest.fixture(scope="module")
def challenge(lq, tmp_path_factory) -> dict[str, Path]:
    """The challenge's CSV (three rows) and its LQ folder (links to the shared files)."""
    folder = tmp_path_factory.mktemp("challenge")
    (folder / "val" / "sub").mkdir(parents=True)
    for face in FACES:
        (folder / "val" / "sub" / Path(face).name).symlink_to(REAL / face)
    write_csv(folder / "val_face.csv")
    return {"csv": folder / "val_face.csv", "images": folder / "val"}


def pairs(lq: dict[str, np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The outputs and LQ references of :data:`PAIRS`."""
    faces = list(FACES)
    outputs = []
    for face, copy in PAIRS:
        other = lq[faces[(faces.index(face) + 1) % len(faces)]]
        outputs.append(restored_copies(lq[face], other)[copy])
    return outputs, [lq[face] for face, _ in PAIRS]


def csv_metric(name: str, weights, challenge):
    return METRICS.create(
        name,
        weights=weights["path"],
        landmarks=str(challenge["csv"]),
        landmark_images=challenge["images"],
    )


def test_network_names_and_shapes_equal_the_original(spec):
    from metrics.adaface import AdafaceIR50

    ours = {name: list(value.shape) for name, value in AdafaceIR50().state_dict().items()}
    assert ours == spec


def test_the_lightning_checkpoint_loads_strictly(weights):
    from metrics.adaface import load_network, read_checkpoint

    assert "pytorch_lightning" not in sys.modules  # the stand-ins, never Lightning, are used
    before = set(torch.serialization.get_safe_globals())
    network = load_network(weights["path"])
    assert not network.training
    loaded = network.state_dict()
    assert set(loaded) == set(weights["state"])
    assert all(torch.equal(loaded[name], value) for name, value in weights["state"].items())
    checkpoint = read_checkpoint(weights["path"])
    assert type(checkpoint["hyper_parameters"]) is dict
    assert checkpoint["hyper_parameters"]["lr_milestones"] == "12,20,24"
    assert set(torch.serialization.get_safe_globals()) == before  # nothing stays allowed


@pytest.mark.slow
def test_ids_input_equals_the_challenges_golden_values(weights, challenge, lq):
    outputs, references = pairs(lq)
    scores = csv_metric("ids_input.adaface", weights, challenge).score(
        batch(*outputs), batch(*references)
    )
    assert scores.errors == (None,) * len(PAIRS)
    np.testing.assert_allclose(scores.values, GOLDEN_COSINES, rtol=0, atol=TOLERANCE)


@pytest.mark.slow
def test_ids_and_deg_take_the_points_of_the_gt(weights, challenge, lq):
    outputs, references = pairs(lq)
    ids = csv_metric("ids.adaface", weights, challenge).score(
        batch(*outputs[2:4]), batch(*references[2:4])
    )
    deg = csv_metric("deg.adaface", weights, challenge).score(
        batch(*outputs[2:4]), batch(*references[2:4])
    )
    np.testing.assert_allclose(ids.values, GOLDEN_COSINES[2:4], rtol=0, atol=TOLERANCE)
    angles = np.degrees(np.arccos(GOLDEN_COSINES[2:4]))
    np.testing.assert_allclose(deg.values, angles, rtol=0, atol=1e-3)


def test_alignment_equals_warp_and_crop_face(lq):
    from metrics.adaface_alignment import align, similarity_matrix

    for face in FACES:
        crop = align(lq[face], face_points(face))
        assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
        assert hashlib.sha256(crop.tobytes()).hexdigest() == GOLDEN_CROPS[face], face
    matrix = similarity_matrix(mirrored_points())
    np.testing.assert_allclose(matrix, GOLDEN_MIRRORED_MATRIX, rtol=0, atol=1e-12)
    assert np.linalg.det(matrix[:, :2]) < 0  # the reflective fit, as the original picks it
    crop = align(lq[next(iter(FACES))], mirrored_points())
    assert hashlib.sha256(crop.tobytes()).hexdigest() == GOLDEN_CROPS["mirrored"]


def test_network_input_is_bgr_scaled_to_minus_one_one():
    from metrics.adaface_alignment import network_input

    crop = np.zeros((112, 112, 3), np.uint8)
    crop[..., 0] = 255  # red
    crop[0, 0] = (0, 51, 102)
    tensor = network_input(crop)
    assert tensor.shape == (3, 112, 112) and tensor.dtype == np.float32
    assert tensor[:, 1, 1].tolist() == [-1.0, -1.0, 1.0]  # B, G, R
    expected = (((np.array([102, 51, 0]) / 255.0) - 0.5) / 0.5).astype(np.float32)
    assert np.array_equal(tensor[:, 0, 0], expected)


@pytest.mark.slow
def test_mtcnn_finds_the_face_and_none_on_grey(weights, lq):
    face = next(iter(FACES))
    grey = np.full_like(lq[face], 128)
    metric = METRICS.create("ids_input.adaface", weights=weights["path"])
    scores = metric.score(batch(lq[face], grey), batch(lq[face], grey))
    assert scores.values[0] == pytest.approx(1.0, abs=1e-6) and scores.errors[0] is None
    assert math.isnan(scores.values[1])
    assert scores.errors[1] == "no face found in the input image"
    points, _ = metric.backend.points(lq[face], "input")
    assert np.abs(points - face_points(face)).max() < 10  # measured 6.0 pixels from the CSV's


def test_detection_without_facenet_pytorch_says_what_to_install(monkeypatch):
    from bench.contracts import Unavailable
    from metrics.identity_adaface import MtcnnPoints

    monkeypatch.setitem(sys.modules, "facenet_pytorch", None)
    with pytest.raises(Unavailable, match=r"pip install --no-deps facenet-pytorch==2\.6\.0"):
        MtcnnPoints("cpu")


@pytest.mark.slow
def test_an_output_of_another_size_gets_the_points_scaled(weights, challenge, lq):
    face = next(iter(FACES))
    large = np.repeat(np.repeat(lq[face], 2, axis=0), 2, axis=1)
    metric = csv_metric("ids_input.adaface", weights, challenge)
    value = metric.score(batch(large), batch(lq[face])).values[0]
    assert 0.99 < value <= 1.0


def test_csv_points_are_found_by_pixels_or_the_reason_given(challenge, lq, tmp_path):
    from metrics.identity_adaface import CsvPoints

    points = CsvPoints(challenge["csv"], challenge["images"])
    for face in FACES:
        found, reason = points(lq[face], "input")
        assert reason is None and np.array_equal(found, face_points(face))
    _, reason = points(np.full_like(lq[next(iter(FACES))], 7), "input")
    assert reason == f"the input image is not one of the images in {challenge['images']}"
    stranger = tmp_path / "images"
    stranger.mkdir()
    (stranger / "stranger.png").symlink_to(REAL / next(iter(FACES)))
    _, reason = CsvPoints(challenge["csv"], stranger)(lq[next(iter(FACES))], "gt")
    assert reason == f"no row for 'stranger' in {challenge['csv']}"


def test_a_csv_without_the_point_columns_is_refused(tmp_path):
    from metrics.identity_adaface import read_points

    path = tmp_path / "faces.csv"
    path.write_text("filename,left_eye_x\nx,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"faces\.csv: not the challenge's landmark CSV"):
        read_points(path)


def test_config_records_the_protocol(weights, challenge):
    from bench.files import sha256_file

    config = METRICS.create("ids_input.adaface", weights=weights["path"]).config()
    assert "IR-50" in config["network"] and "build_model('ir_50')" in config["network"]
    assert config["weights_file"] == "adaface_ir50_ms1mv2.ckpt"
    assert config["weights_sha256"] == sha256_file(weights["path"])
    assert "MTCNN" in config["detector"] and "facenet-pytorch 2.6.0" in config["detector"]
    assert config["reference_points"][0] == [38.29459953, 51.69630051]
    assert config["input_convention"].startswith("BGR, ((x / 255) - 0.5) / 0.5")
    assert config["similarity"].startswith("cosine of normalised embeddings")
    assert config["units"] == "cosine" and "input image" in config["alignment_policy"]
    from_csv = csv_metric("ids.adaface", weights, challenge).config()
    assert from_csv["landmarks_sha256"] == sha256_file(challenge["csv"])
    assert "gt image" in from_csv["alignment_policy"]
    assert METRICS.create("deg.adaface").config()["units"] == "degrees"
    assert "landmarks" not in METRICS.create("ids.vqfr").config()  # the others are unchanged


def test_parameters_belong_to_the_adaface_backend(tmp_path):
    with pytest.raises(ConfigError, match="'landmarks' and 'landmark_images' are for backend"):
        METRICS.create("ids.sface", landmarks=str(tmp_path / "faces.csv"))
    with pytest.raises(ConfigError, match="needs 'landmark_images'"):
        METRICS.create("ids_input.adaface", landmarks=str(tmp_path / "faces.csv"))
    with pytest.raises(ConfigError, match="'weights' is for backend vqfr or adaface"):
        METRICS.create("ids.dlib", weights=tmp_path / "adaface_ir50_ms1mv2.ckpt")


def test_a_missing_file_says_what_to_get_and_where(isolated_home):
    with pytest.raises(MissingWeightsError) as caught:
        METRICS.create("ids_input.adaface").load("cpu")
    text = str(caught.value)
    assert "adaface_ir50_ms1mv2.ckpt" in text and "github.com/mk-minchul/AdaFace" in text
    assert str(isolated_home / "weights" / "adaface_ir50_ms1mv2.ckpt") in text
    assert METRICS.create("ids_input.adaface").config()["weights_file"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s.pop("model.output_layer.3.weight"),
            "'model.output_layer.3.weight' is missing",
        ),
        (lambda s: s.update({"model.extra.weight": torch.zeros(1)}), "'model.extra.weight'"),
        (
            lambda s: s.update({"model.input_layer.0.weight": torch.zeros(64, 1, 3, 3)}),
            "'model.input_layer.0.weight' has shape (64, 1, 3, 3)",
        ),
        (lambda s: s.update({"backbone.x": torch.zeros(1)}), "unexpected key 'backbone.x'"),
    ],
    ids=["missing", "unexpected", "shape", "foreign-prefix"],
)
def test_a_file_of_another_network_is_refused_naming_the_key(weights, tmp_path, change, message):
    from metrics.adaface import AdafaceCheckpointError, load_network

    checkpoint = lightning_checkpoint(weights["state"])
    change(checkpoint["state_dict"])
    path = tmp_path / "adaface_ir50_ms1mv2.ckpt"
    save_lightning(path, checkpoint)
    with pytest.raises(AdafaceCheckpointError) as caught:
        load_network(path)
    text = str(caught.value)
    assert str(path) in text and message in text and "\n" not in text


def test_a_plain_state_dict_is_refused(weights, tmp_path):
    from metrics.adaface import AdafaceCheckpointError, load_network

    path = tmp_path / "ir50.pth"
    torch.save(weights["state"], path)
    with pytest.raises(AdafaceCheckpointError, match="without a 'state_dict' entry"):
        load_network(path)


class _Hostile:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        (lambda marker: {"state_dict": {"model.x": _Hostile(marker)}}, r"GLOBAL os\.makedirs"),
        (lambda _: {"hyper_parameters": argparse.Namespace(arch="ir_50")}, r"argparse\.Namespace"),
        (lambda _: {"callbacks": [ModelCheckpoint()]}, "builds a Lightning callback object"),
    ],
    ids=["code", "other-global", "callback-object"],
)
def test_anything_but_tensors_and_the_stand_ins_is_refused(tmp_path, contents, message):
    marker = tmp_path / "code-ran"
    path = tmp_path / "adaface_ir50_ms1mv2.ckpt"
    save_lightning(path, contents(marker))
    with pytest.raises(UnsafeCheckpointError, match=f"{path}: refused to load: .*{message}"):
        METRICS.create("ids_input.adaface", weights=path).load("cpu")
    assert not marker.exists()


def test_list_metrics_shows_the_adaface_tags():
    for family in ("ids", "ids_input", "deg"):
        assert "adaface" in METRICS.info(family).tags
