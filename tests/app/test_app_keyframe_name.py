"""A film's keyframe (``000120.png``, from ``unet-resnet keyframes``) opens like any photo and downloads under its
own name, so that it goes back into the keyframe folder as it is."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from apptools import client, make_client, service  # noqa: F401 (fixtures)
from conftest import rgb_image
from fastapi.testclient import TestClient


@pytest.mark.parametrize(("name", "fmt", "download"), [("000120.png", "png", "000120.png"), ("7.png", "jpg", "7.jpg")])
def test_keyframe_download_keeps_its_name(client: TestClient, name: str, fmt: str, download: str) -> None:
    gray = cv2.cvtColor(rgb_image(30, 40), cv2.COLOR_RGB2GRAY)
    ok, data = cv2.imencode(".png", gray)
    assert ok
    r = client.post("/api/colorize", files={"image": (name, data.tobytes())}, data={"format": fmt})
    assert r.status_code == 200
    assert f'filename="{download}"' in r.headers["content-disposition"]
    decoded = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (30, 40, 3)


def test_other_names_still_get_colour_added(client: TestClient) -> None:
    ok, data = cv2.imencode(".png", rgb_image(20, 20))
    r = client.post("/api/colorize", files={"image": ("frame120.png", data.tobytes())})
    assert 'filename="frame120-colour.png"' in r.headers["content-disposition"]
