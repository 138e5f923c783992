"""PSNR and SSIM against scikit-image (same conventions) and basicsr (the papers' scripts)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from metrics.psnr_ssim import Psnr, Ssim
from tests.metrics.conftest import batch, pattern


def skimage_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(
        a.astype(np.float64),
        b.astype(np.float64),
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=2,
    )


def test_psnr_rgb_matches_skimage(noisy_pair):
    clean, noisy = noisy_pair
    ours = Psnr().score(batch(noisy, clean), batch(clean, noisy)).values
    expected = peak_signal_noise_ratio(clean, noisy, data_range=255)
    np.testing.assert_allclose(ours, [expected, expected], rtol=1e-12)


def test_ssim_rgb_matches_skimage(noisy_pair, rng):
    clean, noisy = noisy_pair
    other = rng.integers(0, 256, clean.shape, dtype=np.uint8)
    ours = Ssim().score(batch(noisy, other), batch(clean, clean)).values
    expected = [skimage_ssim(clean, noisy), skimage_ssim(clean, other)]
    np.testing.assert_allclose(ours, expected, rtol=1e-10)
    assert ours[0] > ours[1]


@pytest.mark.parametrize("border", [0, 4])
def test_y_channel_and_crop_border_match_basicsr(basicsr, noisy_pair, border):
    clean, noisy = noisy_pair
    bgr_clean, bgr_noisy = clean[..., ::-1], noisy[..., ::-1]  # basicsr reads with OpenCV
    reference = basicsr.psnr_ssim
    psnr_y = Psnr(channel="y", crop_border=border).score(batch(noisy), batch(clean)).values[0]
    ssim_y = Ssim(channel="y", crop_border=border).score(batch(noisy), batch(clean)).values[0]
    ssim_rgb = Ssim(crop_border=border).score(batch(noisy), batch(clean)).values[0]
    # basicsr converts to Y in float32; dr2bench in float64
    assert psnr_y == pytest.approx(
        reference.calculate_psnr(bgr_noisy, bgr_clean, border, test_y_channel=True), abs=1e-4
    )
    assert ssim_y == pytest.approx(
        reference.calculate_ssim(bgr_noisy, bgr_clean, border, test_y_channel=True), abs=1e-6
    )
    assert ssim_rgb == pytest.approx(
        reference.calculate_ssim(bgr_noisy, bgr_clean, border), abs=1e-10
    )


def test_psnr_by_hand():
    ref = np.zeros((40, 40, 3), np.uint8)
    pred = ref.copy()
    pred[0, 0, 0] = 10  # one error of 10 over 4800 values: MSE = 100 / 4800
    value = Psnr().score(batch(pred), batch(ref)).values[0]
    assert value == pytest.approx(10 * math.log10(255**2 * 4800 / 100), rel=1e-12)


def test_identical_images():
    image = pattern(64)
    assert Psnr().score(batch(image), batch(image)).values[0] == math.inf
    assert Ssim().score(batch(image), batch(image)).values[0] == pytest.approx(1.0, abs=1e-12)


def test_float_inputs_are_quantised_to_8_bits():
    image = pattern(64)
    exact = batch(image)
    nudged = exact + 0.4 / 255  # rounds back to the same 8-bit image
    assert Psnr().score(nudged, exact).values[0] == math.inf


def test_size_mismatch_is_a_per_image_failure():
    scores = Psnr().score(batch(pattern(64)), batch(pattern(48)))
    assert math.isnan(scores.values[0])
    assert "64x64" in scores.errors[0] and "48x48" in scores.errors[0]


def test_tags_and_config_record_the_conventions():
    from bench.registry import METRICS

    metric = METRICS.create("ssim.y", crop_border=2)
    config = metric.config()
    assert config["channel"] == "y" and config["crop_border"] == 2
    assert config["window"] == 11 and config["sigma"] == 1.5 and config["quantize"] == "uint8"
    with pytest.raises(Exception, match="crop_border"):
        Psnr(crop_border=-1)


def vqfr_script_values(basicsr, out_path, gt_path) -> tuple[float, float]:
    """The steps of VQFR's ``metric_paper/calculate_psnr_ssim.py`` on two files, as it runs them."""
    import cv2

    img_gt = cv2.imread(str(gt_path), cv2.IMREAD_UNCHANGED).astype(np.float32) / 255.0
    img_restored = cv2.imread(str(out_path), cv2.IMREAD_UNCHANGED).astype(np.float32) / 255.0
    mean_l = [np.mean(img_gt[:, :, j]) for j in range(3)]
    std_l = [np.std(img_gt[:, :, j]) for j in range(3)]
    for j in range(3):  # the script's "correct twice", written out
        for _ in range(2):
            mean = np.mean(img_restored[:, :, j])
            img_restored[:, :, j] = img_restored[:, :, j] - mean + mean_l[j]
            std = np.std(img_restored[:, :, j])
            img_restored[:, :, j] = img_restored[:, :, j] / std * std_l[j]
    psnr = basicsr.psnr_ssim.calculate_psnr(img_gt * 255, img_restored * 255, crop_border=0)
    ssim = basicsr.psnr_ssim.calculate_ssim(img_gt * 255, img_restored * 255, crop_border=0)
    return psnr, ssim


def test_vqfr_tag_equals_vqfr_script_with_its_mean_variance_correction(basicsr, tmp_path, rng):
    import cv2

    from bench.registry import METRICS

    clean = pattern(96)
    darker = np.clip(clean.astype(int) * 0.8 + rng.integers(-20, 21, clean.shape), 0, 255)
    outputs = [darker.astype(np.uint8), rng.integers(0, 256, clean.shape, dtype=np.uint8)]
    expected = []
    for index, output in enumerate(outputs):
        out_path, gt_path = tmp_path / f"out{index}.png", tmp_path / f"gt{index}.png"
        cv2.imwrite(str(out_path), output[..., ::-1])
        cv2.imwrite(str(gt_path), clean[..., ::-1])
        expected.append(vqfr_script_values(basicsr, out_path, gt_path))
    psnr = METRICS.create("psnr.vqfr").score(batch(*outputs), batch(clean, clean))
    ssim = METRICS.create("ssim.vqfr").score(batch(*outputs), batch(clean, clean))
    np.testing.assert_allclose(psnr.values, [e[0] for e in expected], rtol=1e-9)
    np.testing.assert_allclose(ssim.values, [e[1] for e in expected], rtol=1e-7)
    plain = Psnr().score(batch(outputs[0]), batch(clean)).values[0]
    assert psnr.values[0] > plain + 1  # the correction removes the brightness change
    assert METRICS.create("psnr.vqfr").config()["correct_mean_var"] is True


def test_vqfr_correction_of_a_flat_output_is_a_failure_with_its_reason():
    flat = np.full((32, 32, 3), 128, np.uint8)
    scores = Psnr(correct_mean_var=True).score(batch(flat), batch(pattern(32)))
    assert math.isnan(scores.values[0]) and "zero deviation" in scores.errors[0]
