"""Hints through the app with a hint model (built by hand in apptools): honoured at their position, in the pixels
of the photo as shown, the page's download equal to ``infer.py --hints``, bad points refused with the point named."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from apptools import build_hint_model, encode, hint_photo, jpeg_with_orientation, lab, worst_spot
from fastapi.testclient import TestClient

from unet_resnet.app.service import ColorService
from unet_resnet.cli.infer import main as infer_main
from unet_resnet.inference.colorizer import Colorizer


@pytest.fixture(scope="module")
def hint_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hint_model(tmp_path_factory.mktemp("hint") / "hint_G.pt")


@pytest.fixture
def hint_client(hint_ckpt: Path) -> TestClient:
    from unet_resnet.app.server import create_app

    return TestClient(create_app(ColorService(Colorizer.load(hint_ckpt, "cpu"), hint_ckpt.name)))


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def window(img: np.ndarray, x: int, y: int, r: int = 8) -> np.ndarray:
    return img[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1].reshape(-1, img.shape[-1]).mean(axis=0)


def hex_colour(bgr: np.ndarray) -> str:
    b, g, r = (int(round(v)) for v in bgr)
    return f"#{r:02x}{g:02x}{b:02x}"


def test_hints_are_honoured_at_their_position(hint_client: TestClient, tmp_path: Path) -> None:
    path, truth = hint_photo(tmp_path)
    data = path.read_bytes()
    info = hint_client.get("/api/info").json()
    assert info["takes_hints"] is True and info["hints_off_reason"] is None
    auto = decode(hint_client.post("/api/colorize", files={"image": ("p.png", data)}).content)
    true_lab, auto_lab = lab(truth), lab(auto)
    x, y = worst_spot(auto_lab, true_lab)
    colour = hex_colour(window(truth, x, y, 4))
    points = [{"x": x, "y": y, "color": colour, "size": 9}]
    r = hint_client.post("/api/colorize", files={"image": ("p.png", data)}, data={"hints": json.dumps(points)})
    assert r.status_code == 200, r.text
    hinted_lab = lab(decode(r.content))
    target = window(true_lab, x, y, 4)[1:]

    def distance(img: np.ndarray) -> float:
        return float(np.hypot(*(window(img, x, y, 4)[1:] - target)))

    assert distance(hinted_lab) < 0.7 * distance(auto_lab), (distance(auto_lab), distance(hinted_lab))
    change = np.hypot(*(hinted_lab[..., 1:] - auto_lab[..., 1:]).transpose(2, 0, 1))
    far_x, far_y = (255 - x, 255 - y)  # the opposite side of the photo
    assert window(change[..., None], x, y)[0] > 2 * window(change[..., None], far_x, far_y)[0]


def test_hints_use_the_photo_as_shown(hint_client: TestClient) -> None:
    """A rotated JPEG's hints are in the pixels of the upright photo, as infer.py reads them."""
    gray = np.full((40, 80, 3), 128, np.uint8)  # stored 80 wide, shown 40 wide and 80 tall (orientation 6)
    data = jpeg_with_orientation(gray, 6)
    ok = [{"x": 30, "y": 70, "color": "#ff0000"}]
    r = hint_client.post("/api/colorize", files={"image": ("r.jpg", data)}, data={"hints": json.dumps(ok)})
    assert r.status_code == 200 and decode(r.content).shape[:2] == (80, 40)
    outside = [{"x": 70, "y": 30, "color": "#ff0000"}]
    r = hint_client.post("/api/colorize", files={"image": ("r.jpg", data)}, data={"hints": json.dumps(outside)})
    assert r.status_code == 422 and "point 0: x=70 is outside" in r.json()["detail"]


@pytest.mark.parametrize(
    ("points", "words"),
    [
        ([{"x": 1, "y": 2}], "point 0: missing color"),
        ([{"x": 1, "y": 2, "color": "red"}], "point 0: colour 'red' is not of the form #rrggbb"),
        ([{"x": 1, "y": 2, "color": "#ff0000"}, {"x": 999, "y": 2, "color": "#ff0000"}], "point 1: x=999"),
        ([{"x": 1, "y": 2, "color": "#ff0000", "size": 0}], "point 0: size must be"),
        ([{"x": 1, "y": 2, "color": "#ff0000", "z": 0}], "unknown key 'z'"),
        (["a point"], "point 0: expected an object"),
    ],
)
def test_bad_points_are_named(points: list[object], words: str, hint_client: TestClient) -> None:
    r = hint_client.post(
        "/api/colorize",
        files={"image": ("p.png", encode(np.zeros((50, 60, 3), np.uint8)))},
        data={"hints": json.dumps(points)},
    )
    assert r.status_code == 422 and words in r.json()["detail"], r.text


def test_page_download_with_hints_is_what_infer_writes(
    hint_client: TestClient, hint_ckpt: Path, tmp_path: Path
) -> None:
    path, _ = hint_photo(tmp_path)
    points = [{"x": 100, "y": 60, "color": "#2a5db0"}, {"x": 200.5, "y": 180, "color": "#c04020", "size": 5}]
    opened = hint_client.post("/api/photos", files={"image": (path.name, path.read_bytes())}).json()
    got = hint_client.post(f"/api/photos/{opened['id']}/result", data={"hints": json.dumps(points)})
    assert got.status_code == 200
    hints_file = tmp_path / "hints.json"
    hints_file.write_text(json.dumps({path.name: points}))  # what the page's "Save hints" writes
    out = tmp_path / "out" / path.name
    argv = ["--in", str(path), "--out", str(out), "--ckpt", str(hint_ckpt), "--hints", str(hints_file), "--quiet"]
    assert infer_main(argv) == 0
    np.testing.assert_array_equal(decode(got.content), decode(out.read_bytes()))
    preview = decode(
        hint_client.post(f"/api/photos/{opened['id']}/preview", data={"hints": json.dumps(points)}).content
    )
    assert preview.shape == (256, 256, 3)
