"""``unet-resnet bench``: throughput and memory of this project on this machine.

What each figure measures: :mod:`unet_resnet.bench.bench`. The training steps run in child processes of this
same command (``--worker pretrain|gan``, hidden), each printing its figures as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import fields
from pathlib import Path

from unet_resnet.bench.bench_options import DEFAULT_DECODER, SECTIONS, BenchOptions


def parse_args(argv: list[str] | None, prog: str | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog=prog or "unet-resnet bench",
        description="Measure the data pipeline, the training steps, inference and end-to-end inference.",
        epilog="example: unet-resnet bench --size 256 --batch 4 --threads 2 --infer-data data/samples",
    )
    p.add_argument("--size", type=int, default=256, help="training and render resolution (default 256)")
    p.add_argument("--batch", type=int, default=4, help="training batch (default 4)")
    p.add_argument("--infer-batch", type=int, default=1, help="batch of the generator-only inference (default 1)")
    p.add_argument("--iters", type=int, default=8, help="timed repetitions per figure (default 8)")
    p.add_argument("--warmup", type=int, default=2, help="untimed repetitions first (default 2)")
    p.add_argument("--threads", type=int, default=2, help="torch and OpenCV threads; 0 keeps the defaults")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
    p.add_argument("--channels-last", action="store_true", help="models and batches in channels_last")
    p.add_argument("--compile", action="store_true", help="torch.compile the models (warm-up includes compiling)")
    p.add_argument("--decoder-channels", type=int, nargs=5, default=list(DEFAULT_DECODER), metavar="C")
    p.add_argument("--data", default="data/samples", help="photos for the data pipeline (default data/samples)")
    p.add_argument("--data-limit", type=int, default=0, help="use the first N photos of --data (0: all)")
    p.add_argument("--infer-data", default="data/samples", help="full-size photos for end-to-end inference")
    p.add_argument("--infer-limit", type=int, default=0, help="use the first N photos of --infer-data (0: all)")
    p.add_argument("--e2e-repeats", type=int, default=1, help="timed end-to-end runs over --infer-data")
    p.add_argument("--peak-tflops", type=float, default=0.0, help="device peak (e.g. bf16 dense) for peak fractions")
    p.add_argument("--skip", default="", help=f"comma-separated sections to leave out: {','.join(SECTIONS)}")
    p.add_argument("--json", help="also write the JSON object to this file")
    p.add_argument("--worker", choices=("pretrain", "gan"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.size < 32 or args.size % 32:
        p.error(f"--size must be a positive multiple of 32 (the encoder's stride), got {args.size}")
    if min(args.batch, args.infer_batch, args.iters, args.e2e_repeats) < 1 or args.warmup < 0:
        p.error("--batch, --infer-batch, --iters and --e2e-repeats must be at least 1, --warmup at least 0")
    return args


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = parse_args(argv, prog)
    opts = BenchOptions(**{f.name: getattr(args, f.name) for f in fields(BenchOptions)})
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    import cv2
    import torch

    from unet_resnet.bench.bench_options import BenchError

    if args.threads > 0:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    try:
        if args.worker:
            from unet_resnet.bench.step_bench import train_worker
            from unet_resnet.runtime.distributed import pick_device

            print(json.dumps(train_worker(opts, args.worker, pick_device(args.device))))
            return 0
        from unet_resnet.bench.bench import run_bench, table
        from unet_resnet.cli.infer import main as infer_main

        out = run_bench(opts, infer_main)
    except (BenchError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(table(out))
    print(json.dumps(out))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0
