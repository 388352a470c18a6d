#!/usr/bin/env python3
"""The app's latency on a 12-megapixel photo, beside ``infer.py`` on the same photo.

Starts ``unet-resnet app`` in its own process on a free loopback port (as a user would; start-up reported
apart), then times, ``--repeats`` times each, from the first byte of the upload to the last byte of the result:

- ``POST /api/colorize``: one request, the photo in and its full-size colorized JPEG out (the script path);
- the page: open the photo (``POST /api/photos``: upload and decode, kept in memory), the first preview, a preview
  after a hint change (``POST /api/photos/{id}/preview``: what the page waits for after each click), and the
  full-size download (``POST /api/photos/{id}/result``);
- ``infer.py --in photo.jpg --out out.jpg``: the whole command (start-up and model loading included, as a user
  runs it) and, from the same run, its own reported time for the photo.

The model is a random hint generator with the default decoder at ``--size`` (speed does not depend on the weights),
or ``--ckpt``; the preview after a hint change sends one hint when the model takes hints (otherwise none, which
costs the same model and render work).

    python benchmarks/app_latency.py                 # about 2 minutes on 2 cores
    python benchmarks/app_latency.py --size 512 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_generator(path: Path, size: int) -> None:
    import torch

    from unet_resnet.export.formats import export_safetensors
    from unet_resnet.models.generator import UNetGenerator, model_spec

    torch.manual_seed(0)
    decoder = [256, 128, 64, 32, 16]
    G = UNetGenerator("none", decoder, 2, hints=True).eval()  # a hint model: the hint-change preview sends hints
    export_safetensors(G, model_spec(decoder, 2, size, hints=True), path)


def make_photo(path: Path, width: int, height: int) -> None:
    """A bundled sample enlarged to ``width x height`` with grain, as a JPEG (quality 92): a scan-like 12 MP file."""
    sample = cv2.imread(str(ROOT / "data" / "samples" / "kodak24_kodim01.png"), cv2.IMREAD_GRAYSCALE)
    big = cv2.resize(sample, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = np.random.default_rng(0).integers(0, 10, big.shape, dtype=np.uint8)
    cv2.imwrite(str(path), cv2.add(big, grain), [cv2.IMWRITE_JPEG_QUALITY, 92])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(fn: object, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", type=Path, help="model to serve (default: a random generator with the default decoder)")
    ap.add_argument("--size", type=int, default=256, help="render size (default 256, the training size)")
    ap.add_argument("--photo", default="4000x3000", help="WIDTHxHEIGHT of the test photo (default 4000x3000: 12 MP)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="torch/OpenCV threads for both (default 2)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="app_latency_"))
    width, height = (int(v) for v in args.photo.lower().split("x"))
    photo = work / "photo.jpg"
    make_photo(photo, width, height)
    data = photo.read_bytes()
    ckpt = args.ckpt or work / "G_random.safetensors"
    if args.ckpt is None:
        make_generator(ckpt, args.size)
    threads = str(args.threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "PYTHONPATH": str(ROOT)}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "unet_resnet", "app", "--ckpt", str(ckpt), "--size", str(args.size),
           "--port", str(port), "--device", "cpu"]  # fmt: skip
    start = time.perf_counter()
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    results: dict[str, list[float]] = {}
    try:
        client = httpx.Client(timeout=600)
        while True:
            try:
                info = client.get(f"{url}/api/info").json()
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    sys.exit(f"app_latency: the app did not start:\n{server.stderr.read() if server.stderr else ''}")
                time.sleep(0.1)
        results["app start-up (until /api/info answers)"] = [time.perf_counter() - start]
        files = {"image": ("photo.jpg", data, "image/jpeg")}

        def post(path: str, **kw: object) -> httpx.Response:
            r = client.post(f"{url}{path}", **kw)  # type: ignore[arg-type]
            if r.status_code != 200:
                sys.exit(f"app_latency: {path} answered {r.status_code}: {r.text[:500]}")
            return r

        results["POST /api/colorize (12 MP JPEG in, full-size JPEG out)"] = timed(
            lambda: post("/api/colorize", files=files), args.repeats
        )
        keys: list[str] = []
        results["page: open the photo (upload + decode)"] = timed(
            lambda: keys.append(post("/api/photos", files=files).json()["id"]), args.repeats
        )
        key = keys[-1]
        hints = json.dumps([{"x": width // 3, "y": height // 2, "color": "#c04020"}]) if info["takes_hints"] else ""
        results["page: preview (first, no hints)"] = timed(lambda: post(f"/api/photos/{key}/preview"), args.repeats)
        label = "page: preview after a hint change" + ("" if hints else " (model without hints: same work)")
        results[label] = timed(lambda: post(f"/api/photos/{key}/preview", data={"hints": hints}), args.repeats)
        results["page: download full size (JPEG 95)"] = timed(
            lambda: post(f"/api/photos/{key}/result", data={"format": "jpg"}), args.repeats
        )
    finally:
        server.terminate()
        server.wait(timeout=30)

    infer = [sys.executable, "infer.py", "--in", str(photo), "--out", str(work / "out.jpg"), "--ckpt", str(ckpt),
             "--size", str(args.size), "--device", "cpu", "--overwrite"]  # fmt: skip
    whole, own = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(infer, cwd=ROOT, env=env, capture_output=True, text=True)
        whole.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            sys.exit(f"app_latency: infer.py failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        line = [s for s in proc.stdout.splitlines() if " colorized, " in s][-1]
        own.append(float(line.split(" failed in ")[1].split("s")[0]))
    results["infer.py, whole command (start-up, model, photo)"] = whole
    results["infer.py, its own time for the photo (after start-up)"] = own

    print(f"{width}x{height} JPEG ({len(data) / 1e6:.1f} MB), render size {args.size}, {threads} threads, "
          f"{os.cpu_count()} CPUs, median of {args.repeats}\n")  # fmt: skip
    print("| step | seconds (median) | all runs |\n|---|---|---|")
    for name, secs in results.items():
        print(f"| {name} | {statistics.median(secs):.2f} | {', '.join(f'{s:.2f}' for s in secs)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
