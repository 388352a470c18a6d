"""Hints a person gives: the points parser, the hints file of ``infer --hints``, the Colorizer API, end to end."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import rgb_image, write_tiny_generator

from unet_resnet.cli.infer import main as infer_main
from unet_resnet.data.imageio import read_photo
from unet_resnet.hints.points import HintError, HintPoint, color_ab, hint_map, load_hints_file, parse_points
from unet_resnet.inference.colorizer import Colorizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def hint_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random hint generator whose full-resolution block reacts strongly to the hints."""
    path = tmp_path_factory.mktemp("hint") / "hint_G.pt"
    return write_tiny_generator(path, seed=2, hints=True, head_scale=30.0)


# ------------------------------------------------------------------------------------------------------ parsing
def test_good_points_parse() -> None:
    points = parse_points([{"x": 10, "y": 4.5, "color": "#2A5db0"}, {"x": 0, "y": 0, "color": "#000000", "size": 5}],
                          "p.jpg", 20, 10)  # fmt: skip
    assert points == [HintPoint(10, 4.5, "#2A5db0"), HintPoint(0, 0, "#000000", 5)]
    assert color_ab("#808080") == pytest.approx((0.0, 0.0), abs=1e-3)
    a, b = color_ab("#ff0000")
    assert a > 0.5 and b > 0.3  # red: strongly +a, +b


@pytest.mark.parametrize(
    ("items", "problem"),
    [
        ({"x": 1}, "expected a list of points"),
        ([[1, 2]], "point 0: expected an object"),
        ([{"x": 1, "y": 1}], "point 0: missing color"),
        ([{"x": 1, "y": 1, "color": "#000000", "colour": "#fff"}], "point 0: unknown key 'colour'"),
        ([{"x": 1, "y": 1, "color": "#000000"}, {"x": 20, "y": 1, "color": "#000000"}], r"point 1: x=20 is outside"),
        ([{"x": 1, "y": -1, "color": "#000000"}], r"point 0: y=-1 is outside the image \(height 10"),
        ([{"x": True, "y": 1, "color": "#000000"}], "point 0: x must be a number"),
        ([{"x": "3", "y": 1, "color": "#000000"}], "point 0: x must be a number"),
        ([{"x": 1, "y": 1, "color": "#12345"}], "point 0: colour '#12345' is not of the form #rrggbb"),
        ([{"x": 1, "y": 1, "color": "blue"}], "point 0: colour 'blue'"),
        ([{"x": 1, "y": 1, "color": "#gg0000"}], "point 0: colour '#gg0000'"),
        ([{"x": 1, "y": 1, "color": 255}], "point 0: colour 255"),
        ([{"x": 1, "y": 1, "color": "#000000", "size": 0}], "point 0: size must be a whole number"),
        ([{"x": 1, "y": 1, "color": "#000000", "size": 2.5}], "point 0: size must be a whole number"),
    ],
)
def test_bad_points_name_the_photo_the_point_and_the_problem(items: object, problem: str) -> None:
    with pytest.raises(HintError, match=f"^beach/dress.jpg: {problem}"):
        parse_points(items, "beach/dress.jpg", 20, 10)


def test_hint_map_puts_the_colour_at_the_point_at_model_size() -> None:
    # a 400x200 photo at model size 64: pixel (300, 50) is model pixel (48, 16)
    m = hint_map([HintPoint(300, 50, "#2a5db0", 3)], 400, 200, 64)
    assert m.shape == (3, 64, 64)
    ys, xs = np.nonzero(m[2])
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (15, 17, 47, 49)
    a, b = color_ab("#2a5db0")
    assert m[0, 16, 48] == pytest.approx(a) and m[1, 16, 48] == pytest.approx(b)
    corner = hint_map([HintPoint(399.9, 199.9, "#ffffff")], 400, 200, 64)  # default size 3, moved inside
    assert corner[2, 61:, 61:].all() and corner[2].sum() == 9


