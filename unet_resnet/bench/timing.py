"""Measuring on this machine: median wall times (GPU work included), peak memory, multiply-accumulates, and what
the machine is."""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode


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
