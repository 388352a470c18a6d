"""Small pictures beside the full-resolution result: the gray input as the model sees it, and gray | colour pairs
(``infer --compare``, the web app's before picture)."""

from __future__ import annotations

import cv2
import numpy as np

from unet_resnet.data.imageio import to_uint8
from unet_resnet.inference.colorizer import _as_float3


def gray_preview(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """The photo as the model sees it (its L, ``a = b = 0``), uint8 BGR, long side at most ``max_side``."""
    small = fit_within(to_uint8(pixels if pixels.ndim == 2 else pixels[..., :3]), max_side)
    lab = cv2.cvtColor(_as_float3(small, "bgr"), cv2.COLOR_BGR2Lab)
    lab[..., 1:] = 0.0
    return cv2.convertScaleAbs(np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2BGR), 0.0, 1.0), alpha=255.0)


def fit_within(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """``pixels`` shrunk (area) so that the long side is at most ``max_side``; unchanged when already small."""
    h, w = pixels.shape[:2]
    if max(h, w) <= max_side:
        return pixels
    f = max_side / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return cv2.resize(np.ascontiguousarray(pixels), size, interpolation=cv2.INTER_AREA)


def side_by_side(gray: np.ndarray, colour: np.ndarray, gap: int = 8) -> np.ndarray:
    """uint8 BGR ``gray | colour`` with a white gap; ``colour`` (any depth, alpha ignored) is fitted to ``gray``."""
    h, w = gray.shape[:2]
    c = to_uint8(colour[..., :3])
    if c.shape[:2] != (h, w):
        c = cv2.resize(np.ascontiguousarray(c), (w, h), interpolation=cv2.INTER_AREA)
    return np.concatenate([gray, np.full((h, gap, 3), 255, np.uint8), c], axis=1)
