"""``unet-resnet bench``: throughput and memory of this project, measured on the machine it runs on.

Every rate is a median over ``--iters`` timed repetitions that follow ``--warmup`` untimed ones:

- ``data_images_per_s``: the training dataset (:class:`~unet_resnet.data.dataset.LabDataset`: decode, resize, flip, Lab,
  tensors) in this one process, as one DataLoader worker runs it, over the photos of ``--data``.
- ``pretrain_images_per_s`` and ``gan_images_per_s``: :func:`~unet_resnet.training.steps.pretrain_step` and
  :func:`~unet_resnet.training.steps.gan_step` on
  random ``(L, ab)`` batches at ``--size`` and ``--batch``, the models built
  and wrapped as training builds them. Each runs in a fresh process, so that its peak memory (RSS, and CUDA memory
  on a GPU) is its own.
- ``generator_images_per_s`` (batch ``--infer-batch``) and ``generator_batch_images_per_s`` (batch ``--batch``):
  the generator alone, in eval mode without gradients.
- ``postprocess_images_per_s``: the full-resolution half of inference on a 1024x768 photo (the photo's Lab, ab
  upsampled, back to 8-bit RGB).
- ``e2e_images_per_s``: ``infer`` over ``--infer-data`` (decode, predict, merge, encode, write to a temporary
  folder) with a random-weight generator checkpoint.
- parameters and forward multiply-accumulates (MACs) of both networks at ``--size``.

The last line printed is the JSON object; a table comes before it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

log = logging.getLogger(__name__)

DEFAULT_DECODER = (256, 128, 64, 32, 16)
SECTIONS = ("data", "pretrain", "gan", "generator", "postprocess", "e2e")
POSTPROCESS_SIZE = (1024, 768)  # (width, height) of the photo the full-resolution merge is timed on


class BenchError(RuntimeError):
    """A benchmark that cannot run as asked; the message says what to change."""


# ------------------------------------------------------------------------------------------------- measuring
def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(fn: Callable[[], object], iters: int, warmup: int, device: torch.device) -> float:
    """Median wall time of ``fn()`` over ``iters`` calls after ``warmup`` untimed calls (GPU work included)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, iters)):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def count_macs(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass (convolutions and matrix products: FLOPs / 2)."""
    was_training = model.training
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*inputs)
    model.train(was_training)
    return int(counter.get_total_flops()) // 2


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------------------------------------- the models
def build_training(
    size: int, batch: int, decoder_channels: Sequence[int], device: torch.device, precision: str,
    channels_last: bool, compile_: bool,
) -> tuple[Any, Any, Any, Any, list[tuple[torch.Tensor, torch.Tensor]]]:  # fmt: skip
    """``Nets``, both optimizers, autocast factory, dtype and one random batch, built as training builds them."""
    from unet_resnet.config import Config
    from unet_resnet.models.discriminator import PatchDiscriminator
    from unet_resnet.models.generator import UNetGenerator
    from unet_resnet.runtime.distributed import DistInfo
    from unet_resnet.training.run import autocast_factory, build_step_state, resolve_precision

    cfg = Config()
    cfg.model.decoder_channels = list(decoder_channels)
    cfg.train.channels_last, cfg.train.compile = channels_last, compile_
    info = DistInfo(0, 0, 1, device)
    torch.manual_seed(0)
    G = UNetGenerator("none", decoder_channels, 2)
    D = PatchDiscriminator(in_channels=3, base=cfg.model.disc_channels)
    dtype = resolve_precision(precision, device)
    nets, opt_G, opt_D = build_step_state(G, D, cfg, info, dtype)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    L = torch.rand(batch, 1, size, size, device=device).contiguous(memory_format=fmt)
    ab = (torch.rand(batch, 2, size, size, device=device) * 1.2 - 0.6).contiguous(memory_format=fmt)
    autocast = autocast_factory(device, dtype)
    return nets, (opt_G, opt_D), autocast, dtype, [(L, ab)]


def train_worker(args: argparse.Namespace, device: torch.device) -> dict[str, float]:
    """Time one training step kind (``args.worker``) in this process; report its rate and peak memory."""
    from unet_resnet.training.steps import gan_step, pretrain_step

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    nets, (opt_G, opt_D), autocast, _, batches = build_training(
        args.size, args.batch, args.decoder_channels, device, args.precision, args.channels_last, args.compile
    )
    if args.worker == "pretrain":
        seconds = median_seconds(
            lambda: pretrain_step(nets.G, opt_G, batches, autocast), args.iters, args.warmup, device
        )
    else:
        seconds = median_seconds(
            lambda: gan_step(nets, opt_G, opt_D, batches, 100.0, autocast), args.iters, args.warmup, device
        )
    out = {"images_per_s": args.batch / seconds, "peak_rss_mb": peak_rss_mb()}
    if device.type == "cuda":
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


def run_train_worker(kind: str, argv: list[str]) -> dict[str, float]:
    """Run :func:`train_worker` in a fresh Python process and return what it reports."""
    package_root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    cmd = [sys.executable, "-m", "unet_resnet.evaluation.bench", *argv, "--worker", kind]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise BenchError(f"the {kind} measurement failed (exit code {proc.returncode}):\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


# ------------------------------------------------------------------------------------------------- sections
def data_rate(paths: Sequence[Path], size: int, iters: int, warmup: int) -> float:
    """Images/s of the training dataset over ``paths`` (squash, random flips), one thread as in a worker."""
    from unet_resnet.data.dataset import LabDataset

    dataset = LabDataset(paths, size, "squash", flip=True, seed=0)
    epoch = iter(range(1 << 30))  # a new epoch per pass: other flips, same photos

    def one_pass() -> None:
        e = next(epoch)
        for i in range(len(dataset)):
            dataset[(i, e)]

    torch_threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)  # a DataLoader worker runs with one torch thread; OpenCV is held to one as well
    cv2.setNumThreads(1)
    try:
        seconds = median_seconds(one_pass, iters, min(warmup, 1), torch.device("cpu"))
    finally:
        torch.set_num_threads(torch_threads)
        cv2.setNumThreads(cv_threads)
    return len(dataset) / seconds


def generator_rate(
    G: nn.Module, batch: int, size: int, device: torch.device, dtype: torch.dtype, channels_last: bool,
    iters: int, warmup: int,
) -> float:  # fmt: skip
    """Images/s of the generator alone (eval mode, no gradients) on a random batch."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    L = torch.rand(batch, 1, size, size, device=device).contiguous(memory_format=fmt)

    @torch.no_grad()
    def forward() -> None:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            G(L)

    return batch / median_seconds(forward, iters, warmup, device)


def postprocess_rate(photo: Path, size: int, iters: int, warmup: int) -> float:
    """Images/s of inference's full-resolution merge (the photo's L + upsampled ab -> 8-bit RGB) at 1024x768."""
    from unet_resnet.data.color import to_uint8
    from unet_resnet.data.imageio import read_photo
    from unet_resnet.inference.colorizer import Colorizer

    rgb = cv2.resize(read_photo(photo).rgb, POSTPROCESS_SIZE, interpolation=cv2.INTER_AREA)
    ab = np.random.default_rng(0).uniform(-0.5, 0.5, (2, size, size)).astype(np.float32)
    return 1.0 / median_seconds(lambda: to_uint8(Colorizer.merge(rgb, ab)), iters, warmup, torch.device("cpu"))


def e2e_rate(G: nn.Module, spec: dict[str, Any], photos: Sequence[Path], device: torch.device, precision: str,
             repeats: int) -> float:  # fmt: skip
    """Images/s of ``infer`` over ``photos``, model loading included, after one warm-up run on the first photo."""
    from unet_resnet.inference.export import export_pt
    from unet_resnet.inference.pipeline import main as infer_main

    with tempfile.TemporaryDirectory(prefix="unet_resnet_bench_") as tmp:
        root = Path(tmp)
        ckpt = root / "generator.pt"
        export_pt(G, spec, ckpt)
        inp = root / "in"
        inp.mkdir()
        for i, src in enumerate(photos):  # links keep the photos' own bytes and formats, limited to this list
            (inp / f"{i:05d}_{src.name}").symlink_to(src.resolve())
        common = ["--ckpt", str(ckpt), "--device", str(device), "--precision", precision, "--overwrite", "--quiet"]

        def run(src: Path, dst: Path) -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                code = infer_main(["--in", str(src), "--out", str(dst), *common])
            if code != 0:
                raise BenchError(f"infer failed on {src} (exit code {code}); run infer.py on it to see why")

        first = next(iter(sorted(inp.iterdir())))
        run(first, root / "warm" / first.name)
        seconds = median_seconds(lambda: run(inp, root / "out"), repeats, 0, device)
    return len(photos) / seconds


# ------------------------------------------------------------------------------------------------- the run
def machine(device: torch.device, threads: int) -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu,
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "torch": torch.__version__,
        "mkldnn": torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
    }
    return info


