"""The torch version this package needs, and the backend switches a training run sets for its device."""

from __future__ import annotations

import torch

MIN_TORCH = (2, 3)
"""``torch.amp.GradScaler(device)`` (the gradient scaler of every run) exists from torch 2.3 on; setup.cfg's
``install_requires`` states the same floor."""


def configure_backends(device: torch.device) -> None:
    """On CUDA: let cuDNN pick the fastest convolution algorithms for the run's fixed shapes (``benchmark``; a
    training run's shapes do not change from step to step), and let fp32 matmuls and convolutions use TF32 tensor
    cores. Nothing changes on CPU."""
    if device.type != "cuda":
        return
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
