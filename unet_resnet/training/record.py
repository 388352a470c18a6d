"""What a run records about how its model was made, for model cards: the data's size, the hardware, the encoder's
initialisation. Steps and wall time are in the checkpoint's progress already; the resolved config is stored beside.

The record is a plain dict saved in every training checkpoint under ``record``
(:func:`unet_resnet.models.checkpoint.training_record` reads it back).
"""

from __future__ import annotations

import platform
from typing import Any

import torch

from unet_resnet.config import Config
from unet_resnet.models.imagenet import auto_encoder_weights, describe_encoder_weights
from unet_resnet.models.provenance import library_version
from unet_resnet.runtime.distributed import DistInfo


def encoder_source(cfg: Config, resumed: bool) -> tuple[str, str]:
    """``(what build_encoder is given, how the record names it)`` for a new run; ``auto`` is resolved here (it may
    try a short download, :mod:`unet_resnet.models.imagenet`). A resumed run or one started from a generator builds
    random weights that the checkpoint then replaces."""
    if resumed:
        return "none", "as recorded by the resumed checkpoint"
    if cfg.train.init_generator:
        return "none", f"the generator of {cfg.train.init_generator} (fine-tuned)"
    weights = cfg.model.encoder_weights
    if weights == "auto":
        return auto_encoder_weights()
    return weights, describe_encoder_weights(weights)


def hardware(info: DistInfo) -> str:
    """The device training ran on, in words: the GPU's name, or the CPU's with its thread count."""
    if info.device.type == "cuda":
        return torch.cuda.get_device_name(info.device)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} torch threads"


def run_record(cfg: Config, info: DistInfo, train_photos: int, val_photos: int, encoder: str) -> dict[str, Any]:
    """The record of a new run (plain types only)."""

    return {
        "data": cfg.data.train,
        "train_photos": int(train_photos),
        "val_photos": int(val_photos),
        "hardware": hardware(info),
        "device": str(info.device),
        "world_size": int(info.world_size),
        "encoder_weights": encoder,
        "torch": str(torch.__version__),  # a TorchVersion, which weights_only loading refuses
        "unet_resnet": library_version(),
    }
