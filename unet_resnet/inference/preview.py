"""Small pictures beside the full-resolution result: the gray input as the model sees it, and gray | colour pairs,
with the original beside them when it has colour (``infer --compare``, the web app's before picture)."""

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


GRAY_NOISE = 8
"""Channel spread (uint8 levels) a gray photo saved in colour may show from compression alone."""
COLOURED_SHARE = 0.01
"""A photo counts as coloured when more than this share of its pixels spread wider than :data:`GRAY_NOISE`."""


def colour_original(pixels: np.ndarray, max_side: int) -> np.ndarray | None:
    """The photo as it is, uint8 BGR, long side at most ``max_side``, when it holds colour: the truth to set beside
    the model's colours. None for a gray photo (one channel, or three that agree within JPEG noise)."""
    if pixels.ndim == 2:
        return None
    small = fit_within(to_uint8(pixels[..., :3]), max_side)
    spread = small.max(axis=2) - small.min(axis=2)  # per pixel: 0 for a gray one
    if float((spread > GRAY_NOISE).mean()) <= COLOURED_SHARE:
        return None
    return small.copy()  # a small photo is not resized: the result may be merged into its own buffer later


def side_by_side(gray: np.ndarray, colour: np.ndarray, original: np.ndarray | None = None, gap: int = 8) -> np.ndarray:
    """uint8 BGR ``gray | colour`` with a white gap, and ``| original`` when one is given (a colour photo: its
    truth); ``colour`` and ``original`` (any depth, alpha ignored) are fitted to ``gray``."""
    h, w = gray.shape[:2]
    panels = [gray]
    for picture in (colour, original):
        if picture is None:
            continue
        c = to_uint8(picture[..., :3])
        if c.shape[:2] != (h, w):
            c = cv2.resize(np.ascontiguousarray(c), (w, h), interpolation=cv2.INTER_AREA)
        panels += [np.full((h, gap, 3), 255, np.uint8), c]
    return np.concatenate(panels, axis=1)
