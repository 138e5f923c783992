from __future__ import annotations

import cv2
import numpy as np
import pytest

from bench.faces import align_face, ffhq_quad, ffhq_transform, paste_face
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


def _smooth_photo() -> np.ndarray:
    coarse = np.random.default_rng(5).uniform(0, 255, (20, 25, 3)).astype(np.float32)
    photo = cv2.resize(coarse, (500, 400), interpolation=cv2.INTER_CUBIC)
    return photo.clip(0, 255).astype(np.uint8)


def test_transform_is_the_map_align_face_samples_through():
    photo = _smooth_photo()
    matrix = ffhq_transform(_landmarks(), size=216)
    # the quad's corner (34, -4) counts from pixel edges: pixel (33.5, -4.5), crop (-0.5, -0.5)
    assert np.allclose(matrix @ [33.5, -4.5, 1], [-0.5, -0.5])
    assert np.allclose(matrix @ [465.5, 427.5, 1], [215.5, 215.5])
    warped = cv2.warpAffine(photo, matrix, (216, 216), borderMode=cv2.BORDER_REFLECT_101)
    aligned = align_face(photo, _landmarks(), size=216)
    assert np.abs(warped[10:-10, 10:-10].astype(float) - aligned[10:-10, 10:-10]).mean() < 1


def test_pasting_the_aligned_face_back_changes_little_near_it_and_nothing_far_away():
    photo = _smooth_photo()
    matrix = ffhq_transform(_landmarks(), size=216)
    pasted = paste_face(photo, align_face(photo, _landmarks(), size=216), matrix)
    assert pasted.shape == photo.shape and pasted.dtype == np.uint8
    difference = np.abs(pasted.astype(int) - photo)
    face = difference[150:300, 150:350]  # around the eyes and mouth
    assert face.mean() < 1 and face.max() <= 6
    ys, xs = np.mgrid[: photo.shape[0], : photo.shape[1]]
    crop = np.einsum("ij,jyx->iyx", matrix, np.stack([xs, ys, np.ones_like(xs)]))
    far = (crop < -2).any(axis=0) | (crop > 218).any(axis=0)
    assert far.mean() > 0.1 and not difference[far].any()


def test_paste_blends_a_different_face_softly():
    photo = np.zeros((400, 500, 3), np.uint8)
    matrix = ffhq_transform(_landmarks(), size=216)
    pasted = paste_face(photo, np.full((216, 216, 3), 200, np.uint8), matrix, feather=0.2)
    centre = np.round(np.linalg.inv(np.vstack([matrix, [0, 0, 1]])) @ [108, 108, 1]).astype(int)
    assert pasted[centre[1], centre[0], 0] == 200
    row = pasted[centre[1], :, 0].astype(int)  # from the photo, up a soft ramp, to the face
    assert len(np.unique(row)) > 20 and np.all(np.diff(row[: centre[0]]) >= 0)


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
