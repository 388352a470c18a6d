#!/usr/bin/env python3
"""Loading a model folder against loading the training checkpoint it was exported from.

Exports ``--ckpt`` (a training checkpoint, e.g. a run's ``best.pt``) to a model folder in a scratch directory, then
``--repeats`` times, alternately A then B, in fresh processes:

- ``load``: ``Colorizer.load(best.pt)`` against ``Colorizer.from_pretrained(folder)`` (seconds inside the process,
  after the imports);
- ``infer``: the whole command ``python -m unet_resnet infer --ckpt X --in PHOTO --out ...`` on one photo (wall
  seconds, start-up and the model's load included).

Prints the medians and the file sizes; writes nothing else. Times on a loaded machine are noisy: compare A and B of
the same run only.

    python benchmarks/model_load.py --ckpt runs/demo/best.pt --photo data/samples/<photo> --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOAD = """
import sys, time
from unet_resnet.inference.colorizer import Colorizer
t = time.perf_counter()
Colorizer.load(sys.argv[1], "cpu")
print("LOAD_S", time.perf_counter() - t)
"""


def run(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    t = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t, proc.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ckpt", type=Path, required=True, help="a training checkpoint (best.pt)")
    ap.add_argument("--photo", type=Path, required=True, help="one photo for the whole-command timing")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(args.threads), "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        run([sys.executable, "-m", "unet_resnet", "export", "--ckpt", str(args.ckpt), "--out", f"{folder}/"], env)
        sources = {"best.pt": str(args.ckpt), "folder": str(folder)}
        load: dict[str, list[float]] = {k: [] for k in sources}
        infer: dict[str, list[float]] = {k: [] for k in sources}
        for _ in range(args.repeats):
            for name, source in sources.items():
                _, out = run([sys.executable, "-c", LOAD, source], env)
                load[name].append(float(out.split("LOAD_S")[1].split()[0]))
                wall, _ = run(
                    [sys.executable, "-m", "unet_resnet", "infer", "--ckpt", source, "--in", str(args.photo),
                     "--out", str(Path(tmp) / f"out-{name}.png"), "--overwrite", "--quiet", "--device", "cpu"],
                    env,
                )  # fmt: skip
                infer[name].append(wall)
        weights = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    print(f"sizes: {args.ckpt.name} {args.ckpt.stat().st_size / 1e6:.1f} MB, model folder {weights:.1f} MB")
    print(f"{args.repeats} alternating runs of each, medians:")
    print(f"{'source':<10} {'load (s)':>10} {'infer.py one photo (s)':>24}")
    for name in sources:
        print(f"{name:<10} {statistics.median(load[name]):>10.3f} {statistics.median(infer[name]):>24.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