# ------------------------------------------------------------------------------------------------- hints files
def rotated_jpeg(h: int, w: int) -> bytes:
    """A JPEG stored ``w`` wide and ``h`` high whose EXIF orientation 6 shows it ``h`` wide and ``w`` high."""
    ok, enc = cv2.imencode(".jpg", rgb_image(h, w, seed=3))
    assert ok
    entry = struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0)  # IFD0 with the Orientation tag alone
    body = b"Exif\x00\x00II" + struct.pack("<HIH", 42, 8, 1) + entry + struct.pack("<I", 0)
    return enc.tobytes()[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + enc.tobytes()[2:]


def write_photos(root: Path) -> dict[str, Path]:
    (root / "beach").mkdir(parents=True)
    cv2.imwrite(str(root / "beach" / "dress.png"), rgb_image(30, 50, seed=1))
    (root / "rotated.jpg").write_bytes(rotated_jpeg(24, 36))  # stored 36 wide, 24 high; shown 24 wide, 36 high
    return {"beach/dress.png": root / "beach" / "dress.png", "rotated.jpg": root / "rotated.jpg"}


def test_hints_file_uses_the_oriented_photo(tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "in")
    assert read_photo(photos["rotated.jpg"]).size == (24, 36)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"rotated.jpg": [{"x": 20, "y": 30, "color": "#2a5db0"}], "beach/dress.png": []}))
    hints = load_hints_file(good, photos)
    assert hints == {photos["rotated.jpg"]: [HintPoint(20, 30, "#2a5db0")], photos["beach/dress.png"]: []}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rotated.jpg": [{"x": 30, "y": 10, "color": "#2a5db0"}]}))  # inside as stored only
    with pytest.raises(HintError, match=r"photo 'rotated.jpg': point 0: x=30 is outside the image \(width 24"):
        load_hints_file(bad, photos)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"beach/dres.png": []}', r"photo 'beach/dres.png': no such photo .*did you mean 'beach/dress.png'"),
        ("[1, 2]", "expected an object"),
        ('{"rotated.jpg": [}', "not valid JSON"),
    ],
)
def test_bad_hints_files_are_refused(tmp_path: Path, text: str, problem: str) -> None:
    photos = write_photos(tmp_path / "in")
    path = tmp_path / "h.json"
    path.write_text(text)
    with pytest.raises(HintError, match=f"hints file {path}: {problem}"):
        load_hints_file(path, photos)
    with pytest.raises(HintError, match="cannot be read"):
        load_hints_file(tmp_path / "missing.json", photos)


# --------------------------------------------------------------------------------------------------- Colorizer
def test_colorizer_with_and_without_hints(hint_ckpt: Path, tiny_generator_ckpt: Path) -> None:
    model = Colorizer.load(hint_ckpt, "cpu")
    assert model.takes_hints and not model.restores
    photo = rgb_image(40, 60).astype(np.float32) / 255.0
    (auto,) = model.colorize([photo])
    np.testing.assert_array_equal(model.colorize([photo], hints=[None])[0], auto)
    np.testing.assert_array_equal(model.colorize([photo], hints=[[]])[0], auto)
    (hinted,) = model.colorize([photo], hints=[[HintPoint(30, 20, "#ff0000", 9)]])
    assert not np.array_equal(hinted, auto)
    with pytest.raises(HintError, match="photo 0: point 0: x=60 is outside"):
        model.colorize([photo], hints=[[HintPoint(60, 20, "#ff0000")]])
    plain = Colorizer.load(tiny_generator_ckpt, "cpu", hint_spread=0)
    assert not plain.takes_hints and not plain.follows_hints
    with pytest.raises(HintError, match="does not take colour hints"):
        plain.colorize([photo], hints=[[HintPoint(3, 3, "#ff0000")]])
    bgr = (photo[..., ::-1] * 255).round().astype(np.uint8)
    photos = [read_photo_from(bgr)]
    a = model.colorize_photos(photos, hints=[[HintPoint(30, 20, "#ff0000", 9)]])[0]
    assert not np.array_equal(a, model.colorize_photos(photos)[0])


def read_photo_from(bgr: np.ndarray) -> object:
    from unet_resnet.data.imageio import Photo

    return Photo(np.ascontiguousarray(bgr))