def photos_of(folder: str, limit: int, what: str) -> list[Path]:
    from unet_resnet.data.imageio import list_images

    if not Path(folder).is_dir():
        raise BenchError(f"{what} {folder} is not a folder of photos; pass another one or --skip the sections using it")
    paths = list_images(folder)
    if not paths:
        raise BenchError(f"{what} {folder} holds no photos (.jpg .jpeg .png .bmp .tif .tiff .webp)")
    return paths[:limit] if limit > 0 else paths


def worker_argv(args: argparse.Namespace, device: torch.device) -> list[str]:
    """The options a training-step worker needs, as a command line."""
    argv = ["--size", str(args.size), "--batch", str(args.batch), "--iters", str(args.iters)]
    argv += ["--warmup", str(args.warmup), "--threads", str(args.threads), "--device", str(device)]
    argv += ["--precision", args.precision, "--decoder-channels", *map(str, args.decoder_channels)]
    return argv + ["--channels-last"] * args.channels_last + ["--compile"] * args.compile


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """All sections not in ``args.skip``; returns the flat result dict printed as JSON."""
    from unet_resnet.models.generator import UNetGenerator, model_spec
    from unet_resnet.runtime.distributed import pick_device
    from unet_resnet.training.run import resolve_precision

    device = pick_device(args.device)
    dtype = resolve_precision(args.precision, device)
    precision = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if skip - set(SECTIONS):
        raise BenchError(f"--skip {args.skip}: unknown section(s) {sorted(skip - set(SECTIONS))}; use {SECTIONS}")
    out: dict[str, Any] = {"system": "unet_resnet", **machine(device, torch.get_num_threads())}
    out |= {"size": args.size, "batch": args.batch, "infer_batch": args.infer_batch, "precision": precision,
            "channels_last": args.channels_last, "compile": args.compile,
            "decoder_channels": list(args.decoder_channels), "iters": args.iters, "warmup": args.warmup}  # fmt: skip

    from unet_resnet.models.discriminator import PatchDiscriminator

    torch.manual_seed(0)
    G = UNetGenerator("none", args.decoder_channels, 2)
    D = PatchDiscriminator(in_channels=3)
    size = args.size
    out["generator_params"], out["discriminator_params"] = n_params(G), n_params(D)
    out["generator_gmacs"] = count_macs(G, torch.rand(1, 1, size, size)) / 1e9
    out["discriminator_gmacs"] = count_macs(D, torch.rand(1, 1, size, size), torch.rand(1, 2, size, size)) / 1e9

    if "data" not in skip:
        paths = photos_of(args.data, args.data_limit, "--data")
        log.info("data pipeline on %d photos of %s", len(paths), args.data)
        out |= {"data_images_per_s": data_rate(paths, size, args.iters, args.warmup), "data_photos": len(paths)}
    for kind in ("pretrain", "gan"):
        if kind not in skip:
            log.info("%s step in a fresh process", kind)
            res = run_train_worker(kind, worker_argv(args, device))
            out[f"{kind}_images_per_s"], out[f"{kind}_peak_rss_mb"] = res["images_per_s"], res["peak_rss_mb"]
            if "peak_gpu_mb" in res:
                out[f"{kind}_peak_gpu_mb"] = res["peak_gpu_mb"]
    peaks = [out[k] for k in ("pretrain_peak_rss_mb", "gan_peak_rss_mb") if k in out]
    if peaks:
        out["train_peak_rss_mb"] = max(peaks)
    if "generator" not in skip:
        log.info("generator inference")
        Gi = G.to(device).eval()
        if args.channels_last:
            Gi = Gi.to(memory_format=torch.channels_last)
        if args.compile:
            Gi = torch.compile(Gi)  # type: ignore[assignment]
        rate_args = (size, device, dtype, args.channels_last, args.iters, args.warmup)
        out["generator_images_per_s"] = generator_rate(Gi, args.infer_batch, *rate_args)
        out["generator_batch_images_per_s"] = generator_rate(Gi, args.batch, *rate_args)
        G = G.cpu()
    if "postprocess" not in skip:
        photo = photos_of(args.infer_data, 1, "--infer-data")[0]
        out["postprocess_images_per_s"] = postprocess_rate(photo, size, args.iters, args.warmup)
    if "e2e" not in skip:
        photos = photos_of(args.infer_data, args.infer_limit, "--infer-data")
        log.info("end-to-end inference on %d photos of %s", len(photos), args.infer_data)
        spec = model_spec(args.decoder_channels, 2, size)
        out |= {"e2e_images_per_s": e2e_rate(G, spec, photos, device, precision, args.e2e_repeats),
                "e2e_photos": len(photos)}  # fmt: skip
    if args.peak_tflops > 0:  # FLOPs = 2 per MAC forward + 4 per MAC backward, per network trained through
        peak = args.peak_tflops * 1e12
        g, d = out["generator_gmacs"] * 1e9, out["discriminator_gmacs"] * 1e9
        for key, flops in (("pretrain", 6 * g), ("gan", 6 * (g + 3 * d)), ("generator", 2 * g)):
            if f"{key}_images_per_s" in out:
                out[f"{key}_peak_fraction"] = flops * out[f"{key}_images_per_s"] / peak
    return out


