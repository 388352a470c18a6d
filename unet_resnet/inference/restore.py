"""Restoration at full resolution: the model's L (at its render size) joined with the photo's own detail.

A restoration generator predicts L at ``size x size``; upsampling that alone would blur a large photo. So the
output keeps the original full-resolution L wherever the model found nothing to repair, corrected only by the
model's low-frequency change (fading, uneven exposure); where the model repaired something local (a scratch, dust,
a tear: a large difference between its L and the input's L at render size), the upsampled restored L is used. The
two are blended with a soft mask so no seam shows.
"""

from __future__ import annotations

import cv2
import numpy as np

DAMAGE_THRESHOLD = 0.06
"""|restored L - input L| (L/100 units) above which a pixel at render size counts as repaired locally."""


def repair_mask(correction: np.ndarray, threshold: float = DAMAGE_THRESHOLD) -> np.ndarray:
    """Where the model changed L locally: ``(s, s)`` float32 in ``[0, 1]``, dilated and feathered.

    Changes that are smooth over the image (fading, exposure) are removed first with a wide blur, so only local
    repairs count.
    """
    s = correction.shape[0]
    smooth = cv2.GaussianBlur(correction, (0, 0), max(2.0, s / 32))
    local = np.abs(correction - smooth) > threshold
    mask = cv2.dilate(local.astype(np.float32), np.ones((3, 3), np.uint8))
    return np.clip(cv2.GaussianBlur(mask, (0, 0), 1.0) * 1.5, 0.0, 1.0)


def restore_lightness(L_full: np.ndarray, L_pred: np.ndarray, threshold: float = DAMAGE_THRESHOLD) -> np.ndarray:
    """Full-resolution restored L.

    ``L_full``: the photo's L/100, float32 ``(H, W)`` in ``[0, 1]``. ``L_pred``: the model's restored L/100 at render
    size ``(s, s)``. Returns float32 ``(H, W)`` in ``[0, 1]``.
    """
    h, w = L_full.shape
    s = L_pred.shape[0]
    shrink = cv2.INTER_AREA if (h > s or w > s) else cv2.INTER_LINEAR
    L_small = cv2.resize(L_full, (L_pred.shape[1], s), interpolation=shrink)
    correction = (L_pred - L_small).astype(np.float32)
    mask_small = repair_mask(correction, threshold)
    # Outside repairs: original detail plus the smooth part of the model's change.
    smooth = cv2.GaussianBlur(correction, (0, 0), max(2.0, s / 32))
    kept = L_full + cv2.resize(smooth, (w, h), interpolation=cv2.INTER_LINEAR)
    repaired = cv2.resize(L_pred.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    mask = cv2.resize(mask_small, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(mask * repaired + (1.0 - mask) * kept, 0.0, 1.0).astype(np.float32)
