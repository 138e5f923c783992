from __future__ import annotations

import numpy as np
import pytest

from bench.faces import align_face, ffhq_quad
from bench.registry import DATASETS


def _landmarks() -> np.ndarray:
    points = np.full((68, 2), 250.0)
    points[36:42] = (200, 200)
    points[42:48] = (300, 200)
    points[48], points[54] = (230, 320), (270, 320)
    return points


def test_quad_by_hand():
    # eye span (100, 0), eye-to-mouth (0, 120): half side max(2 * 100, 1.8 * 120) = 216,
    # centre = eye midpoint + 0.1 * (0, 120) = (250, 212)
    expected = [(34, -4), (34, 428), (466, 428), (466, -4)]
    assert np.allclose(ffhq_quad(_landmarks()), expected)


def test_quad_follows_rotation():
    angle = np.deg2rad(30)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    rotated = _landmarks() @ rotation.T
    assert np.allclose(ffhq_quad(rotated), ffhq_quad(_landmarks()) @ rotation.T)


def test_align_face_maps_the_quad_to_the_square():
    image = np.zeros((500, 500, 3), np.uint8)
    image[200:215, 290:310] = 255  # a bright patch centred at (300, 207), by the right eye
    aligned = align_face(image, _landmarks(), size=216)
    # the quad's corner (34, -4) maps to (0, 0) and its side 432 to 216: (133, 105.5)
    ys, xs = np.nonzero(aligned[..., 0] > 128)
    assert abs(xs.mean() - 133) < 1.5 and abs(ys.mean() - 105.5) < 1.5
    assert aligned.shape == (216, 216, 3)


def test_wrong_landmarks_are_refused():
    with pytest.raises(ValueError, match="68 x 2"):
        ffhq_quad(np.zeros((5, 2)))


@pytest.mark.slow
def test_demo_faces_come_from_installed_packages(isolated_home):
    dataset = DATASETS.create("demo_faces")
    items = dataset.items()
    assert len(items) >= 6
    assert all(item.gt is not None and item.lq is None for item in items)
    assert str(isolated_home) in str(items[0].gt)
    from bench.images import read_image

    assert read_image(items[0].gt).shape == (512, 512, 3)
    assert [i.id for i in dataset.items()] == [i.id for i in items]  # built once, then read
