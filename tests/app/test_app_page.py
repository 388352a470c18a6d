"""The page in a real browser: Playwright driving the system's Chromium (Debian's ``chromium``; no download).

Without Chromium or the playwright package the tests skip and say why, except under CI (``CI=true``) or with
``UNET_RESNET_REQUIRE_BROWSER=1``, where they fail: there the browser test must run.
"""

from __future__ import annotations

import json
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
    from unet_resnet.export.formats import export_pt
    from unet_resnet.inference.colorizer import Colorizer
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


def test_hint_mode(context: Any, live_app: Callable[..., LiveServer], tmp_path: Path) -> None:
    from apptools import ab_distance, build_hint_model, hint_photo, lab, worst_spot

    from unet_resnet.app.service import ColorService
    from unet_resnet.inference.colorizer import Colorizer

    ckpt = build_hint_model(tmp_path / "hint_G.pt")
    server = live_app(ColorService(Colorizer.load(ckpt, "cpu"), ckpt.name))
    path, truth = hint_photo(tmp_path)
    auto = httpx.post(f"{server.url}/api/colorize", files={"image": (path.name, path.read_bytes())}, timeout=60)
    auto_bgr = cv2.imdecode(np.frombuffer(auto.content, np.uint8), cv2.IMREAD_COLOR)
    x, y = worst_spot(lab(auto_bgr), lab(truth))
    b, g, r = (int(round(v)) for v in truth[y - 4 : y + 5, x - 4 : x + 5].reshape(-1, 3).mean(axis=0))
    colour = f"#{r:02x}{g:02x}{b:02x}"

    page = context.new_page()
    page.goto(server.url + "/")
    page.wait_for_function("() => state.info && state.info.takes_hints")
    page.set_input_files("#file", str(path))
    wait_for_render(page, 1)
    page.check("#hint-mode")
    before = page.evaluate("([x, y]) => colourAt(x, y)", [x, y])
    box = page.locator("#after").bounding_box()
    page.mouse.click(box["x"] + (x + 0.5) / 256 * box["width"], box["y"] + (y + 0.5) / 256 * box["height"])
    assert page.locator(".point").count() == 1
    assert page.evaluate("() => [state.points[0].x, state.points[0].y]") == [x, y]
    assert page.input_value("#hint-colour-0") == before  # the picker starts at the model's colour there
    assert page.evaluate("() => document.activeElement.id") == "hint-colour-0"  # ...and has the focus
    page.fill("#hint-colour-0", colour)
    idle(page)
    after = page.evaluate("([x, y]) => colourAt(x, y)", [x, y])
    assert ab_distance(after, colour) < 0.7 * ab_distance(before, colour), (before, after, colour)

    marker = page.locator(".point").first.bounding_box()  # drag the hint, then undo the move
    cx, cy = marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 0.2 * box["width"], cy + 0.05 * box["height"], steps=5)  # 51 and 13 photo pixels
    page.mouse.up()
    idle(page)
    moved = page.evaluate("() => [state.points[0].x, state.points[0].y]")
    assert abs(moved[0] - (x + 51)) <= 2 and abs(moved[1] - (y + 13)) <= 2, (x, y, moved)
    page.click("#undo")
    assert page.evaluate("() => [state.points[0].x, state.points[0].y]") == [x, y]
    page.uncheck("#hint-mode")  # markers are drawn only in hint mode; the hint itself stays
    assert page.locator(".point").count() == 1 and page.locator(".point").first.is_hidden()
    page.check("#hint-mode")
    assert page.locator(".point").first.is_visible()
    page.focus(".point")  # by keyboard: arrows move it, Delete removes it
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => state.points[0].x") == x + 3
    page.keyboard.press("Delete")
    assert page.locator(".point").count() == 0
    page.click("#undo")
    page.click("#undo")
    assert page.evaluate("() => state.points") == [{"x": x, "y": y, "color": colour}]

    with page.expect_download() as info:  # saved as the JSON infer.py --hints reads
        page.click("#save-hints")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert json.loads(saved.read_text()) == {path.name: [{"x": x, "y": y, "color": colour}]}
    page.click("#clear")
    assert page.locator(".point").count() == 0
    page.set_input_files("#load-hints", str(saved))
    page.wait_for_function("() => state.points.length === 1")
    idle(page)

    with page.expect_download() as info:
        page.click("#download")
    got = cv2.imread(info.value.path(), cv2.IMREAD_UNCHANGED)
    assert got.shape == (256, 256, 3)
    direct = httpx.post(
        f"{server.url}/api/colorize",
        files={"image": (path.name, path.read_bytes())},
        data={"hints": json.dumps([{"x": x, "y": y, "color": colour}])},
        timeout=60,
    )
    assert np.array_equal(got, cv2.imdecode(np.frombuffer(direct.content, np.uint8), cv2.IMREAD_UNCHANGED))
    page.screenshot(path=str(tmp_path / "app-hints.png"))


def idle(page: Any) -> None:
    page.wait_for_function("() => window.appIdle()")
