"""The batched sRGB -> Lab of the training loader: torch (any device) against OpenCV's float conversion."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from unet_resnet.data.dataset import bgr8_to_tensors
from unet_resnet.data.device_lab import lut_lab, opencv_lab
from unet_resnet.data.imageio import list_images

TOLERANCE = 0.05  # Lab units (L in [0, 100], a and b in about [-128, 127])


def opencv_reference(rgb8: np.ndarray) -> np.ndarray:
    """``cv2.cvtColor`` on float32 RGB in [0, 1], as the float pipeline calls it: Lab ``(..., 3)``."""
    return cv2.cvtColor(np.multiply(rgb8, 1.0 / 255.0, dtype=np.float32), cv2.COLOR_RGB2Lab)


def torch_lab(rgb8: np.ndarray) -> np.ndarray:
    """:func:`lut_lab` of one RGB photo, back in Lab units ``(H, W, 3)``."""
    L, ab = lut_lab(torch.from_numpy(rgb8)[None], channels="rgb")
    return torch.cat([L[0] * 100.0, ab[0] * 128.0]).permute(1, 2, 0).numpy()


def max_error(rgb8: np.ndarray) -> np.ndarray:
    ref = opencv_reference(rgb8)
    ref[..., 0] = np.clip(ref[..., 0], 0, 100)  # the network's tensors are clipped to their ranges
    ref[..., 1:] = np.clip(ref[..., 1:], -128, 128)
    return np.abs(torch_lab(rgb8) - ref).reshape(-1, 3).max(axis=0)


def test_every_gray_and_random_colours_match_opencv() -> None:
    rng = np.random.default_rng(0)
    grays = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    corners = np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)], np.uint8)
    colours = np.concatenate([grays, corners, rng.integers(0, 256, (256 * 256 - 264, 3), dtype=np.uint8)])
    err = max_error(colours.reshape(256, 256, 3))
    assert (err <= TOLERANCE).all(), f"largest |torch - OpenCV| per L, a, b: {err}"


def test_real_photos_match_opencv(shared_data: Path) -> None:
    for path in list_images(shared_data / "val")[:6]:
        bgr = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_REDUCED_COLOR_2)
        err = max_error(np.ascontiguousarray(bgr[..., ::-1]))
        assert (err <= TOLERANCE).all(), f"{path.name}: largest |torch - OpenCV| per L, a, b: {err}"


def test_channel_order_and_shapes() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (2, 8, 12, 3), dtype=np.uint8)
    L, ab = lut_lab(torch.from_numpy(rgb), channels="rgb")
    L2, ab2 = lut_lab(torch.from_numpy(np.ascontiguousarray(rgb[..., ::-1])), channels="bgr")
    assert L.shape == (2, 1, 8, 12) and ab.shape == (2, 2, 8, 12)
    assert torch.equal(L, L2) and torch.equal(ab, ab2)
    assert 0 <= L.min() and L.max() <= 1 and -1 <= ab.min() and ab.max() <= 1
    with pytest.raises(ValueError, match="uint8"):
        lut_lab(torch.zeros(1, 4, 4, 3))


def test_cpu_batches_are_bit_for_bit_the_photo_by_photo_pipeline(sample_paths: list[Path]) -> None:
    photos = [cv2.resize(cv2.imread(str(p)), (48, 40), interpolation=cv2.INTER_AREA) for p in sample_paths[:3]]
    L, ab = opencv_lab(torch.from_numpy(np.stack(photos)))
    for i, bgr in enumerate(photos):
        L1, ab1 = bgr8_to_tensors(bgr)
        assert torch.equal(L[i], L1) and torch.equal(ab[i], ab1)
