"""Numeric precision: which dtype a run computes in, and the one autocast context both networks use.

As in nanoGPT, the loop never branches on precision: it enters ``autocast()`` around every forward pass (a no-op in
fp32) and steps through a ``GradScaler`` that is enabled only for fp16.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager

import torch

from unet_resnet.config import ConfigError

AutocastFactory = Callable[[], AbstractContextManager[object]]
"""A fresh context manager per call: ``with autocast(): out = G(x)``."""

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """``fp32`` / ``bf16`` / ``fp16``, or ``auto``: bf16 on a GPU that supports it, fp32 otherwise.

    CPU autocast is opt-in (``bf16``); fp16 needs CUDA, since its gradient scaler does.
    """
    if name == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if name not in DTYPES:
        raise ConfigError(f"precision {name!r} is not one of auto, {', '.join(DTYPES)}")
    if name == "fp16" and device.type != "cuda":
        raise ConfigError("train.precision=fp16 needs a CUDA device; on CPU use bf16 or fp32")
    return DTYPES[name]


def autocast_factory(device: torch.device, dtype: torch.dtype) -> AutocastFactory:
    """One context for G and D: autocast to ``dtype`` on ``device``'s type, or nothing for fp32."""

    def factory() -> AbstractContextManager[object]:
        if dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=dtype)

    return factory
