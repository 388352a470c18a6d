"""The Lab colour pipeline (OpenCV) and its normalisation.

Conventions used everywhere in the project:

- RGB images are ``float32`` arrays ``(H, W, 3)`` in ``[0, 1]`` (sRGB, D65), or ``uint8`` where stated.
- CIE Lab from ``cv2.cvtColor`` on float32 input: ``L`` in ``[0, 100]``, ``a`` and ``b`` roughly in ``[-128, 127]``.
- Network tensors: ``L / 100`` in ``[0, 1]`` with shape ``(1, H, W)``; ``ab / 128`` in ``[-1, 1]`` with shape
  ``(2, H, W)``.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

L_SCALE = 100.0
AB_SCALE = 128.0


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` float RGB in ``[0, 1]`` -> float32 Lab (``L`` in ``[0, 100]``)."""
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """float32 Lab ``(H, W, 3)`` -> RGB float32 in ``[0, 1]``, clipped into the sRGB gamut."""
    rgb = cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """float RGB in ``[0, 1]`` -> uint8 with rounding."""
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def normalize_lab(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lab ``(H, W, 3)`` -> ``(L / 100, ab / 128)`` as ``(H, W)`` in ``[0, 1]`` and ``(H, W, 2)`` in ``[-1, 1]``."""
    L = np.clip(lab[..., 0] / L_SCALE, 0.0, 1.0)
    ab = np.clip(lab[..., 1:] / AB_SCALE, -1.0, 1.0)
    return L.astype(np.float32), ab.astype(np.float32)


def rgb_to_tensors(rgb: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """float RGB ``(H, W, 3)`` in ``[0, 1]`` -> ``L (1, H, W)`` in ``[0, 1]`` and ``ab (2, H, W)`` in ``[-1, 1]``."""
    L, ab = normalize_lab(rgb_to_lab(rgb))
    return torch.from_numpy(L)[None], torch.from_numpy(np.ascontiguousarray(ab.transpose(2, 0, 1)))


def tensors_to_rgb(L: torch.Tensor, ab: torch.Tensor) -> np.ndarray:
    """``L (1, H, W)`` in ``[0, 1]`` and ``ab (2, H, W)`` in ``[-1, 1]`` -> uint8 RGB ``(H, W, 3)``."""
    lab = torch.cat([L.float() * L_SCALE, ab.float().clamp(-1, 1) * AB_SCALE], dim=0)
    return to_uint8(lab_to_rgb(lab.permute(1, 2, 0).cpu().numpy()))


def gray_rgb(rgb: np.ndarray) -> np.ndarray:
    """The photo with its colour removed (same L, ``a = b = 0``), float RGB in ``[0, 1]``."""
    lab = rgb_to_lab(rgb)
    lab[..., 1:] = 0.0
    return lab_to_rgb(lab)


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colorfulness on 0-255 RGB (float or uint8 input; floats are read as ``[0, 1]``).

    ``sigma_rgyb + 0.3 * mu_rgyb`` with ``rg = |R - G|`` and ``yb = |(R + G) / 2 - B|``. A gray image scores 0;
    ordinary colour photos score 20-100; the original project dropped photos below 10 as grayscale.
    """
    x = rgb.astype(np.float64)
    if rgb.dtype != np.uint8:
        x = x * 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    rg = np.abs(r - g)
    yb = np.abs(0.5 * (r + g) - b)
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
