"""Spreading colour hints over their regions: met at the hint, carried along flat regions, stopped by edges."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from unet_resnet.cli.infer import main as infer_main
from unet_resnet.data.color import AB_SCALE
from unet_resnet.hints.points import HintPoint, color_ab
from unet_resnet.hints.spread import AB_GUIDE, COLOUR_BLUR, edge_weights, spread_hints
from unet_resnet.inference.colorizer import Colorizer

SIZE = 64


def two_halves() -> np.ndarray:
    """L/100 of a dark left half and a light right half: one strong vertical edge at x = 32."""
    L = np.full((SIZE, SIZE), 0.3, np.float32)
    L[:, SIZE // 2 :] = 0.8
    return L


def hint_map(*hints: tuple[int, int, float, float], side: int = 3) -> np.ndarray:
    """Hint map (3, SIZE, SIZE) with a ``side``-pixel square at each ``(x, y, a, b)`` (ab / 128)."""
    m = np.zeros((3, SIZE, SIZE), np.float32)
    for x, y, a, b in hints:
        m[:, y : y + side, x : x + side] = np.array([a, b, 1.0], np.float32)[:, None, None]
    return m


def textured_disc(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """L/100 of a light disc (radius 20, centre (40, 30)) on a dark ground, both with a grain of +-3 L units, and
    the disc's mask: a region bounded by an edge all round, textured inside."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    disc = (xx - 40) ** 2 + (yy - 30) ** 2 < 20**2
    L = np.where(disc, 0.7, 0.3) + rng.uniform(-0.03, 0.03, (SIZE, SIZE))
    return L.astype(np.float32), disc


def test_a_hint_fills_its_region_up_to_the_edge_and_not_beyond() -> None:
    L, disc = textured_disc()
    ab = np.zeros((2, SIZE, SIZE), np.float32)
    out = spread_hints(ab, L, hint_map((26, 28, 0.4, -0.2)))  # near the disc's left rim
    edge_band = cv2.dilate(disc.astype(np.uint8), np.ones((5, 5))) != cv2.erode(disc.astype(np.uint8), np.ones((5, 5)))
    inside, outside = disc & ~edge_band, ~disc & ~edge_band
    assert out[0][inside].min() > 0.9 * 0.4 and out[1][inside].max() < 0.9 * -0.2  # the whole disc, across its grain
    assert np.abs(out[:, outside]).max() < 0.05 * 0.4  # the ground beyond the edge keeps the model's colours


def test_each_hint_pixel_gets_exactly_the_colour_asked() -> None:
    rng = np.random.default_rng(2)
    ab = rng.uniform(-0.3, 0.3, (2, SIZE, SIZE)).astype(np.float32)
    L, _ = textured_disc()
    hints = hint_map((26, 28, 0.4, -0.2), (40, 30, -0.1, 0.5), (5, 5, 0.2, 0.2), (60, 60, -0.5, -0.5), side=2)
    out = spread_hints(ab, L, hints)
    mask = hints[2] > 0
    np.testing.assert_array_equal(out[:, mask], hints[:2, mask])


def test_two_hints_in_one_region_blend_and_two_regions_keep_their_own() -> None:
    L = two_halves()
    ab = np.zeros((2, SIZE, SIZE), np.float32)
    out = spread_hints(ab, L, hint_map((4, 30, 0.4, 0.0), (24, 30, -0.4, 0.0)))  # both in the left half
    row = out[0, 31, 5:25]
    assert np.all(np.diff(row) <= 1e-6) and row[0] > 0.35 and row[-1] < -0.35  # from one colour to the other
    assert np.abs(out[:, :, 36:]).max() < 0.02  # the right half is left alone
    out = spread_hints(ab, L, hint_map((8, 30, 0.4, 0.1), (50, 10, -0.3, 0.2)))  # one hint in each half
    for half, want in ((np.s_[:, :, :28], (0.4, 0.1)), (np.s_[:, :, 36:], (-0.3, 0.2))):
        np.testing.assert_allclose(out[half].reshape(2, -1).mean(axis=1), want, atol=0.03)  # each its own colour


def test_the_correction_is_the_minimiser_of_the_energy() -> None:
    """Coarse to fine, the solver reaches the optimum: the system's residual vanishes at every free pixel."""
    L, _ = textured_disc(seed=3)
    ab = np.zeros((2, SIZE, SIZE), np.float32)
    hints = hint_map((26, 28, 0.4, -0.2), (10, 50, -0.3, 0.3), (45, 8, 0.1, 0.5))
    out = spread_hints(ab, L, hints, spread=1.0)
    guide = np.stack([L, *(AB_GUIDE * cv2.GaussianBlur(c, (0, 0), COLOUR_BLUR) for c in ab)])
    wx, wy = (w.astype(np.float64) for w in edge_weights(guide))
    mu = 1.0 / SIZE**2
    R = out.astype(np.float64)
    residual = mu * R
    residual[:, :, 1:] += wx * (R[:, :, 1:] - R[:, :, :-1])
    residual[:, :, :-1] += wx * (R[:, :, :-1] - R[:, :, 1:])
    residual[:, 1:, :] += wy * (R[:, 1:, :] - R[:, :-1, :])
    residual[:, :-1, :] += wy * (R[:, :-1, :] - R[:, 1:, :])
    free = hints[2] == 0
    assert np.abs(residual[:, free]).max() < 1e-3 * np.abs(R).max()


