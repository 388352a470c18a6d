"""Image-quality metrics shared by training validation, ``evaluate`` and the benchmarks.

Definitions (all on 8-bit sRGB unless stated):

- ``psnr``: ``10 log10(255^2 / MSE)`` over all RGB values, in dB; identical images give ``inf``.
- ``ssim``: SSIM with an 11x11 Gaussian window (sigma 1.5), ``C1 = (0.01 * 255)^2``, ``C2 = (0.03 * 255)^2``, mean
  over the three channels of the map with a 5-pixel border dropped (images smaller than 11 pixels keep it).
- ``ab_l1``: mean ``|a_pred - a_true|`` and ``|b_pred - b_true|`` in CIE Lab units.
- ``l_l1``: mean ``|L_pred - L_true|`` in CIE Lab units (a colorizer must keep the input's lightness: near 0).
- ``colorfulness``: Hasler & Suesstrunk, see :func:`unet_resnet.data.color.colorfulness`.

:func:`image_scores` and :func:`summarize` give the per-image figures and the means that ``evaluate`` reports; they
follow the definitions of the project's neutral scorer (means over images; ``delta_cf`` is the gap between the mean
colorfulness of predictions and of truth; ``l_max_err`` the largest per-image ``l_l1``). See ``docs/metrics.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from unet_resnet.data.color import colorfulness, gray_rgb, rgb_to_lab, to_uint8

__all__ = ["psnr", "ssim", "ab_l1", "l_l1", "colorfulness", "gray_baseline", "image_scores", "summarize"]


def psnr(pred: np.ndarray, truth: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB of two same-shape arrays on a ``[0, peak]`` scale; ``inf`` when they are identical."""
    if pred.shape != truth.shape:
        raise ValueError(f"psnr needs equal shapes, got {pred.shape} and {truth.shape}")
    mse = float(np.mean((pred.astype(np.float64) - truth.astype(np.float64)) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(peak**2 / mse)


def ssim(pred: np.ndarray, truth: np.ndarray, peak: float = 255.0) -> float:
    """Mean SSIM over channels of two ``(H, W[, C])`` arrays on a ``[0, peak]`` scale."""
    if pred.shape != truth.shape:
        raise ValueError(f"ssim needs equal shapes, got {pred.shape} and {truth.shape}")
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    a = pred.astype(np.float64).reshape(pred.shape[0], pred.shape[1], -1)
    b = truth.astype(np.float64).reshape(truth.shape[0], truth.shape[1], -1)

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5)

    values = []
    for ch in range(a.shape[2]):
        x, y = a[..., ch], b[..., ch]
        mx, my = blur(x), blur(y)
        sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
        m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        values.append(m[5:-5, 5:-5].mean() if min(x.shape) > 10 else m.mean())
    return float(np.mean(values))


def _lab8(rgb8: np.ndarray) -> np.ndarray:
    return rgb_to_lab(rgb8.astype(np.float32) / 255.0)


def ab_l1(pred_rgb8: np.ndarray, truth_rgb8: np.ndarray) -> float:
    """Mean absolute ab difference in Lab units of two uint8 RGB images."""
    return float(np.abs(_lab8(pred_rgb8)[..., 1:] - _lab8(truth_rgb8)[..., 1:]).mean())


def l_l1(pred_rgb8: np.ndarray, truth_rgb8: np.ndarray) -> float:
    """Mean absolute L difference in Lab units (a colorizer should keep it near 0)."""
    return float(np.abs(_lab8(pred_rgb8)[..., 0] - _lab8(truth_rgb8)[..., 0]).mean())


def gray_baseline(truth_rgb8: np.ndarray) -> np.ndarray:
    """The grayscale baseline of a uint8 RGB photo ``(H, W, 3)``: its own L with ``a = b = 0``, as uint8 RGB."""
    return to_uint8(gray_rgb(truth_rgb8.astype(np.float32) / 255.0))


def image_scores(pred_rgb8: np.ndarray, truth_rgb8: np.ndarray) -> dict[str, float]:
    """All per-image figures of a uint8 RGB prediction against its uint8 RGB truth (same ``(H, W, 3)`` shape).

    Keys: ``psnr`` (dB, ``inf`` when identical), ``ssim``, ``ab_l1`` and ``l_l1`` (Lab units), ``cf_pred`` and
    ``cf_truth`` (colorfulness on 0-255), ``delta_cf`` (``|cf_pred - cf_truth|`` of this image).
    """
    if pred_rgb8.shape != truth_rgb8.shape:
        raise ValueError(f"prediction is {pred_rgb8.shape}, truth is {truth_rgb8.shape}: they must have one shape")
    lp, lt = _lab8(pred_rgb8), _lab8(truth_rgb8)
    cf_pred, cf_truth = colorfulness(pred_rgb8), colorfulness(truth_rgb8)
    return {
        "psnr": psnr(pred_rgb8, truth_rgb8),
        "ssim": ssim(pred_rgb8, truth_rgb8),
        "ab_l1": float(np.abs(lp[..., 1:] - lt[..., 1:]).mean()),
        "l_l1": float(np.abs(lp[..., 0] - lt[..., 0]).mean()),
        "cf_pred": cf_pred,
        "cf_truth": cf_truth,
        "delta_cf": abs(cf_pred - cf_truth),
    }


def summarize(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """Means over images of :func:`image_scores` rows, under the names the neutral scorer uses.

    ``psnr_rgb`` is ``inf`` if any image is reproduced exactly (the plain mean, as the scorer computes it);
    ``delta_cf`` is ``|mean cf_pred - mean cf_truth|``; ``l_max_err`` is the largest ``l_l1`` of any image.
    """
    if not rows:
        raise ValueError("no images to summarize")

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in rows]))

    return {
        "images": len(rows),
        "psnr_rgb": mean("psnr"),
        "ssim_rgb": mean("ssim"),
        "ab_l1": mean("ab_l1"),
        "cf_pred": mean("cf_pred"),
        "cf_truth": mean("cf_truth"),
        "delta_cf": abs(mean("cf_pred") - mean("cf_truth")),
        "l_max_err": max(r["l_l1"] for r in rows),
    }
