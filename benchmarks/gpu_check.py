#!/usr/bin/env python3
"""The GPU check: what one GPU does with this project, in one table, in at most about 8 minutes.

    python benchmarks/gpu_check.py                  # on a CUDA machine, from the repository root
    python benchmarks/gpu_check.py --device cpu     # dry run: every part, tiny, on the CPU (checks the script)

Parts (each in its own process, so a failure is one row, not the end of the check):

1. ``unet-resnet bench`` training steps at 256x256, batch 64, in fp32 / bf16 / bf16 + channels_last + compile:
   images/s of the L1 and GAN steps, peak GPU memory, and MFU (model FLOPs utilisation: the FLOPs of a step,
   measured by torch's FLOP counter on the networks, times the measured rate, over the GPU's peak ``--peak-tflops``).
2. The training loader alone (the loop's own seams: ``stage_loader`` and ``micro_batches``, batches as the device
   receives them) with 4, 8 and 16 workers on prepared photos (``../shared/data/train`` resized by
   ``unet-resnet prepare`` to 256 px first).
3. A 3-minute training of ``../shared/data/train`` with ``configs/coco.yaml``'s GPU settings (time budget 3 min):
   optimizer steps/s and images/s.
4. ``infer.py`` on a folder (``../shared/data/val``) with the model of part 3: photos/s of the whole command.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

LOADER_WORKER = """
import json, sys, time
from types import SimpleNamespace
import torch
from unet_resnet.config import load_config
from unet_resnet.data.dataset import LabDataset
from unet_resnet.data.photos import read_list
from unet_resnet.runtime.distributed import DistInfo
from unet_resnet.training import loop

photos, workers, device, seconds, size, batch = sys.argv[1:7]
cfg = load_config(None, [f"data.workers={workers}", f"data.size={size}", f"data.batch_size={batch}"])
dataset = LabDataset(read_list(photos), cfg.data.size, cfg.data.resize, cfg.data.flip, seed=0)
info = DistInfo(0, 0, 1, torch.device(device))
run = SimpleNamespace(cfg=cfg, info=info, train_set=dataset, train_loader=None)
loader = loop.stage_loader(run, "pretrain")
images, started, warm = 0, None, 2
for epoch in range(1000):
    for group in loop.micro_batches(loader.set_position(epoch, 0), 1, info.device, False):
        if warm:  # the workers' start-up is not the loader's rate
            warm -= 1
            continue
        if started is None:
            started = time.perf_counter()
        images += group[0][0].shape[0]
        if time.perf_counter() - started > float(seconds):
            break
    else:
        continue
    break
if info.device.type == "cuda":
    torch.cuda.synchronize()
