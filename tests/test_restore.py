"""Full-resolution restoration of L: detail kept where nothing was repaired, repairs taken from the model."""

from __future__ import annotations

import cv2
import numpy as np

from unet_resnet.restore import repair_mask, restore_lightness


def textured(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.uniform(0.2, 0.8, (8, 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(base + rng.normal(0, 0.03, (h, w)).astype(np.float32), 0, 1)


def test_identity_model_keeps_the_full_resolution_detail() -> None:
    L = textured(600, 400)
    L_pred = cv2.resize(L, (128, 128), interpolation=cv2.INTER_AREA)  # the model changed nothing
    out = restore_lightness(L, L_pred)
    assert out.shape == L.shape
    assert np.abs(out - L).mean() < 0.002  # not the blurry upsampled prediction


def test_global_correction_is_applied_with_detail_kept() -> None:
    L = textured(300, 500)
    L_pred = cv2.resize(L, (128, 128), interpolation=cv2.INTER_AREA) + 0.1  # e.g. exposure fixed
    out = restore_lightness(L, np.clip(L_pred, 0, 1))
    assert abs(float((out - L).mean()) - 0.1) < 0.01
    # high frequencies of the original survive
    hf = L - cv2.GaussianBlur(L, (0, 0), 3)
    hf_out = out - cv2.GaussianBlur(out, (0, 0), 3)
    assert np.corrcoef(hf.ravel(), hf_out.ravel())[0, 1] > 0.95


def test_local_repair_replaces_the_damaged_pixels() -> None:
    L = textured(512, 512)
    damaged = L.copy()
    cv2.line(damaged, (50, 40), (460, 470), 1.0, 3)  # a bright scratch
    L_pred = cv2.resize(L, (128, 128), interpolation=cv2.INTER_AREA)  # a model that removed it
    out = restore_lightness(damaged, L_pred)
    on_scratch = np.zeros_like(L, dtype=bool)
    cv2.line(on_scratch.view(np.uint8), (50, 40), (460, 470), 1, 3)
    assert np.abs(out - L)[on_scratch].mean() < 0.5 * np.abs(damaged - L)[on_scratch].mean()
    assert repair_mask(cv2.resize(damaged, (128, 128), interpolation=cv2.INTER_AREA) - L_pred).max() > 0.5