# -------------------------------------------------------------------------------------------------- end to end
def test_infer_with_hints_end_to_end(tmp_path: Path, hint_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_photos(tmp_path / "in")
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"beach/dress.png": [{"x": 40, "y": 10, "color": "#2a5db0", "size": 7}]}))
    common = ["--in", str(tmp_path / "in"), "--ckpt", str(hint_ckpt), "--device", "cpu", "--quiet"]
    common += ["--hint-spread", "0"]  # the network's own response to the hint, which is local
    assert infer_main([*common, "--out", str(tmp_path / "auto")]) == 0
    assert infer_main([*common, "--out", str(tmp_path / "hinted"), "--hints", str(hints)]) == 0
    capsys.readouterr()
    dress = [cv2.imread(str(tmp_path / d / "beach" / "dress.png")) for d in ("auto", "hinted")]
    assert not np.array_equal(*dress)  # the hinted photo changed...
    rotated = [cv2.imread(str(tmp_path / d / "rotated.jpg")) for d in ("auto", "hinted")]
    assert np.abs(rotated[0].astype(int) - rotated[1]).max() <= 2  # ...the other is automatic (JPEG re-encode aside)
    # ...near its point only (an untrained model's stem ignores hints; the full-resolution block sees a few pixels)
    changed = np.nonzero(np.abs(dress[0].astype(int) - dress[1]).max(axis=2))
    assert changed[1].min() >= 30 and changed[0].max() <= 20


def test_infer_refuses_bad_hints_before_any_work(
    tmp_path: Path, hint_ckpt: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_photos(tmp_path / "in")
    hints = tmp_path / "hints.json"
    out = tmp_path / "out"
    cases = [
        (hint_ckpt, {"beach/dress.png": [{"x": 50, "y": 10, "color": "#2a5db0"}]}, "point 0: x=50 is outside"),
        (hint_ckpt, {"nope.png": []}, "photo 'nope.png': no such photo"),
        (hint_ckpt, {"rotated.jpg": [{"x": 1, "y": 1, "color": "#2a5db"}]}, "point 0: colour '#2a5db'"),
        (tiny_generator_ckpt, {"rotated.jpg": []}, "does not take colour hints"),
    ]
    for ckpt, tree, problem in cases:
        hints.write_text(json.dumps(tree))
        args = ["--in", str(tmp_path / "in"), "--out", str(out), "--ckpt", str(ckpt), "--hints", str(hints)]
        args += ["--hint-spread", "0"] if ckpt == tiny_generator_ckpt else []
        assert infer_main([*args, "--device", "cpu", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert problem in err and str(hints) in err
        assert not out.exists()


def test_single_file_keys_by_name(tmp_path: Path, hint_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = write_photos(tmp_path / "in")
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"dress.png": [{"x": 40, "y": 10, "color": "#2a5db0"}]}))
    args = ["--in", str(photos["beach/dress.png"]), "--out", str(tmp_path / "o.png"), "--ckpt", str(hint_ckpt)]
    assert infer_main([*args, "--hints", str(hints), "--device", "cpu", "--quiet"]) == 0
    assert (tmp_path / "o.png").is_file()


def test_list_input_keys_by_listed_path(tmp_path: Path, hint_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_photos(tmp_path / "in")
    listing = tmp_path / "in" / "photos.txt"
    listing.write_text("beach/dress.png\nrotated.jpg\n")
    hints = tmp_path / "hints.json"
    args = ["--in", str(listing), "--out", str(tmp_path / "o"), "--ckpt", str(hint_ckpt), "--hints", str(hints)]
    hints.write_text(json.dumps({"beach/dress.png": [{"x": 40, "y": 10, "color": "#2a5db0"}]}))
    assert infer_main([*args, "--device", "cpu", "--quiet"]) == 0
    assert (tmp_path / "o" / "beach" / "dress.png").is_file()
    hints.write_text(json.dumps({"dress.png": []}))
    assert infer_main([*args, "--device", "cpu", "--quiet", "--overwrite"]) == 2
    assert "photo 'dress.png': no such photo" in capsys.readouterr().err