print(json.dumps({"images_per_s": images / (time.perf_counter() - started)}))
"""


def run(cmd: list[str], timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    try:
        return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, 124, "", f"timed out after {timeout:.0f} s")


def failed(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    return f"failed ({proc.returncode}): {lines[-1][:120] if lines else 'no output'}"


def bench_rows(args: argparse.Namespace, tmp: Path) -> list[tuple[str, str, str]]:
    """Part 1: the training steps in three settings."""
    gpu = args.device != "cpu"
    size, batch, iters = (256, 64, 20) if gpu else (64, 2, 2)
    settings = [("fp32", ["--precision", "fp32"]), ("bf16", ["--precision", "bf16"])]
    settings.append(("bf16 + channels_last + compile", ["--precision", "bf16", "--channels-last", "--compile"]))
    rows = []
    for name, flags in settings:
        out = tmp / f"bench-{len(rows)}.json"
        cmd = [sys.executable, "-m", "unet_resnet", "bench", "--device", args.device, "--size", str(size)]
        cmd += ["--batch", str(batch), "--iters", str(iters), "--warmup", "3" if gpu else "1", *flags]
        cmd += ["--peak-tflops", str(args.peak_tflops), "--skip", "data,generator,postprocess,e2e", "--json", str(out)]
        proc = run(cmd, timeout=200 if gpu else 600)
        if proc.returncode != 0 or not out.is_file():
            rows.append((f"train step {size}px b{batch}, {name}", failed(proc), ""))
            continue
        r = json.loads(out.read_text())
        for kind in ("pretrain", "gan"):
            memory = f", {r[f'{kind}_peak_gpu_mb'] / 1024:.1f} GiB" if f"{kind}_peak_gpu_mb" in r else ""
            mfu = r.get(f"{kind}_peak_fraction", 0.0) * 100
            rows.append(
                (
                    f"{kind} step {size}px b{batch}, {name}",
                    f"{r[f'{kind}_images_per_s']:.0f} img/s",
                    f"MFU {mfu:.1f}%{memory}",
                )
            )
    return rows


def prepared_photos(args: argparse.Namespace, tmp: Path) -> Path | None:
    """``../shared/data/train`` resized to 256 px by ``unet-resnet prepare`` (its train list), or None."""
    out = tmp / "prepared"
    cmd = [sys.executable, "-m", "unet_resnet", "prepare", "--src", str(DATA / "train"), "--out", str(out)]
    cmd += ["--size", "256", "--val", "0", "--quiet"] + ([] if args.device != "cpu" else ["--limit", "24"])
    proc = run(cmd, timeout=120 if args.device != "cpu" else 300)
    listing = out / "train.txt"
    return listing if proc.returncode == 0 and listing.is_file() else None


def loader_rows(args: argparse.Namespace, photos: Path | None) -> list[tuple[str, str, str]]:
    """Part 2: the training loader alone with 4, 8, 16 workers."""
    if photos is None:
        return [("loader on prepared photos", "failed: prepare did not finish", "")]
    gpu = args.device != "cpu"
    rows = []
    for workers in (4, 8, 16) if gpu else (0, 1, 2):
        cmd = [sys.executable, "-c", LOADER_WORKER, str(photos), str(workers), args.device]
        cmd += ["12" if gpu else "3", "256" if gpu else "64", "64" if gpu else "2"]
        proc = run(cmd, timeout=90 if gpu else 300)
        lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
        value = f"{json.loads(lines[-1])['images_per_s']:.3g} img/s" if proc.returncode == 0 and lines else failed(proc)
        rows.append(
            (f"training loader, {workers} workers, 256px prepared photos", value, "uint8/float as the loop gets them")
        )
    return rows


def training_rows(args: argparse.Namespace, tmp: Path) -> tuple[list[tuple[str, str, str]], Path | None]:
    """Part 3: a 3-minute training with configs/coco.yaml's GPU settings; returns its rows and its best.pt."""
    gpu = args.device != "cpu"
    runs = tmp / "runs"
    overrides = [
        f"data.train={DATA / 'train'}",
        f"data.val={DATA / 'val'}",
        "model.encoder_weights=none",  # the GPU machine may have no network and no weight file
        f"train.time_budget_min={3.0 if gpu else 0.3}",
        f"train.device={args.device}",
        f"log.dir={runs}",
        "log.name=gpu_check",
        "log.samples=0",
    ]
    if not gpu:
        overrides += ["data.size=64", "data.batch_size=2", "data.workers=1", "model.decoder_channels=[32,16,16,8,8]"]
        overrides += ["train.precision=fp32", "train.max_steps_per_epoch=3", "train.precise_bn=4", "train.val_every=0"]
    cmd = [sys.executable, "train.py", "-c", "configs/coco.yaml", *overrides]
    started = time.perf_counter()
    proc = run(cmd, timeout=300 if gpu else 900)
    wall = time.perf_counter() - started
    metrics = runs / "gpu_check" / "metrics.jsonl"
    if proc.returncode != 0 or not metrics.is_file():
        return [("training, 3 min, configs/coco.yaml", failed(proc), "")], None
    lines = [json.loads(x) for x in metrics.read_text().splitlines()]
    import torch  # here only: the rest of the check runs without it

    last = torch.load(runs / "gpu_check" / "last.pt", map_location="cpu", weights_only=True)
    cfg = last["config"]
    steps, elapsed = last["progress"]["step"], sum(last["progress"]["elapsed"].values())
    per_step = cfg["data"]["batch_size"] * cfg["train"]["accum_steps"]
    score = lines[-1].get("val_ab_l1", 0.0)
    note = f"{steps} steps in {elapsed:.0f} s of training, {wall:.0f} s wall; val ab L1 {score:.2f}"
    return [("training, configs/coco.yaml GPU settings", f"{steps * per_step / max(elapsed, 1e-9):.3g} img/s", note)], (
        runs / "gpu_check" / "best.pt"
    )


def infer_rows(args: argparse.Namespace, tmp: Path, ckpt: Path | None) -> list[tuple[str, str, str]]:
    """Part 4: infer.py over a folder, the whole command timed."""
    if ckpt is None or not ckpt.is_file():
        return [("infer.py on a folder", "failed: no model from the training part", "")]
    folder = DATA / "val"
    count = len([p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")])
    precision = "bf16" if args.device != "cpu" else "fp32"
    cmd = [sys.executable, "infer.py", "--in", str(folder), "--out", str(tmp / "colorized"), "--ckpt", str(ckpt)]
    cmd += ["--device", args.device, "--precision", precision]
    started = time.perf_counter()
    proc = run(cmd, timeout=120 if args.device != "cpu" else 600)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        return [("infer.py on a folder", failed(proc), "")]
    return [
        (
            f"infer.py on {count} photos ({precision})",
            f"{count / wall:.1f} photos/s",
            f"{wall:.1f} s, start-up included",
        )
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu for a dry run of every part")
    p.add_argument("--peak-tflops", type=float, default=989.0, help="the GPU's dense bf16 peak (H100/H200 SXM: 989)")
    p.add_argument(
        "--skip", default="", help="comma-separated parts to leave out: bench,loader,train (train: infer too)"
    )
    args = p.parse_args()
    skip = {x.strip() for x in args.skip.split(",") if x.strip()}
    if skip - {"bench", "loader", "train"}:
        sys.exit(f"gpu_check: --skip {args.skip}: the parts are bench, loader, train")
    if not (DATA / "train").is_dir():
        sys.exit(f"gpu_check: the photos are missing: {DATA / 'train'}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as name:
        tmp = Path(name)
        rows = bench_rows(args, tmp) if "bench" not in skip else []
        rows += loader_rows(args, prepared_photos(args, tmp)) if "loader" not in skip else []
        if "train" not in skip:
            train, ckpt = training_rows(args, tmp)
            rows += train + infer_rows(args, tmp, ckpt)
        if not rows:
            sys.exit("gpu_check: every part was skipped")
    width = max(len(r[0]) for r in rows)
    print(f"\ngpu_check on {args.device} ({time.perf_counter() - started:.0f} s)")
    print(f"| {'what':<{width}} | {'rate':>16} | notes |")
    print(f"|{'-' * (width + 2)}|{'-' * 18}|-------|")
    for what, rate, notes in rows:
        print(f"| {what:<{width}} | {rate:>16} | {notes} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
