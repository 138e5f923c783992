"""NIQE against basicsr's implementation of the MATLAB release (the papers' reference)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.images import list_images, read_image, to_uint8
from metrics.niqe import (
    Niqe,
    block_features,
    matlab_resize_matrix,
    mscn,
    niqe,
    pristine_model,
)
from metrics.psnr_ssim import LUMA_OFFSET, LUMA_WEIGHTS
from tests.metrics.conftest import batch


def test_pristine_model_is_the_published_one(basicsr):
    from pathlib import Path

    shipped = np.load(Path(basicsr.niqe.__file__).with_name("niqe_pris_params.npz"))
    mu, cov = pristine_model()
    np.testing.assert_array_equal(mu, shipped["mu_pris_param"].reshape(-1))
    np.testing.assert_array_equal(cov, shipped["cov_pris_param"])


@pytest.mark.parametrize("shape", [(480, 384), (37, 50)])
def test_resize_is_matlab_bicubic_with_antialiasing(basicsr, rng, shape):
    image = rng.random(shape)
    ours = matlab_resize_matrix(shape[0], 0.5) @ image @ matlab_resize_matrix(shape[1], 0.5).T
    np.testing.assert_allclose(ours, basicsr.matlab.imresize(image, 0.5, True), atol=1e-6)


def test_block_features_match(basicsr, rng):
    block = mscn(rng.random((96, 96)) * 255)
    np.testing.assert_allclose(
        block_features(block), basicsr.niqe.compute_feature(block), rtol=1e-12
    )


@pytest.mark.slow
def test_niqe_matches_basicsr_on_real_faces(basicsr, shared_data):
    paths = [list_images(shared_data / "hq")[0], list_images(shared_data / "real" / "wider")[0]]
    images = [to_uint8(read_image(p)) for p in paths]
    ours = Niqe().score(batch(*images)).values
    for image, value in zip(images, ours, strict=True):
        # basicsr runs the MSCN and the resize in float32, dr2bench in float64
        bgr = image[..., ::-1].astype(np.float32)
        assert value == pytest.approx(basicsr.niqe.calculate_niqe(bgr, 0), rel=2e-3)
        luma = np.round(image.astype(np.float64) @ LUMA_WEIGHTS + LUMA_OFFSET)
        assert niqe(luma) == value
    assert ours[0] < ours[1]  # a clean face scores better than a real degraded one


def test_too_small_images_fail_with_the_reason():
    scores = Niqe().score(batch(np.zeros((150, 200, 3), np.uint8)))
    assert math.isnan(scores.values[0]) and "192x192" in scores.errors[0]