def test_hints_correct_the_model_instead_of_replacing_it() -> None:
    rng = np.random.default_rng(0)
    ab = rng.uniform(-0.2, 0.2, (2, SIZE, SIZE)).astype(np.float32)
    L = two_halves()
    out = spread_hints(ab, L, hint_map((8, 30, 0.3, 0.1), (50, 10, -0.3, 0.2)))
    for x, y, want in ((8, 30, (0.3, 0.1)), (50, 10, (-0.3, 0.2))):
        got = out[:, y : y + 3, x : x + 3].reshape(2, -1).mean(axis=1)
        assert got == pytest.approx(want, abs=1e-6)  # each hint met, the other one does not pull it away
    shift = out - ab  # the model's texture kept: a smooth correction, not a flat fill
    assert np.std(out[0, 20:40, 2:14]) == pytest.approx(np.std(ab[0, 20:40, 2:14]), rel=0.2)
    assert np.abs(np.diff(shift[0, 40, 2:14])).max() < 0.05


def test_nothing_to_spread() -> None:
    ab = np.random.default_rng(1).uniform(-0.5, 0.5, (2, SIZE, SIZE)).astype(np.float32)
    np.testing.assert_array_equal(spread_hints(ab, two_halves(), np.zeros((3, SIZE, SIZE), np.float32)), ab)
    np.testing.assert_array_equal(spread_hints(ab, two_halves(), hint_map((8, 8, 0.5, 0.5)), spread=0), ab)


def test_a_model_trained_without_hints_follows_them(tmp_path: Path, tiny_generator_ckpt: Path) -> None:
    """Spreading lets any model take hints: the written photo has the requested colour at the point."""
    photo = np.full((48, 64, 3), 128, np.uint8)
    photo[:, 40:] = 220  # a light right part
    src = tmp_path / "in" / "wall.png"
    src.parent.mkdir()
    cv2.imwrite(str(src), photo)
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"wall.png": [{"x": 10, "y": 20, "color": "#3060c0", "size": 5}]}))
    args = ["--in", str(src.parent), "--ckpt", str(tiny_generator_ckpt), "--device", "cpu", "--quiet"]
    args += ["--hint-spread", "1"]
    assert infer_main([*args, "--out", str(tmp_path / "out"), "--hints", str(hints)]) == 0
    out = cv2.imread(str(tmp_path / "out" / "wall.png")).astype(np.float32) / 255.0
    lab = cv2.cvtColor(out, cv2.COLOR_BGR2Lab)
    want = np.asarray(color_ab("#3060c0")) * AB_SCALE
    assert np.hypot(*(lab[20, 10, 1:] - want)) < 4  # the point has the colour asked for (its own L kept)
    assert np.hypot(*(lab[10, 30, 1:] - want)) < 0.5 * np.hypot(*want)  # ...and so does the rest of the dark part
    model = Colorizer.load(tiny_generator_ckpt, "cpu", hint_spread=1)
    auto = model.colorize([photo[..., ::-1].astype(np.float32) / 255.0])[0]
    auto_lab = cv2.cvtColor(auto, cv2.COLOR_RGB2Lab)
    moved_at_point = np.hypot(*(lab[20, 10, 1:] - auto_lab[20, 10, 1:]))
    moved_beyond = np.hypot(*(lab[:, 50:, 1:] - auto_lab[:, 50:, 1:]).transpose(2, 0, 1)).max()
    assert moved_beyond < 0.25 * moved_at_point  # the light part, beyond the edge, keeps most of its own colour
    hinted = model.colorize([photo[..., ::-1].astype(np.float32) / 255.0], hints=[[HintPoint(10, 20, "#3060c0", 5)]])
    assert np.abs(hinted[0] - out[..., ::-1]).max() < 2 / 255  # the Python API gives what infer writes


@pytest.mark.parametrize(("value", "words"), [("5", "between 0 (off) and 4"), ("far", "'far' is not a number")])
def test_bad_spread_is_refused(value: str, words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        infer_main(["--in", "a", "--out", "b", "--hint-spread", value])
    assert stop.value.code == 2 and words in capsys.readouterr().err
    with pytest.raises(ValueError, match="between 0 \\(off\\) and 4"):
        Colorizer.__init__(object.__new__(Colorizer), None, {}, hint_spread=-1)  # type: ignore[arg-type]
