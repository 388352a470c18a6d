"""What every model file format shares: the error of a file that is not a model of this project, the spec's metadata
key, and bare state dicts (wrappers unwrapped, prefixes stripped, on the CPU)."""

from __future__ import annotations

from typing import cast

import torch
import torch.nn as nn

SPEC_KEY = "unet_resnet_spec"
"""Metadata key of the generator's spec (JSON) in a ``.safetensors`` or ONNX export."""


class CheckpointError(ValueError):
    """A file that is not a checkpoint of this project, or one that does not fit the model."""


def unwrap(model: nn.Module) -> nn.Module:
    """The bare module inside DDP (``.module``) and ``torch.compile`` (``._orig_mod``) wrappers."""
    while True:
        if hasattr(model, "_orig_mod"):
            model = cast(nn.Module, model._orig_mod)
        elif isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


def clean_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip ``module.`` / ``_orig_mod.`` prefixes a wrapped model's state dict may carry."""
    out = {}
    for key, value in state.items():
        for prefix in ("module.", "_orig_mod."):
            while key.startswith(prefix):
                key = key[len(prefix) :]
        out[key.replace("._orig_mod.", ".").replace(".module.", ".")] = value
    return out


def state_dict_of(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in clean_state_dict(unwrap(model).state_dict()).items()}
