"""Keyframe colours carried along the motion: exact under a known translation, never across a cut, two keyframes
blended, shots without a keyframe untouched, and only one shot's frames held."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from unet_resnet.film.carry import FrameRecord, KeyframeCarrier
from unet_resnet.film.colorize import colorize_frames
from unet_resnet.film.temporal import Motion, TemporalSettings, TemporalSmoother
from unet_resnet.inference.colorizer import Colorizer

S = 32


def scene(width: int = 3 * S, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth colour strip wider than a frame: L/100 ``(S, width)`` and ab ``(2, S, width)``."""
    rng = np.random.default_rng(seed)
    rgb = cv2.resize(rng.random((6, 12, 3)).astype(np.float32), (width, S), interpolation=cv2.INTER_LINEAR)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    return lab[..., 0] / 100.0, lab[..., 1:].transpose(2, 0, 1) / 128.0


def pan(t: int, strip: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``t`` of a camera moving one pixel right per frame over ``strip``."""
    L, ab = strip
    return np.ascontiguousarray(L[:, t : t + S]), np.ascontiguousarray(ab[:, :, t : t + S])


def pan_motion(cut: bool = False) -> Motion:
    """The exact motion of :func:`pan`: pixel x of frame t is pixel x + 1 of frame t - 1; the last column is new."""
    backward = np.zeros((S, S, 2), np.float32)
    backward[..., 0] = 1.0
    reliable = np.ones((S, S), np.float32)
    reliable[:, -1] = 0.0
    return Motion(backward, -backward, reliable, cut)


def still_motion(cut: bool = False) -> Motion:
    zero = np.zeros((S, S, 2), np.float32)
    return Motion(zero, zero, np.full((S, S), 0.0 if cut else 1.0, np.float32), cut)


def run(carrier: KeyframeCarrier, records: list[FrameRecord]) -> list[FrameRecord]:
    out = [r for record in records for r in carrier.push(record)] + carrier.finish()
    assert [r.index for r in out] == [r.index for r in records]  # every frame once, in order
    return out


def test_colours_carried_exactly_under_an_integer_translation() -> None:
    strip = scene()
    frames = [pan(t, strip) for t in range(12)]
    automatic = np.zeros((2, S, S), np.float32)  # the model's guess: gray everywhere
    records = [FrameRecord(t, L, automatic.copy(), None if t == 0 else pan_motion()) for t, (L, _) in enumerate(frames)]
    out = run(KeyframeCarrier({0: frames[0][1]}), records)
    for record, (_, truth) in zip(out, frames, strict=True):
        seen = S - record.index - 2  # columns shown in the keyframe, away from the newly seen edge
        np.testing.assert_array_equal(record.ab[:, :, :seen], truth[:, :, :seen])
        assert np.abs(record.ab[:, :, -1]).max() < np.abs(truth[:, :, -1]).max() + 1.0  # the new edge: filled, valid

    # backward as well: the keyframe is the last frame, the colours are carried back to the first
    out = run(
        KeyframeCarrier({11: frames[11][1]}), [FrameRecord(r.index, r.L, automatic.copy(), r.motion) for r in records]
    )
    for record, (_, truth) in zip(out, frames, strict=True):
        first = 11 - record.index + 1  # columns of frame t still shown at frame 11
        np.testing.assert_array_equal(record.ab[:, :, first:], truth[:, :, first:])


def test_nothing_carried_across_a_cut() -> None:
    strip = scene()
    automatic = [np.full((2, S, S), 0.05 * t, np.float32) for t in range(10)]  # recognisable per frame

    def records() -> list[FrameRecord]:
        return [
            FrameRecord(t, pan(t, strip)[0], automatic[t].copy(), None if t == 0 else still_motion(cut=t == 5))
            for t in range(10)
        ]

    forward = run(KeyframeCarrier({2: pan(2, strip)[1]}), records())
    backward = run(KeyframeCarrier({7: pan(7, strip)[1]}), records())
    for t in range(10):
        if t >= 5:  # after the cut the keyframe at 2 is not seen
            np.testing.assert_array_equal(forward[t].ab, automatic[t])
        else:
            assert not np.array_equal(forward[t].ab, automatic[t])
        if t < 5:  # before the cut the keyframe at 7 is not seen
            np.testing.assert_array_equal(backward[t].ab, automatic[t])
        else:
            assert not np.array_equal(backward[t].ab, automatic[t])


def test_two_keyframes_blend_by_distance() -> None:
    L = np.full((S, S), 0.5, np.float32)
    first, last = np.full((2, S, S), 0.4, np.float32), np.full((2, S, S), -0.2, np.float32)
    records = [
        FrameRecord(t, L, np.zeros((2, S, S), np.float32), None if t == 0 else still_motion()) for t in range(11)
    ]
    carrier = KeyframeCarrier({0: first, 10: last}, TemporalSettings(carry=0.0))  # the blend alone
    out = run(carrier, records)
    for record in out:
        share = record.index / 10.0
        np.testing.assert_allclose(record.ab, (1 - share) * first + share * last, atol=1e-6)

    # steadied along the motion (the default): the keyframes themselves are exact, the frames between go between
    records = [FrameRecord(r.index, L, np.zeros((2, S, S), np.float32), r.motion) for r in records]
    out = run(KeyframeCarrier({0: first, 10: last}), records)
    np.testing.assert_array_equal(out[0].ab, first)
    np.testing.assert_array_equal(out[10].ab, last)
    means = [float(r.ab.mean()) for r in out]
    assert all(a > b for a, b in zip(means, means[1:], strict=False)), means
    assert -0.2 < means[5] < 0.4


def test_reliability_lost_leaves_the_model_colours_far_from_carried_ones() -> None:
    """Where the carry is lost everywhere (a flash the cut test does not take for a cut), the model's colours
    remain; where it is lost in part, the carried colours around correct them."""
    L = np.full((S, S), 0.5, np.float32)
    key = np.full((2, S, S), 0.3, np.float32)
    automatic = np.full((2, S, S), -0.1, np.float32)
    lost = Motion(np.zeros((S, S, 2), np.float32), np.zeros((S, S, 2), np.float32), np.zeros((S, S), np.float32), False)
    half = Motion(lost.backward, lost.forward, np.ones((S, S), np.float32), False)
    half.reliable[:, S // 2 :] = 0.0
    settings = TemporalSettings(carry=0.0)
    out = run(
        KeyframeCarrier({0: key}, settings),
        [FrameRecord(0, L, automatic.copy(), None), FrameRecord(1, L, automatic.copy(), lost)],
    )
    np.testing.assert_array_equal(out[1].ab, automatic)
    out = run(
        KeyframeCarrier({0: key}, settings),
        [FrameRecord(0, L, automatic.copy(), None), FrameRecord(1, L, automatic.copy(), half)],
    )
    np.testing.assert_allclose(out[1].ab[:, :, : S // 2 - 2], 0.3, atol=1e-6)  # carried
    filled = out[1].ab[:, :, S // 2 + 2 :]
    assert (filled > -0.1 + 0.1).all() and (filled <= 0.3 + 1e-6).all()  # a flat region: corrected toward it


def test_frames_held_are_at_most_one_shot() -> None:
    """A long film with a cut every 10 frames and keyframes late in some shots: never more than a shot waits."""
    L = np.full((S, S), 0.5, np.float32)
    keys = {t: np.full((2, S, S), 0.2, np.float32) for t in (9, 48, 95, 399)}
    carrier = KeyframeCarrier(keys)
    most = 0
    out = []
    for t in range(400):
        motion = None if t == 0 else still_motion(cut=t % 10 == 0)
        out += carrier.push(FrameRecord(t, L, np.zeros((2, S, S), np.float32), motion))
        most = max(most, carrier.held)
    out += carrier.finish()
    assert len(out) == 400 and carrier.most_held == most
    assert 9 <= most <= 10


# ------------------------------------------------------------------------------------------ with a model, on frames
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model(vivid_ckpt: Path) -> Colorizer:
    return Colorizer.load(vivid_ckpt, "cpu")


def two_shots(sample_paths: list[Path]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Colour frames (RGB) of two pans over two photos, 6 frames each, and their gray film (BGR)."""
    from unet_resnet.evaluation.clips import camera_clip, film_of

    frames = []
    for i in (0, 5):
        photo = cv2.resize(cv2.cvtColor(cv2.imread(str(sample_paths[i])), cv2.COLOR_BGR2RGB), (192, 144))
        frames += camera_clip(photo, 6, (96, 72), "pan", 2.0).frames
    film = film_of(frames, np.random.default_rng(0), grain=2.0, flicker=0.0)
    return frames, [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in film]


@pytest.mark.parametrize("temporal", [True, False])
def test_shots_without_a_keyframe_are_todays_output(model: Colorizer, sample_paths: list[Path], temporal: bool) -> None:
    truth, film = two_shots(sample_paths)
    from unet_resnet.film.keyframes import keyframe_ab

    today = list(colorize_frames(model, [f.copy() for f in film], 0, TemporalSmoother() if temporal else None, 4))
    carrier = KeyframeCarrier({8: keyframe_ab(truth[8], model.size)})
    smoother = TemporalSmoother() if temporal else None
    keyed = list(colorize_frames(model, [f.copy() for f in film], 0, smoother, 4, carrier))
    assert len(keyed) == 12
    for t in range(6):  # the first shot has no keyframe
        np.testing.assert_array_equal(keyed[t], today[t])
    for t in range(6, 12):  # the second has one: closer to the true colours than today's
        error_keyed = np.abs(keyed[t].astype(int) - cv2.cvtColor(truth[t], cv2.COLOR_RGB2BGR)).mean()
        error_today = np.abs(today[t].astype(int) - cv2.cvtColor(truth[t], cv2.COLOR_RGB2BGR)).mean()
        assert error_keyed < error_today, (t, error_keyed, error_today)


def test_colorize_frames_holds_at_most_a_shot(model: Colorizer, sample_paths: list[Path]) -> None:
    """Frames taken in minus frames given out, over a film of 8 shots of 6 frames with a keyframe at each shot's
    end: never more than one shot and a model batch."""
    _, film = two_shots(sample_paths)
    from unet_resnet.film.keyframes import keyframe_ab

    pulled = [0]

    def frames() -> Iterator[np.ndarray]:
        for _ in range(4):
            for f in film:
                pulled[0] += 1
                yield f.copy()

    gray = cv2.cvtColor(film[0], cv2.COLOR_BGR2RGB)
    keys = {t: keyframe_ab(gray, model.size) for t in range(5, 48, 6)}
    carrier = KeyframeCarrier(keys)
    given, most = 0, 0
    for _ in colorize_frames(model, frames(), 0, TemporalSmoother(), 4, carrier):
        given += 1
        most = max(most, pulled[0] - given)
    assert given == 48
    assert carrier.most_held <= 6 and most <= 6 + 4
