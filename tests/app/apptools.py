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
    return ColorService(Colorizer.load(tiny_generator_ckpt, "cpu"), tiny_generator_ckpt.name)


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
