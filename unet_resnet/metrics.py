"""Image-quality metrics shared by training validation, ``evaluate`` and the benchmarks.

Definitions (all on 8-bit sRGB unless stated):

- ``psnr``: ``10 log10(255^2 / MSE)`` over all RGB values, in dB; identical images give ``inf``.
- ``ssim``: SSIM with an 11x11 Gaussian window (sigma 1.5), ``C1 = (0.01 * 255)^2``, ``C2 = (0.03 * 255)^2``, mean
  over the three channels of the map with a 5-pixel border dropped (images smaller than 11 pixels keep it).
- ``ab_l1``: mean ``|a_pred - a_true|`` and ``|b_pred - b_true|`` in CIE Lab units.
- ``colorfulness``: Hasler & Suesstrunk, see :func:`unet_resnet.color.colorfulness`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .color import colorfulness, rgb_to_lab

__all__ = ["psnr", "ssim", "ab_l1", "l_l1", "colorfulness"]


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
