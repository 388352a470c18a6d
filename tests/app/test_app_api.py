"""The app's HTTP API: results as infer.py writes them, every bad input with its status and message, concurrency."""

from __future__ import annotations

import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from apptools import (  # noqa: F401 (fixtures)
    LiveServer,
    client,
    encode,
    jpeg_with_orientation,
    live_app,
    make_client,
    service,
)
from conftest import rgb_image
from fastapi.testclient import TestClient

from unet_resnet.app.server import create_app
from unet_resnet.app.service import ColorService, Limits, PhotoStore
from unet_resnet.cli.infer import main as infer_main
from unet_resnet.data.imageio import Photo, read_photo
from unet_resnet.inference.colorizer import Colorizer


def decode(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert img is not None, "the response is not an image"
    return img


def bgr(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.ascontiguousarray(rgb_image(h, w, seed)[..., ::-1])


def png_declaring(width: int, height: int) -> bytes:
    """A complete, tiny PNG (one IDAT) whose header declares ``width x height``: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    )


PHOTOS: dict[str, tuple[Callable[[], bytes], str]] = {
    "tiny": (lambda: encode(bgr(2, 3)), ".png"),
    "odd": (lambda: encode(bgr(37, 23)), ".png"),
    "gray": (lambda: encode(cv2.cvtColor(bgr(40, 30), cv2.COLOR_BGR2GRAY)), ".png"),
    "16-bit": (lambda: encode(bgr(30, 40).astype(np.uint16) * 257 + 3), ".png"),
    "rgba": (
        lambda: encode(np.dstack([bgr(30, 40), np.linspace(0, 255, 40 * 30).reshape(30, 40).astype(np.uint8)])),
        ".png",
    ),
    "exif-rotated": (lambda: jpeg_with_orientation(bgr(24, 36), 6), ".jpg"),
}


@pytest.mark.parametrize("kind", list(PHOTOS))
def test_result_is_what_infer_writes(kind: str, client: TestClient, tiny_generator_ckpt: Path, tmp_path: Path) -> None:
    make, suffix = PHOTOS[kind]
    data = make()
    src = tmp_path / f"photo{suffix}"
    src.write_bytes(data)
    r = client.post("/api/colorize", files={"image": (src.name, data, "application/octet-stream")})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == ("image/png" if suffix == ".png" else "image/jpeg")
    out = tmp_path / "out" / src.name
    assert infer_main(["--in", str(src), "--out", str(out), "--ckpt", str(tiny_generator_ckpt), "--quiet"]) == 0
    expected = decode(out.read_bytes())
    got = decode(r.content)
    photo = read_photo(src)
    assert got.shape[:2] == photo.pixels.shape[:2]  # the oriented photo's size, exactly
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_rotated_photo_comes_back_upright(client: TestClient) -> None:
    r = client.post("/api/colorize", files={"image": ("r.jpg", jpeg_with_orientation(bgr(24, 36), 6), "image/jpeg")})
    assert r.status_code == 200
    assert decode(r.content).shape[:2] == (36, 24)


def test_format_and_quality(client: TestClient) -> None:
    data = encode(bgr(40, 50))
    jpg = client.post("/api/colorize", files={"image": ("a.png", data)}, data={"format": "jpg", "quality": "60"})
    assert jpg.status_code == 200 and jpg.headers["content-type"] == "image/jpeg"
    assert 'filename="a-colour.jpg"' in jpg.headers["content-disposition"]
    assert decode(jpg.content).shape == (40, 50, 3)
    best = client.post("/api/colorize", files={"image": ("a.png", data)}, data={"format": "jpg", "quality": "100"})
    assert len(best.content) > len(jpg.content)


def test_info(client: TestClient, service: ColorService) -> None:
    info = client.get("/api/info").json()
    assert info["size"] == 64 and info["takes_hints"] is False and info["restores"] is False
    assert "without colour hints" in info["hints_off_reason"] and "--hint-spread" in info["hints_off_reason"]
    assert info["max_upload_bytes"] == 50_000_000 and info["max_pixels"] == 100_000_000


def test_hints_spread_over_a_plain_model(tiny_generator_ckpt: Path) -> None:
    """With hint spreading (the default), a model trained without hints takes them: hint mode on, colour followed."""
    service = ColorService(Colorizer.load(tiny_generator_ckpt, "cpu"), tiny_generator_ckpt.name)
    with TestClient(create_app(service, Limits(10**7, 10**7))) as client:
        info = client.get("/api/info").json()
        assert info["takes_hints"] is True and info["hints_off_reason"] is None
        image = {"image": ("a.png", encode(np.full((40, 50, 3), 128, np.uint8)))}
        hints = '[{"x": 25, "y": 20, "color": "#3060c0", "size": 5}]'
        auto = decode(client.post("/api/colorize", files=image, data={"format": "png"}).content)
        hinted = decode(client.post("/api/colorize", files=image, data={"format": "png", "hints": hints}).content)
    blue = np.array([192, 96, 48])  # #3060c0 as BGR
    assert np.abs(hinted[20, 25].astype(int) - blue).sum() < np.abs(auto[20, 25].astype(int) - blue).sum() - 60


BAD = [
    ("not an image", b"just some text, not a photo", 415, "is not a photo"),
    ("empty", b"", 422, "empty"),
    ("truncated jpeg", encode(bgr(64, 64), ".jpg")[:-400], 422, "cut short"),
    ("truncated png", encode(bgr(64, 64))[:300], 422, "cut short"),
    ("bomb", png_declaring(50_000, 50_000), 422, "2500 megapixels"),
    ("header only", b"\x89PNG\r\n\x1a\n\0\0", 422, "IHDR"),
]


@pytest.mark.parametrize(("what", "data", "status", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_uploads_are_refused_with_a_message(
    what: str, data: bytes, status: int, words: str, client: TestClient
) -> None:
    for url in ("/api/colorize", "/api/photos"):
        r = client.post(url, files={"image": ("upload.png", data)})
        assert r.status_code == status, r.text
        assert words in r.json()["detail"] and "upload.png" in r.json()["detail"]


def test_bomb_is_refused_before_decoding(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decode(*args: object, **kwargs: object) -> None:
        raise AssertionError("a photo over the pixel limit was decoded")

    monkeypatch.setattr(cv2, "imdecode", no_decode)
    r = client.post("/api/colorize", files={"image": ("bomb.png", png_declaring(50_000, 50_000))})
    assert r.status_code == 422 and "--max-megapixels" in r.json()["detail"]


def test_upload_limit(make_client: Callable[..., TestClient]) -> None:
    client = make_client(limits=Limits(max_bytes=20_000))
    noisy = np.random.default_rng(0).integers(0, 256, (120, 120, 3), dtype=np.uint8)
    r = client.post("/api/colorize", files={"image": ("big.png", encode(noisy))})
    assert r.status_code == 413 and "upload limit" in r.json()["detail"]
    # far over the limit: refused from the request's length, the body is not read
    r = client.post("/api/photos", files={"image": ("huge.png", b"\0" * 3_000_000)})
    assert r.status_code == 413 and "--max-upload-mb" in r.json()["detail"]
    assert client.post("/api/colorize", files={"image": ("ok.png", encode(bgr(20, 20)))}).status_code == 200


def test_upload_limit_without_content_length(live_app: Callable[..., LiveServer]) -> None:
    server = live_app(limits=Limits(max_bytes=10_000))

    def chunks() -> Iterator[bytes]:  # a well-formed multipart body, streamed: no Content-Length
        yield b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
        yield b"x" * 600_000
        yield b"x" * 600_000
        yield b"\r\n--b--\r\n"

    r = httpx.post(
        f"{server.url}/api/colorize", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert r.status_code == 413 and "upload limit" in r.json()["detail"]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"hints": "[{"}, "hints is not valid JSON"),
        ({"hints": '{"x": 1}'}, "hints must be a JSON list"),
        ({"hints": '[{"x": 1, "y": 2, "color": "#ff0000"}]'}, "trained without colour hints"),
        ({"format": "gif"}, "format 'gif' is not supported"),
        ({"quality": "0"}, "quality must be between 1 and 100"),
        ({"quality": "high"}, "the form field 'quality' is invalid"),
        ({"size": "8"}, "size must be between 32 and 2048"),
        ({"restore": "true"}, "restore needs a restoration model"),
    ],
)
def test_bad_options_are_refused(fields: dict[str, str], words: str, client: TestClient) -> None:
    r = client.post("/api/colorize", files={"image": ("a.png", encode(bgr(20, 20)))}, data=fields)
    assert r.status_code == 422 and words in r.json()["detail"], r.text


def test_missing_image_field(client: TestClient) -> None:
    r = client.post("/api/colorize", data={"format": "png"})
    assert r.status_code == 422 and "'image' is missing" in r.json()["detail"]


def test_page_session(client: TestClient) -> None:
    data = encode(bgr(300, 2000, seed=3))
    opened = client.post("/api/photos", files={"image": ("wide.png", data)})
    assert opened.status_code == 200
    photo = opened.json()
    assert (photo["width"], photo["height"], photo["kind"]) == (2000, 300, "png")
    before = decode(client.get(f"/api/photos/{photo['id']}/before").content)
    assert before.shape == (192, 1280, 3)
    assert np.abs(before.astype(int) - before[..., :1]).max() <= 1  # gray: a = b = 0 (rounding aside)
    preview = decode(client.post(f"/api/photos/{photo['id']}/preview").content)
    assert preview.shape == (192, 1280, 3)
    full = client.post(f"/api/photos/{photo['id']}/result")
    direct = client.post("/api/colorize", files={"image": ("wide.png", data)})
    assert full.content == direct.content  # the page's download is the API's result, at full size
    assert client.delete(f"/api/photos/{photo['id']}").json() == {"removed": True}
    gone = client.post(f"/api/photos/{photo['id']}/preview")
    assert gone.status_code == 404 and "open the photo again" in gone.json()["detail"]


def test_store_lets_the_oldest_photo_go() -> None:
    store = PhotoStore(max_bytes=2 * 64 * 64 * 3 * 2)
    keys = [store.add(f"{i}.png", "png", Photo(bgr(64, 64, i)))[0] for i in range(4)]
    assert 1 <= len(store) < 4
    store.get(keys[-1])
    with pytest.raises(Exception, match="not held"):
        store.get(keys[0])


def test_twenty_requests_at_once(live_app: Callable[..., LiveServer]) -> None:
    server = live_app()
    photos = [encode(bgr(48 + i, 64 - i, seed=i)) for i in range(20)]
    with httpx.Client(timeout=120) as c:
        alone = [
            c.post(f"{server.url}/api/colorize", files={"image": (f"{i}.png", p)}).content for i, p in enumerate(photos)
        ]
    barrier = threading.Barrier(20)

    def send(i: int) -> httpx.Response:
        with httpx.Client(timeout=120) as c:
            barrier.wait()
            return c.post(f"{server.url}/api/colorize", files={"image": (f"{i}.png", photos[i])})

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(send, range(20)))
    for i, r in enumerate(responses):
        assert r.status_code == 200, r.text
        assert r.content == alone[i], f"request {i} got another photo's result or a corrupted one"


def test_busy_app_says_retry(live_app: Callable[..., LiveServer], service: ColorService) -> None:
    server = live_app(max_jobs=1, max_waiting=0)
    photo = {"image": ("a.png", encode(bgr(20, 20)))}
    service._lock.acquire()  # the model is busy: the first request holds the only slot, waiting for it
    try:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(httpx.post, f"{server.url}/api/colorize", files=photo, timeout=60)
            deadline = time.monotonic() + 30
            while httpx.get(f"{server.url}/api/info").json()["in_progress"] < 1:
                assert time.monotonic() < deadline, "the first request never started"
                time.sleep(0.02)
            second = httpx.post(f"{server.url}/api/colorize", files=photo, timeout=60)
            assert second.status_code == 503 and second.headers["retry-after"] == "1"
            assert "retry" in second.json()["detail"]
            service._lock.release()
            assert first.result().status_code == 200
    finally:
        if service._lock.locked():
            service._lock.release()


def test_restore_switch_is_what_infer_restore_writes(tmp_path: Path) -> None:
    import torch
    from conftest import TINY_DECODER

    from unet_resnet.app.server import create_app
    from unet_resnet.export.formats import export_pt
    from unet_resnet.inference.colorizer import Colorizer
    from unet_resnet.models.generator import UNetGenerator, model_spec

    torch.manual_seed(1)
    ckpt = tmp_path / "restore_G.pt"
    export_pt(UNetGenerator("none", TINY_DECODER, 3), model_spec(TINY_DECODER, 3, 64), ckpt)
    client = TestClient(create_app(ColorService(Colorizer.load(ckpt, "cpu"), ckpt.name)))
    assert client.get("/api/info").json()["restores"] is True
    src = tmp_path / "old.png"
    src.write_bytes(encode(bgr(50, 70, seed=4)))
    restored = client.post("/api/colorize", files={"image": (src.name, src.read_bytes())}, data={"restore": "true"})
    plain = client.post("/api/colorize", files={"image": (src.name, src.read_bytes())})
    assert restored.status_code == plain.status_code == 200
    out = tmp_path / "out" / src.name
    assert infer_main(["--in", str(src), "--out", str(out), "--ckpt", str(ckpt), "--restore", "--quiet"]) == 0
    np.testing.assert_array_equal(decode(restored.content), decode(out.read_bytes()))
    assert not np.array_equal(decode(restored.content), decode(plain.content))  # the switch changes L
