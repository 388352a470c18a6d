#!/usr/bin/env python3
"""Make ``docs/images/app.png``: the app's page in Chromium with a photo, the slider part-way and (for a hint model)
a few hints, as the README shows it.

    python docs/images/app_screenshot.py --ckpt runs/demo/best.pt
    python docs/images/app_screenshot.py --ckpt runs/hints/best.pt --photo data/samples/kodak24_kodim05.png \\
        --hint 0.3,0.4,#3a6ea5 --hint 0.7,0.6,#c04020

Needs the app extra, playwright and a Chromium (``--chromium``, default: the one on PATH).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--photo", type=Path, default=ROOT / "data" / "samples" / "kodak24_kodim05.png")
    ap.add_argument("--hint", action="append", default=[], help="X,Y,#rrggbb with X and Y as fractions of the photo")
    ap.add_argument("--split", type=int, default=40, help="slider position in percent (default 40)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "app.png")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = ap.parse_args()

    import uvicorn
    from playwright.sync_api import sync_playwright

    from unet_resnet.app.server import create_app
    from unet_resnet.app.service import ColorService
    from unet_resnet.inference.colorizer import Colorizer

    model = Colorizer.load(args.ckpt, "cpu")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(ColorService(model, Path(args.ckpt).name)), port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    try:
        with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
            ctx = p.chromium.launch_persistent_context(
                profile, executable_path=args.chromium, headless=True, args=ARGS, bypass_csp=True,
                viewport={"width": 1280, "height": 860},
            )  # fmt: skip
            page = ctx.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("() => state.info !== null")
            page.set_input_files("#file", str(args.photo))
            page.wait_for_function("() => state.renders >= 1 && window.appIdle()", timeout=120_000)
            if args.hint and model.takes_hints:
                page.check("#hint-mode")
                box = page.locator("#after").bounding_box()
                for i, text in enumerate(args.hint):
                    fx, fy, colour = text.split(",")
                    page.mouse.click(box["x"] + float(fx) * box["width"], box["y"] + float(fy) * box["height"])
                    page.fill(f"#hint-colour-{i}", colour)
                    page.wait_for_function("() => window.appIdle()", timeout=120_000)
                page.evaluate("() => { state.selected = -1; render(); document.activeElement.blur(); }")
            page.fill("#slider", str(args.split))
            page.screenshot(path=str(args.out))
            ctx.close()
    finally:
        server.should_exit = True
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
