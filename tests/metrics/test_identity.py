"""Identity and landmark metrics against direct dlib calls; SFace and ArcFace plumbing."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from bench.images import list_images
from metrics.identity import Deg, Ids, IdsInput
from metrics.landmarks import Lmd
from tests.metrics.conftest import batch


def read_rgb(path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def faces(request):
    shared = request.getfixturevalue("shared_data")
    paths = list_images(shared / "hq")[:2]
    gt = [read_rgb(p) for p in paths]
    blurred = [cv2.GaussianBlur(image, (0, 0), 2.5) for image in gt]
    return gt, blurred


@pytest.fixture(scope="module")
def dlib_direct():
    import dlib
    import face_recognition_models as models

    base = models.face_recognition_model_location().rsplit("/", 1)[0]
    return {
        "detector": dlib.get_frontal_face_detector(),
        "five": dlib.shape_predictor(f"{base}/shape_predictor_5_face_landmarks.dat"),
        "sixty_eight": dlib.shape_predictor(f"{base}/shape_predictor_68_face_landmarks.dat"),
        "recogniser": dlib.face_recognition_model_v1(models.face_recognition_model_location()),
    }


def test_ids_and_deg_match_direct_dlib_calls(faces, dlib_direct):
    gt, blurred = faces
    expected = []
    for truth, output in zip(gt, blurred, strict=True):
        rect = max(dlib_direct["detector"](truth, 1), key=lambda r: r.area())
        shape = dlib_direct["five"](truth, rect)
        a = np.array(dlib_direct["recogniser"].compute_face_descriptor(truth, shape))
        b = np.array(dlib_direct["recogniser"].compute_face_descriptor(output, shape))
        expected.append(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    ids = Ids().score(batch(*blurred), batch(*gt))
    deg = Deg().score(batch(*blurred), batch(*gt))
    np.testing.assert_allclose(ids.values, expected, rtol=1e-9)
    np.testing.assert_allclose(deg.values, np.degrees(np.arccos(expected)), rtol=1e-7)
    assert ids.errors == (None, None)
    same = Ids().score(batch(gt[0]), batch(gt[0])).values[0]
    assert same == pytest.approx(1.0, abs=1e-9) and same > ids.values[0]


def test_face_not_found_is_a_counted_failure_not_a_drop(faces):
    gt, _ = faces
    grey = np.full_like(gt[0], 128)
    scores = Ids().score(batch(gt[0], gt[0]), batch(gt[0], grey))
    assert scores.values[0] == pytest.approx(1.0, abs=1e-9)
    assert math.isnan(scores.values[1]) and scores.errors[1] == "no face found in the gt image"
    scores = IdsInput(backend="sface").score(batch(gt[0]), batch(grey))
    assert scores.errors == ("no face found in the input image",)


def test_ids_input_aligns_a_smaller_input_on_the_output(faces):
    gt, _ = faces
    small = cv2.resize(gt[0], (256, 256), interpolation=cv2.INTER_AREA)
    assert IdsInput.reference == "input"
    value = IdsInput().score(batch(gt[0]), batch(small)).values[0]
    assert 0.95 < value <= 1.0


def test_sface_backend(faces):
    gt, blurred = faces
    metric = Ids(backend="sface")
    values = metric.score(batch(gt[0], blurred[0], gt[1]), batch(gt[0], gt[0], gt[0])).values
    assert values[0] == pytest.approx(1.0, abs=1e-6)
    assert values[0] > values[1] > values[2]
    assert metric.config()["recogniser"].startswith("SFace")


def test_arcface_plumbing_with_a_stand_in_network(tmp_path, faces):
    """A one-layer ONNX model (channel means) standing in for w600k_r50.onnx: input, scaling."""
    import onnx
    from onnx import TensorProto, helper

    from metrics.embeddings import YunetBackend

    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["input.1"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["683"])],
        "stand_in",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [None, 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, [None, 3])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "w600k_r50.onnx"
    onnx.save(model, path)
    gt, blurred = faces
    metric = Ids(backend="arcface", arcface_weights=path)
    value = metric.score(batch(blurred[0]), batch(gt[0])).values[0]
    backend = metric.backend
    face = backend.detect(gt[0])

    def embedding(image):
        return ((YunetBackend.align(image, face).astype(np.float32) - 127.5) / 127.5).mean((0, 1))

    a, b = embedding(gt[0]), embedding(blurred[0])
    assert value == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b), rel=1e-5)


def test_arcface_without_its_file_is_unavailable(isolated_home):
    from bench.weights import MissingWeightsError

    with pytest.raises(MissingWeightsError, match=r"w600k_r50\.onnx"):
        Ids(backend="arcface").load("cpu")


def test_lmd_matches_direct_dlib_calls(faces, dlib_direct):
    gt, blurred = faces
    expected = []
    for truth, output in zip(gt, blurred, strict=True):
        rect = max(dlib_direct["detector"](truth, 1), key=lambda r: r.area())
        a = np.array([(p.x, p.y) for p in dlib_direct["sixty_eight"](truth, rect).parts()])
        b = np.array([(p.x, p.y) for p in dlib_direct["sixty_eight"](output, rect).parts()])
        expected.append(np.linalg.norm(a - b, axis=1).mean() * 512 / truth.shape[1])
    values = Lmd().score(batch(*blurred), batch(*gt)).values
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    assert Lmd().score(batch(gt[0]), batch(gt[0])).values[0] == 0.0


def test_lmd_without_a_face_on_the_gt(faces):
    gt, _ = faces
    scores = Lmd().score(batch(gt[0]), batch(np.zeros_like(gt[0])))
    assert math.isnan(scores.values[0]) and scores.errors[0] == "no face found in the gt image"
