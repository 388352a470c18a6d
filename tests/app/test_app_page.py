"""The page in a real browser: Playwright driving the system's Chromium (Debian's ``chromium``; no download).

Without Chromium or the playwright package the tests skip and say why, except under CI (``CI=true``) or with
``UNET_RESNET_REQUIRE_BROWSER=1``, where they fail: there the browser test must run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from apptools import LiveServer, encode, live_app, service  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true" or os.environ.get("UNET_RESNET_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the browser test must run here, but {reason}")
    pytest.skip(reason)


def find_chromium() -> str | None:
    for candidate in (os.environ.get("UNET_RESNET_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@pytest.fixture
def context(tmp_path: Path) -> Iterator[Any]:
    """A Playwright browser context in Chromium with a fresh profile, downloads accepted."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    executable = find_chromium()
    if executable is None:
        _unavailable("no Chromium found (apt-get install chromium, or set UNET_RESNET_CHROMIUM)")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            accept_downloads=True,
            bypass_csp=True,  # Playwright evaluates its waits as strings, which the page's CSP forbids
            viewport={"width": 1280, "height": 800},
        )
        ctx.set_default_timeout(60_000)
        try:
            yield ctx
        finally:
            ctx.close()


def photo_file(tmp_path: Path, w: int = 240, h: int = 160) -> Path:
    from conftest import rgb_image

    path = tmp_path / "family.png"
    path.write_bytes(encode(np.ascontiguousarray(rgb_image(h, w, seed=5)[..., ::-1])))
    return path


def wait_for_render(page: Any, count: int) -> None:
    page.wait_for_function(f"Number(document.getElementById('after').dataset.renders || 0) >= {count}")


def test_open_compare_download(context: Any, live_app: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = live_app()
    page = context.new_page()
    page.goto(server.url + "/")
    page.wait_for_function("document.getElementById('model-info').textContent.includes('64×64')")
    assert page.is_disabled("#hint-mode")  # a model without hint support: hint mode off, and why
    assert "trained without colour hints" in page.inner_text("#hint-off")

    photo = photo_file(tmp_path)
    page.set_input_files("#file", str(photo))
    wait_for_render(page, 1)
    assert page.eval_on_selector("#after", "img => [img.naturalWidth, img.naturalHeight]") == [240, 160]
    assert page.eval_on_selector("#before", "img => [img.naturalWidth, img.naturalHeight]") == [240, 160]

    page.fill("#slider", "20")  # the before/after split follows the slider, by keyboard too
    assert page.eval_on_selector("#stage", "s => s.style.getPropertyValue('--split')") == "20%"
    page.focus("#slider")
    page.keyboard.press("ArrowRight")
    assert page.eval_on_selector("#stage", "s => s.style.getPropertyValue('--split')") == "21%"

    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == "family-colour.png"
    got = cv2.imread(str(saved), cv2.IMREAD_UNCHANGED)
    assert got.shape == (160, 240, 3)
    direct = httpx.post(f"{server.url}/api/colorize", files={"image": (photo.name, photo.read_bytes())}, timeout=60)
    assert np.array_equal(got, cv2.imdecode(np.frombuffer(direct.content, np.uint8), cv2.IMREAD_UNCHANGED))

    page.select_option("#format", "jpg")  # JPEG with a quality
    assert page.is_visible("#quality")
    page.fill("#quality", "70")
    with page.expect_download() as info:
        page.click("#download")
    assert info.value.suggested_filename == "family-colour.jpg"
    jpg = cv2.imread(info.value.path(), cv2.IMREAD_UNCHANGED)
    assert jpg.shape == (160, 240, 3)

    screenshot = tmp_path / "app.png"
    page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 10_000


def test_bad_file_gets_a_message(context: Any, live_app: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = live_app()
    page = context.new_page()
    page.goto(server.url + "/")
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photo at all")
    page.set_input_files("#file", str(notes))
    page.wait_for_selector("#message:not([hidden])")
    assert "notes.jpg is not a photo" in page.inner_text("#message")
    assert page.is_hidden("#editor")


def test_too_large_and_restore_switch(context: Any, live_app: Callable[..., LiveServer], tmp_path: Path) -> None:
    import torch
    from conftest import TINY_DECODER

    from unet_resnet.app.service import ColorService, Limits
    from unet_resnet.inference.colorizer import Colorizer
    from unet_resnet.inference.export import export_pt
    from unet_resnet.models.generator import UNetGenerator, model_spec

    torch.manual_seed(1)
    ckpt = tmp_path / "restore_G.pt"
    export_pt(UNetGenerator("none", TINY_DECODER, 3), model_spec(TINY_DECODER, 3, 64), ckpt)
    photo = photo_file(tmp_path)
    server = live_app(
        ColorService(Colorizer.load(ckpt, "cpu"), ckpt.name), limits=Limits(max_bytes=photo.stat().st_size - 1)
    )
    page = context.new_page()
    page.goto(server.url + "/")
    page.wait_for_function("() => state.info !== null")
    page.set_input_files("#file", str(photo))  # one byte over the limit: said at once, nothing sent
    page.wait_for_selector("#message:not([hidden])")
    assert "more than the upload limit" in page.inner_text("#message")
    server = live_app(ColorService(Colorizer.load(ckpt, "cpu"), ckpt.name))
    page.goto(server.url + "/")
    page.wait_for_function("() => state.info !== null")
    page.set_input_files("#file", str(photo))
    wait_for_render(page, 1)
    assert page.is_visible("#restore")  # a restoration model: the switch is there
    with page.expect_request(lambda r: r.url.endswith("/preview")) as request:
        page.check("#restore")
    assert 'name="restore"\r\n\r\ntrue' in (request.value.post_data or "")
    wait_for_render(page, 2)
    with page.expect_download() as info:
        page.click("#download")
    restored = httpx.post(
        f"{server.url}/api/colorize", files={"image": (photo.name, photo.read_bytes())}, data={"restore": "true"}
    )
    got = cv2.imread(info.value.path(), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(got, cv2.imdecode(np.frombuffer(restored.content, np.uint8), cv2.IMREAD_UNCHANGED))


def idle(page: Any) -> None:
    page.wait_for_function("() => window.appIdle()")
