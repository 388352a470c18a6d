"""Steady colours: lower warp error than frame by frame on a camera pan, and a fresh start at a scene cut."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from unet_resnet.evaluation.clips import camera_clip, film_of, warp_error
from unet_resnet.film.colorize import colorize_frames
from unet_resnet.film.temporal import TemporalSmoother, consistent
from unet_resnet.inference.colorizer import Colorizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model(vivid_ckpt: Path) -> Colorizer:
    return Colorizer.load(vivid_ckpt, "cpu")


def photo(sample_paths: list[Path], i: int, size: tuple[int, int] = (192, 144)) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(cv2.imread(str(sample_paths[i])), cv2.COLOR_BGR2RGB), size)


def colour(model: Colorizer, film: list[np.ndarray], smoother: TemporalSmoother | None) -> list[np.ndarray]:
    bgr = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in film]
    return [cv2.cvtColor(o, cv2.COLOR_BGR2RGB) for o in colorize_frames(model, bgr, 0, smoother, batch_size=4)]


def test_temporal_lowers_warp_error_on_a_pan(model: Colorizer, sample_paths: list[Path]) -> None:
    clip = camera_clip(photo(sample_paths, 0), 12, (96, 72), "pan", 2.0)
    film = film_of(clip.frames, np.random.default_rng(0), grain=3.0, flicker=0.02)
    smoother = TemporalSmoother()
    steady = warp_error(colour(model, film, smoother), clip.flows, clip.masks, "ab")
    independent = warp_error(colour(model, film, None), clip.flows, clip.masks, "ab")
    assert smoother.cuts == 0 and smoother.reliable > 0.6  # the pan is followed, not taken for cuts
    assert steady < 0.5 * independent, (steady, independent)


def test_scene_cut_restarts_from_the_new_prediction(model: Colorizer, sample_paths: list[Path]) -> None:
    first = camera_clip(photo(sample_paths, 0), 6, (96, 72), "pan").frames
    second = camera_clip(photo(sample_paths, 5), 6, (96, 72), "pan").frames
    film = film_of(first + second, np.random.default_rng(1), grain=2.0, flicker=0.0)
    smoother = TemporalSmoother()
    steady, independent = colour(model, film, smoother), colour(model, film, None)
    assert smoother.cuts == 1
    np.testing.assert_array_equal(steady[6], independent[6])  # the cut frame: the model's own colours
    assert not np.array_equal(steady[5], independent[5])  # within a scene: blended
    assert not np.array_equal(steady[7], independent[7])  # and again after the cut


def test_forward_backward_check_flags_disagreeing_flow() -> None:
    backward = np.full((8, 8, 2), 2.0, np.float32)
    assert consistent(backward, -backward).all()
    assert not consistent(backward, backward).any()


def test_frame_by_frame_when_carry_is_zero(model: Colorizer, sample_paths: list[Path]) -> None:
    from unet_resnet.film.temporal import TemporalSettings

    film = film_of(camera_clip(photo(sample_paths, 0), 4, (96, 72), "zoom").frames, np.random.default_rng(2), 2.0, 0)
    off = colour(model, film, TemporalSmoother(TemporalSettings(carry=0.0)))
    for a, b in zip(off, colour(model, film, None), strict=True):
        np.testing.assert_array_equal(a, b)
