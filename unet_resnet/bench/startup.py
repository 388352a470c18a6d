"""Start-up of the inference command as a user meets it: a fresh process that colorizes one small photo.

The figure is the wall time of the whole ``python -m unet_resnet infer`` command (the same code as ``infer.py``):
interpreter start, imports (torch, OpenCV), checkpoint loading, one forward pass, writing the result. It is what
a user waits for on every call, on top of the per-photo time that the in-process benchmarks measure.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch.nn as nn


class StartupError(RuntimeError):
    """The measured command failed; the message holds the end of its output."""


def infer_startup_seconds(ckpt: str | Path, photo: str | Path, device: str = "cpu", repeats: int = 3) -> float:
    """Median wall seconds of ``python -m unet_resnet infer`` on ``photo`` with ``ckpt`` over ``repeats`` runs.

    Each run is a new process (so nothing is cached in the interpreter) and writes into a temporary folder; one
    unmeasured run first warms the operating system's file cache.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    seconds = []
    with tempfile.TemporaryDirectory(prefix="unet_resnet_startup_") as tmp:
        command = [
            sys.executable, "-m", "unet_resnet", "infer", "--in", str(photo), "--out", str(Path(tmp) / "out"),
            "--ckpt", str(ckpt), "--device", device, "--quiet", "--overwrite",
        ]  # fmt: skip
        for i in range(repeats + 1):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - start
            if done.returncode != 0:
                raise StartupError(
                    f"infer on {photo} failed (exit code {done.returncode}): {done.stderr.strip()[-500:]}; "
                    "run the command by hand to see why: " + " ".join(command)
                )
            if i:
                seconds.append(elapsed)
    return statistics.median(seconds)


def generator_startup_seconds(
    G: nn.Module, spec: dict[str, Any], photo: str | Path, device: str = "cpu", repeats: int = 3
) -> float:
    """:func:`infer_startup_seconds` of generator ``G`` (saved as an exported ``.pt`` to a temporary folder)."""
    from unet_resnet.export.formats import export_pt

    with tempfile.TemporaryDirectory(prefix="unet_resnet_startup_") as tmp:
        ckpt = Path(tmp) / "generator.pt"
        export_pt(G, spec, ckpt)
        return infer_startup_seconds(ckpt, photo, device, repeats)
