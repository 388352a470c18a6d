"""Metric definitions: known values, the grayscale baseline, and agreement with the neutral scorer beside the repo."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from unet_resnet.evaluation.fid import frechet_distance
from unet_resnet.metrics import ab_l1, colorfulness, gray_baseline, image_scores, l_l1, psnr, ssim, summarize

ROOT = Path(__file__).resolve().parents[1]
SCORER = ROOT.parent / "shared" / "bench" / "score.py"


def photo_like(h: int, w: int, seed: int) -> np.ndarray:
    """A smooth random colour image with some fine texture, uint8 RGB (H, W, 3)."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 256, (5, 6, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(base.astype(np.int16) + rng.integers(-12, 13, (h, w, 3)), 0, 255).astype(np.uint8)


def test_psnr_of_identical_images_is_inf() -> None:
    a = photo_like(32, 40, 0)
    assert psnr(a, a.copy()) == math.inf


@pytest.mark.parametrize("d", [1, 5, 40])
def test_psnr_of_a_constant_offset_is_20_log10_255_over_d(d: int) -> None:
    truth = (photo_like(24, 30, 1) // 2).astype(np.uint8)  # values <= 127: no clipping after the offset
    assert psnr(truth + np.uint8(d), truth) == pytest.approx(20 * math.log10(255 / d), abs=1e-9)


def test_colorfulness_known_values() -> None:
    gray = np.repeat(photo_like(20, 20, 2)[..., :1], 3, axis=2)
    assert colorfulness(gray) == 0.0
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255  # rg = 255, yb = 127.5 everywhere: no spread, only the mean term
    assert colorfulness(red) == pytest.approx(0.3 * math.hypot(255.0, 127.5))
    assert colorfulness(red.astype(np.float32) / 255.0) == pytest.approx(colorfulness(red))


def test_ssim_is_one_for_identical_images_and_falls_with_noise() -> None:
    truth = photo_like(48, 64, 3)
    rng = np.random.default_rng(0)
    noisy = [np.clip(truth + rng.normal(0, s, truth.shape), 0, 255).astype(np.uint8) for s in (4, 16, 48)]
    assert ssim(truth, truth.copy()) == pytest.approx(1.0, abs=1e-12)
    values = [ssim(n, truth) for n in noisy]
    assert 1.0 > values[0] > values[1] > values[2] > 0.0


def test_metrics_refuse_different_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        image_scores(photo_like(10, 12, 0), photo_like(12, 10, 0))


def test_gray_baseline_keeps_lightness_and_removes_colour() -> None:
    truth = photo_like(40, 50, 4)
    gray = gray_baseline(truth)
    assert gray.dtype == np.uint8 and gray.shape == truth.shape
    assert colorfulness(gray) < 1.0  # only 8-bit rounding is left of the colour
    assert l_l1(gray, truth) < 0.5
    assert ab_l1(gray, truth) > 5.0
    scores = image_scores(gray, truth)
    assert scores["ab_l1"] == pytest.approx(ab_l1(gray, truth))
    assert scores["l_l1"] == pytest.approx(l_l1(gray, truth))
    assert scores["delta_cf"] == pytest.approx(abs(scores["cf_pred"] - scores["cf_truth"]))


def test_summary_gap_is_between_the_means_and_l_max_is_the_worst_image() -> None:
    rows = [
        {"psnr": 20.0, "ssim": 0.5, "ab_l1": 10.0, "l_l1": 0.1, "cf_pred": 10.0, "cf_truth": 30.0},
        {"psnr": 30.0, "ssim": 0.7, "ab_l1": 6.0, "l_l1": 0.7, "cf_pred": 50.0, "cf_truth": 20.0},
    ]
    s = summarize(rows)
    assert s["images"] == 2 and s["psnr_rgb"] == 25.0 and s["ab_l1"] == 8.0
    assert s["delta_cf"] == pytest.approx(5.0)  # |30 - 25|, not the mean per-image gap (25)
    assert s["l_max_err"] == 0.7


def test_frechet_distance_of_diagonal_gaussians_has_the_closed_form() -> None:
    rng = np.random.default_rng(0)
    mu_a, mu_b = rng.normal(size=6), rng.normal(size=6)
    var_a, var_b = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert frechet_distance(mu_a, np.diag(var_a), mu_b, np.diag(var_b)) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_non_commuting_covariances() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    cov_a, cov_b = x @ x.T + 0.1 * np.eye(5), y @ y.T + 0.1 * np.eye(5)
    # Tr sqrt(A B) from the (real, positive) eigenvalues of the non-symmetric product
    trace_root = np.sum(np.sqrt(np.real(np.linalg.eigvals(cov_a @ cov_b))))
    expected = np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    mu = np.zeros(5)
    assert frechet_distance(mu, cov_a, mu, cov_b) == pytest.approx(expected, rel=1e-7)
    assert frechet_distance(mu, cov_a, mu, cov_a) == pytest.approx(0.0, abs=1e-9 * np.trace(cov_a))


# ------------------------------------------------------------------------------ agreement with the neutral scorer
@pytest.fixture(scope="module")
def scorer() -> ModuleType:
    if not SCORER.is_file():
        pytest.skip(f"neutral scorer not found at {SCORER}")
    spec = importlib.util.spec_from_file_location("neutral_score", SCORER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("h", "w"), [(61, 83), (9, 14)])  # the second is below SSIM's window: no border dropped
def test_agrees_with_the_neutral_scorer_on_a_random_pair(scorer: ModuleType, h: int, w: int) -> None:
    truth, pred = photo_like(h, w, 10), photo_like(h, w, 11)
    ours = image_scores(pred, truth)
    lab_p, lab_t = scorer.lab(pred), scorer.lab(truth)
    assert ours["psnr"] == pytest.approx(scorer.psnr(pred, truth), abs=1e-9)
    assert ours["ssim"] == pytest.approx(scorer.ssim(pred, truth), abs=1e-9)
    assert ours["ab_l1"] == pytest.approx(float(np.abs(lab_p[..., 1:] - lab_t[..., 1:]).mean()), abs=1e-6)
    assert ours["l_l1"] == pytest.approx(float(np.abs(lab_p[..., 0] - lab_t[..., 0]).mean()), abs=1e-6)
    assert ours["cf_pred"] == pytest.approx(scorer.colorfulness(pred), abs=1e-9)
    assert ours["cf_truth"] == pytest.approx(scorer.colorfulness(truth), abs=1e-9)
    np.testing.assert_array_equal(gray_baseline(truth), scorer.gray_of(truth))
