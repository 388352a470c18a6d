"""unet_resnet: Pix2Pix colorization of black-and-white photos in Lab space.

A U-Net generator over a ResNet18 encoder predicts the ab channels from L; a PatchGAN judges (L, ab) pairs.

The public API is importable from the package top and loaded on first use, so ``import unet_resnet`` stays light
(no torch until a name that needs it is touched)::

    from unet_resnet import Colorizer, load_config, train

    best = train(load_config("configs/demo.yaml"))     # a run folder's best.pt
    colour = Colorizer.load(best).colorize([rgb])[0]   # float RGB (H, W, 3) in [0, 1] -> same size, coloured
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_API: dict[str, str] = {
    "Config": "unet_resnet.config",
    "ConfigError": "unet_resnet.config",
    "load_config": "unet_resnet.config",
    "Colorizer": "unet_resnet.inference.colorizer",
    "HintError": "unet_resnet.hints.points",
    "HintPoint": "unet_resnet.hints.points",
    "parse_points": "unet_resnet.hints.points",
    "default_checkpoint": "unet_resnet.models.default_model",
    "load_generator": "unet_resnet.models.checkpoint",
    "CheckpointError": "unet_resnet.models.checkpoint",
    "train": "unet_resnet.training.api",
}

__all__ = [
    "CheckpointError",
    "Colorizer",
    "Config",
    "ConfigError",
    "HintError",
    "HintPoint",
    "__version__",
    "default_checkpoint",
    "load_config",
    "load_generator",
    "parse_points",
    "train",
]

if TYPE_CHECKING:
    from unet_resnet.config import Config, ConfigError, load_config
    from unet_resnet.hints.points import HintError, HintPoint, parse_points
    from unet_resnet.inference.colorizer import Colorizer
    from unet_resnet.models.checkpoint import CheckpointError, load_generator
    from unet_resnet.models.default_model import default_checkpoint
    from unet_resnet.training.api import train


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'unet_resnet' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
