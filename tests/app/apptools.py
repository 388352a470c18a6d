"""Fixtures and helpers of the app's tests: the app over the tiny generator, in-process (TestClient) or on a port.

The tests import them (a conftest.py here would shadow the root one, which tests import ``rgb_image`` from).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the app extra is not installed: pip install -e '.[app]'")

from fastapi import FastAPI
from fastapi.testclient import TestClient

from unet_resnet.app.server import create_app
from unet_resnet.app.service import ColorService, Limits
from unet_resnet.inference.colorizer import Colorizer


@pytest.fixture
def service(tiny_generator_ckpt: Path) -> ColorService:
    """A model trained without hints, with hint spreading off: the app's hint mode is off."""
    return ColorService(Colorizer.load(tiny_generator_ckpt, "cpu", hint_spread=0), tiny_generator_ckpt.name)


@pytest.fixture
def make_client(service: ColorService) -> Iterator[Callable[..., TestClient]]:
    """``make_client(**create_app keywords)`` -> a TestClient over the tiny model."""
    clients: list[TestClient] = []

    def make(**kwargs: object) -> TestClient:
        client = TestClient(create_app(service, **kwargs))  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(limits=Limits())


class LiveServer:
    """uvicorn serving an app on a free loopback port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def live_app(service: ColorService) -> Iterator[Callable[..., LiveServer]]:
    """``live_app(service=None, **create_app keywords)`` -> a started :class:`LiveServer` (stopped at the end)."""
    started: list[LiveServer] = []

    def start(svc: ColorService | None = None, **kwargs: object) -> LiveServer:
        server = LiveServer(create_app(svc or service, **kwargs)).__enter__()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__()


def encode(pixels: np.ndarray, suffix: str = ".png") -> bytes:
    ok, data = cv2.imencode(suffix, pixels)
    assert ok
    return data.tobytes()


def jpeg_with_orientation(bgr: np.ndarray, orientation: int) -> bytes:
    """A JPEG whose APP1 EXIF block says ``orientation``."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd
    body = b"Exif\x00\x00" + tiff
    data = encode(bgr, ".jpg")
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + data[2:]


AUTO_AB = (0.12, 0.18)
"""The colour (a, b in [-1, 1]) the hand-built hint model gives wherever there is no hint: a warm tint."""


def build_hint_model(path: Path) -> Path:
    """A tiny hint generator built by hand: its full-resolution decoder block passes the hint map on to the head,
    so the output is the hint's colour inside each hint's square and :data:`AUTO_AB` elsewhere. A real
    ``UNetGenerator(hints=True)`` exported as infer.py reads it: what the app and infer do with hints is exercised,
    and "the colour moved towards the hint" is certain, not a matter of how well a model trained in a test."""
    import torch
    from conftest import TINY_DECODER

    from unet_resnet.export.formats import export_pt
    from unet_resnet.models.generator import UNetGenerator, model_spec

    torch.manual_seed(0)
    G = UNetGenerator("none", TINY_DECODER, 2, hints=True)
    block, skip = G.blocks[-1], TINY_DECODER[-2]  # the last block sees [features, L, hint a, hint b, mask]
    a, b, mask = skip + 1, skip + 2, skip + 3
    with torch.no_grad():
        conv1, conv2 = block.conv1[0], block.conv2[0]
        conv1.weight.zero_()
        for out, (src, sign) in enumerate([(a, 1.0), (a, -1.0), (b, 1.0), (b, -1.0), (mask, 1.0)]):
            conv1.weight[out, src, 1, 1] = sign  # ReLU keeps one sign: a and b pass as a+, a-, b+, b-
        conv2.weight.zero_()
        for c in range(5):
            conv2.weight[c, c, 1, 1] = 1.0
        for bn in (block.conv1[1], block.conv2[1]):
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0)
            bn.weight.fill_(1.0)
            bn.bias.zero_()
        G.head.weight.zero_()
        G.head.weight[0, 0, 1, 1], G.head.weight[0, 1, 1, 1] = 1.0, -1.0
        G.head.weight[1, 2, 1, 1], G.head.weight[1, 3, 1, 1] = 1.0, -1.0
        G.head.weight[0, 4, 1, 1], G.head.weight[1, 4, 1, 1] = -AUTO_AB[0], -AUTO_AB[1]
        G.head.bias.copy_(torch.tensor(AUTO_AB))
    export_pt(G.eval(), model_spec(TINY_DECODER, 2, 64, hints=True), path)
    return path


def hint_photo(folder: Path) -> tuple[Path, np.ndarray]:
    """A bundled sample as a 256x256 PNG (made at 64x64, the hint model's size, then enlarged) and its true colours."""
    from conftest import SAMPLES

    first = sorted(SAMPLES.glob("*.png"))[0]
    small = cv2.resize(cv2.imread(str(first), cv2.IMREAD_COLOR), (64, 64), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (256, 256), interpolation=cv2.INTER_CUBIC)
    path = folder / "hint_photo.png"
    path.write_bytes(encode(big))
    return path, big


def lab(bgr8: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr8.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)


def ab_distance(a: str, b: str) -> float:
    def ab(colour: str) -> np.ndarray:
        rgb = np.array([[[int(colour[i : i + 2], 16) for i in (1, 3, 5)]]], np.uint8)
        return lab(rgb[..., ::-1])[0, 0, 1:]

    return float(np.hypot(*(ab(a) - ab(b))))


def worst_spot(auto_lab: np.ndarray, true_lab: np.ndarray, margin: int = 24) -> tuple[int, int]:
    """The point (away from the edges) where the automatic ab is furthest from the truth (17x17 means)."""
    err = np.hypot(*(cv2.blur(auto_lab[..., c] - true_lab[..., c], (17, 17)) for c in (1, 2)))
    inner = err[margin:-margin, margin:-margin]
    yy, xx = np.unravel_index(int(inner.argmax()), inner.shape)
    return int(xx) + margin, int(yy) + margin
