"""The training-step figures of ``unet-resnet bench``: each step kind timed in a fresh process of its own, so that
its peak memory (RSS, and CUDA memory on a GPU) is its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from unet_resnet.bench.bench_options import BenchError, BenchOptions
from unet_resnet.bench.timing import median_seconds, peak_rss_mb


def build_training(
    size: int, batch: int, decoder_channels: Sequence[int], device: torch.device, precision: str,
    channels_last: bool, compile_: bool,
) -> tuple[Any, Any, Any, Any, list[tuple[torch.Tensor, torch.Tensor]]]:  # fmt: skip
    """``Nets``, both optimizers, autocast factory, dtype and one random batch, built as training builds them."""
    from unet_resnet.config import Config
    from unet_resnet.models.discriminator import PatchDiscriminator
    from unet_resnet.models.generator import UNetGenerator
    from unet_resnet.runtime.distributed import DistInfo
    from unet_resnet.runtime.precision import autocast_factory, resolve_precision
    from unet_resnet.training.setup import build_step_state

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


def train_worker(opts: BenchOptions, kind: str, device: torch.device) -> dict[str, float]:
    """Time one training step kind (``pretrain`` or ``gan``) in this process; report its rate and peak memory."""
    from unet_resnet.training.steps import gan_step, pretrain_step

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    nets, (opt_G, opt_D), autocast, _, batches = build_training(
        opts.size, opts.batch, opts.decoder_channels, device, opts.precision, opts.channels_last, opts.compile
    )
    if kind == "pretrain":
        seconds = median_seconds(
            lambda: pretrain_step(nets.G, opt_G, batches, autocast), opts.iters, opts.warmup, device
        )
    else:
        seconds = median_seconds(
            lambda: gan_step(nets, opt_G, opt_D, batches, 100.0, autocast), opts.iters, opts.warmup, device
        )
    out = {"images_per_s": opts.batch / seconds, "peak_rss_mb": peak_rss_mb()}
    if device.type == "cuda":
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


def run_train_worker(kind: str, opts: BenchOptions, device: torch.device) -> dict[str, float]:
    """Run :func:`train_worker` in a fresh Python process (``python -m unet_resnet bench --worker KIND ...``, whose
    last JSON line is the result) and return what it reports."""
    package_root = str(Path(__file__).resolve().parents[2])  # the folder holding the package, for a source checkout
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    cmd = [sys.executable, "-m", "unet_resnet", "bench", *opts.worker_argv(str(device)), "--worker", kind]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise BenchError(f"the {kind} measurement failed (exit code {proc.returncode}):\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])
