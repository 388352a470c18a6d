#!/usr/bin/env python3
"""Inference speed and memory: ``infer.py`` against the seed reference's ``colorize`` on the same photos.

Both systems colorize ``../shared/data/val`` (48 full-size photos) on the CPU with the same number of threads and the
same render size, one after the other, ``--repeats`` times alternately; images/s is photos / wall-clock seconds of
the whole command (start-up and model loading included, for both). Weights are random on both sides (speed does not
depend on them): ours is a generator with the default decoder ``[256, 128, 64, 32, 16]`` saved as safetensors, the
reference's comes from ``seed_reference.py train --steps 1``. Then one large synthetic photo (``--large``, default
6000x4000) is colorized by ``infer.py`` in a fresh process whose peak resident memory is reported, beside a small
photo's (start-up, torch and the model) and the float path of ``Colorizer.colorize`` on the same large photo.

    python benchmarks/infer_speed.py                        # about 5 minutes on 2 cores
    python benchmarks/infer_speed.py --skip-reference --repeats 1 --large 12000x9000

Writes ``results.json`` and ``results.md`` under ``--out``. Exits 0 with a message when ``../shared`` is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]

PEAK_RSS = """
import json, resource, sys
sys.argv = ["infer.py"] + json.loads(sys.argv[1])
from unet_resnet.cli.infer import main
code = main(sys.argv[1:])
print("PEAK_RSS_MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, code)
"""

FLOAT_PATH_RSS = """
import resource, sys
from unet_resnet.inference.colorizer import Colorizer
from unet_resnet.data.imageio import read_photo
model = Colorizer.load(sys.argv[1], "cpu", "fp32", int(sys.argv[3]))
model.colorize([read_photo(sys.argv[2]).rgb])
print("PEAK_RSS_MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """Wall-clock seconds of ``cmd``; exits with its output when it fails."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(
            f"infer_speed: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return seconds


def peak_rss_mb(code: str, args: list[str], env: dict[str, str]) -> float:
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("PEAK_RSS_MB")]
    if not lines:
        sys.exit(f"infer_speed: memory probe failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return float(lines[-1].split()[1])


def make_generator(path: Path, size: int) -> None:
    """A random generator with the default decoder, exported as safetensors (what infer.py --ckpt reads)."""
    import torch

    from unet_resnet.export.formats import export_safetensors
    from unet_resnet.models.generator import UNetGenerator, model_spec

    torch.manual_seed(0)
    decoder = [256, 128, 64, 32, 16]
    export_safetensors(UNetGenerator("none", decoder, 2).eval(), model_spec(decoder, 2, size), path)


def make_large_photo(path: Path, width: int, height: int) -> None:
    """A smooth colour photo with grain, as JPEG (quality 90): worst case for memory, not for the codec."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    img = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    img = cv2.add(img, rng.integers(0, 12, size=img.shape, dtype=np.uint8))
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "infer_speed")
    ap.add_argument("--ref-python", type=Path, help="python of the reference venv (default: made by its setup script)")
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--size", type=int, default=256, help="render size for both systems")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--large", default="6000x4000", help="WIDTHxHEIGHT of the memory probe photo ('' to skip)")
    args = ap.parse_args()

    val, bench = args.shared / "data" / "val", args.shared / "bench"
    if not val.is_dir() or not (bench / "seed_reference.py").is_file():
        print(f"infer_speed: {args.shared} (photos and the seed reference) is not available; nothing to do")
        return 0
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    from unet_resnet.data.imageio import list_images

    photos = len(list_images(val))  # what infer.py will colorize
    threads = str(args.threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "PYTHONPATH": str(ROOT)}
    ours_ckpt = out / "G_random.safetensors"
    make_generator(ours_ckpt, args.size)
    ref_python = args.ref_python or bench / ".venv-reference" / "bin" / "python"
    ref_weights = out / "ref_G.pt"
    if not args.skip_reference and not ref_weights.exists():
        if not ref_python.exists():
            sys.exit(
                f"infer_speed: no reference venv at {ref_python}; "
                f"run {bench / 'setup_reference.sh'} or pass --ref-python"
            )
        timed([str(ref_python), str(bench / "seed_reference.py"), "--threads", threads, "train", "--data",
               str(args.shared / "data" / "train"), "--size", str(args.size), "--batch", "2", "--steps", "1",
               "--out", str(ref_weights)], env)  # fmt: skip

    ours = [sys.executable, "infer.py", "--in", str(val), "--ckpt", str(ours_ckpt), "--size", str(args.size),
            "--device", "cpu", "--overwrite", "--quiet"]  # fmt: skip
    systems: dict[str, list[str]] = {
        "ours, PNG out": [*ours, "--out", str(out / "ours_png"), "--format", "png"],
        "ours, JPEG out (the input's format, quality 95)": [*ours, "--out", str(out / "ours_jpg")],
        "ours, PNG out, --precision bf16": [*ours, "--out", str(out / "ours_bf16"), "--format", "png",
                                           "--precision", "bf16"],
    }  # fmt: skip
    if not args.skip_reference:
        systems["seed reference colorize (PNG out)"] = [
            str(ref_python), str(bench / "seed_reference.py"), "--threads", threads, "colorize", "--weights",
            str(ref_weights), "--in", str(val), "--out", str(out / "reference"), "--size", str(args.size),
        ]  # fmt: skip
    seconds: dict[str, list[float]] = {name: [] for name in systems}
    for r in range(args.repeats):
        for name, cmd in systems.items():
            seconds[name].append(timed(cmd, env))
            print(f"repeat {r + 1}: {name}: {photos / seconds[name][-1]:.2f} images/s", flush=True)
    rates = {name: photos / statistics.median(s) for name, s in seconds.items()}

    memory: dict[str, float] = {}
    if args.large:
        width, height = (int(v) for v in args.large.lower().split("x"))
        big_dir, small_dir = out / "large_in", out / "small_in"
        big_dir.mkdir(exist_ok=True)
        small_dir.mkdir(exist_ok=True)
        make_large_photo(big_dir / "large.jpg", width, height)
        make_large_photo(small_dir / "small.jpg", 64, 48)
        base = ["--ckpt", str(ours_ckpt), "--size", str(args.size), "--device", "cpu", "--overwrite", "--quiet"]
        for key, folder in (("small photo (64x48)", small_dir), (f"large photo ({width}x{height})", big_dir)):
            cli = json.dumps([*base, "--in", str(folder), "--out", str(out / f"{folder.name}_out")])
            memory[f"infer.py, {key}"] = peak_rss_mb(PEAK_RSS, [cli], env)
        memory[f"Colorizer.colorize float path, large photo ({width}x{height})"] = peak_rss_mb(
            FLOAT_PATH_RSS, [str(ours_ckpt), str(big_dir / "large.jpg"), str(args.size)], env
        )

    results = {
        "photos": photos,
        "size": args.size,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "repeats": args.repeats,
        "seconds": seconds,
        "images_per_s": rates,
        "peak_rss_mb": memory,
    }
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    ref_rate = rates.get("seed reference colorize (PNG out)")
    lines = [f"| system | images/s (median of {args.repeats}) | vs reference |", "|---|---|---|"]
    for name, rate in rates.items():
        ratio = f"{rate / ref_rate:.1f}x" if ref_rate else "–"
        lines.append(f"| {name} | {rate:.2f} | {ratio} |")
    if memory:
        lines += ["", "| process | peak RSS (MB) |", "|---|---|"]
        lines += [f"| {name} | {mb:.0f} |" for name, mb in memory.items()]
    table = "\n".join(lines) + "\n"
    (out / "results.md").write_text(table)
    print(table)
    print(f"results in {out}/ (results.json, results.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
