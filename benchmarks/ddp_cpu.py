#!/usr/bin/env python3
"""Training throughput on CPU: ``torchrun --nproc_per_node=N`` (gloo, 1 thread each) against one process.

Both runs train the same global batch on the same photos (``--data``, default the bundled samples) for
``--epochs`` short epochs of ``--steps`` steps in the stage ``--stage``, from random weights, and report images/s
from the training log's per-epoch elapsed time, the first epoch (start-up, first allocations) left out::

    python benchmarks/ddp_cpu.py                       # 2 processes x 1 thread vs 1 process x 2 threads
    python benchmarks/ddp_cpu.py --stage gan --size 128 --batch 16

On a machine with as many cores as threads in total, no gain is expected from processes: the same cores do the
same arithmetic, plus the gradient all-reduce. The figure shows what torchrun costs on CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train(cmd_prefix: list[str], overrides: list[str], env: dict[str, str], run_dir: Path) -> dict[str, float]:
    cmd = [*cmd_prefix, str(ROOT / "train.py"), "-c", str(ROOT / "configs" / "demo.yaml"), *overrides]
    print("+", " ".join(cmd), flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"ddp_cpu: training failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {"elapsed": [x["elapsed_s"] for x in lines], "steps": [x["step"] for x in lines], "wall_s": wall}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT / "data" / "samples"))
    ap.add_argument("--nproc", type=int, default=2, help="torchrun processes (1 thread each)")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8, help="global batch (split over the processes)")
    ap.add_argument("--steps", type=int, default=6, help="at most this many steps per epoch")
    ap.add_argument("--epochs", type=int, default=4, help="epochs; the first is not counted")
    ap.add_argument("--stage", choices=("pretrain", "gan"), default="gan")
    args = ap.parse_args()
    if args.batch % args.nproc:
        ap.error(f"--batch {args.batch} must be divisible by --nproc {args.nproc}")
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    epochs = {"pretrain": [args.epochs, 0], "gan": [0, args.epochs]}[args.stage]
    results = {}
    with tempfile.TemporaryDirectory(prefix="ddp_cpu_") as tmp:
        for name, nproc, threads in (("one process", 1, args.nproc), (f"torchrun x{args.nproc}", args.nproc, 1)):
            overrides = [
                f"data.train={args.data}",
                "data.val_fraction=0",
                "data.workers=0",
                f"data.size={args.size}",
                f"data.batch_size={args.batch // nproc}",
                f"train.pretrain_epochs={epochs[0]}",
                f"train.gan_epochs={epochs[1]}",
                f"train.max_steps_per_epoch={args.steps}",
                f"train.threads={threads}",
                f"log.dir={tmp}/{nproc}",
                "log.samples=0",
                "log.name=bench",
            ]
            env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
            prefix = [sys.executable] if nproc == 1 else [torchrun, "--standalone", f"--nproc_per_node={nproc}"]
            rec = train(prefix, overrides, env, Path(tmp) / str(nproc) / "bench")
            seconds = rec["elapsed"][-1] - rec["elapsed"][0]
            images = (rec["steps"][-1] - rec["steps"][0]) * args.batch
            results[name] = {
                "images_per_s": images / seconds,
                "wall_s": rec["wall_s"],
                "threads_per_process": threads,
            }
    base = results["one process"]["images_per_s"]
    print(f"\n{args.stage} step, {args.size}x{args.size}, global batch {args.batch}, {os.cpu_count()} CPUs")
    print("| run | images/s | vs one process | wall s (incl. start-up) |\n|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['images_per_s']:.2f} | {r['images_per_s'] / base:.2f}x | {r['wall_s']:.1f} |")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
