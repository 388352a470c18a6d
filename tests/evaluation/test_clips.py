"""Test clips with known motion, and Lai et al.'s warp error on constructed pairs with known values."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import rgb_image

from unet_resnet.evaluation.clips import MOTIONS, camera_clip, film_of, warp_error, warp_to


@pytest.mark.parametrize("motion", MOTIONS)
def test_true_flow_maps_each_frame_onto_the_previous(motion: str) -> None:
    rng = np.random.default_rng(4)  # smooth at the pixel scale, textured at the scale of the motion
    texture = cv2.resize(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), (320, 240), interpolation=cv2.INTER_CUBIC)
    clip = camera_clip(texture, 4, (96, 72), motion, speed=3.0)
    for t in (1, 2, 3):
        flow, mask = clip.flows[t], clip.masks[t]
        assert flow is not None and mask is not None and mask.mean() > 0.8
        back = warp_to(clip.frames[t - 1].astype(np.float32), flow)
        error = np.abs(back - clip.frames[t].astype(np.float32))[mask].mean()
        assert error < 1.0, (motion, t, error)  # the smooth test image: only interpolation error remains
        assert np.abs(clip.frames[t].astype(np.float32) - clip.frames[t - 1]).mean() > 3 * error  # it did move


def test_warp_error_known_values() -> None:
    frame = np.full((8, 8, 3), 100, np.uint8)
    shifted = frame.copy()
    shifted[..., 0] += 51  # +0.2 in red
    zero = np.zeros((8, 8, 2), np.float32)
    mask = np.ones((8, 8), bool)
    assert warp_error([frame, frame], [None, zero], [None, mask]) == 0.0
    assert warp_error([frame, shifted], [None, zero], [None, mask]) == pytest.approx(0.04, abs=1e-6)
    mask[:, 4:] = False
    flicker = frame.copy()
    flicker[:, 4:] = 0  # only where masked: no error counted
    assert warp_error([frame, flicker], [None, zero], [None, mask]) == 0.0
    gray = np.full((8, 8, 3), 120, np.uint8)
    assert warp_error([frame, gray], [None, zero], [None, mask], "ab") < 0.01  # a lightness change is not colour


def test_film_is_gray_with_flicker() -> None:
    frames = [rgb_image(32, 32, seed=1)] * 3
    film = film_of(frames, np.random.default_rng(0), grain=0.0, flicker=0.1)
    assert all(np.array_equal(f[..., 0], f[..., 2]) for f in film)
    assert len({int(f.sum()) for f in film}) == 3