ROWS = (
    ("data_images_per_s", "data pipeline (1 worker)", "images/s"),
    ("pretrain_images_per_s", "L1 pretraining step", "images/s"),
    ("gan_images_per_s", "GAN step (D + G)", "images/s"),
    ("train_peak_rss_mb", "peak RSS of a training step", "MiB"),
    ("pretrain_peak_gpu_mb", "peak GPU memory, pretraining", "MiB"),
    ("gan_peak_gpu_mb", "peak GPU memory, GAN step", "MiB"),
    ("generator_images_per_s", "generator inference (infer batch)", "images/s"),
    ("generator_batch_images_per_s", "generator inference (batch)", "images/s"),
    ("postprocess_images_per_s", "full-resolution merge, 1024x768", "images/s"),
    ("e2e_images_per_s", "end to end (infer)", "images/s"),
    ("pretrain_peak_fraction", "pretraining, fraction of peak", ""),
    ("gan_peak_fraction", "GAN step, fraction of peak", ""),
)


def table(out: dict[str, Any]) -> str:
    """The figures of :func:`run_bench` as aligned text."""
    lines = [
        f"unet_resnet bench on {out['device']} ({out['device_name']}), {out['threads']} threads, "
        f"{out['size']}x{out['size']}, batch {out['batch']}, {out['precision']}, decoder {out['decoder_channels']}",
        f"  generator: {out['generator_params'] / 1e6:.2f} M parameters, {out['generator_gmacs']:.2f} GMACs/image; "
        f"discriminator: {out['discriminator_params'] / 1e6:.2f} M, {out['discriminator_gmacs']:.2f} GMACs/image",
    ]
    for key, name, unit in ROWS:
        if key in out:
            lines.append(f"  {name:<36} {out[key]:>10.3f} {unit}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="unet-resnet bench",
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    try:
        if args.worker:
            from unet_resnet.runtime.distributed import pick_device

            print(json.dumps(train_worker(args, pick_device(args.device))))
            return 0
        out = run_bench(args)
    except (BenchError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(table(out))
    print(json.dumps(out))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
