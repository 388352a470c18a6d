"""Typed configuration: dataclass defaults, a YAML file over them, then ``section.key=value`` overrides.

Every key is checked: an unknown or mistyped key is a :class:`ConfigError` that names it (and the closest valid
key), never a silent default. This package is the bottom layer: it imports no other module of ``unet_resnet``.
"""

from unet_resnet.config.checks import validate
from unet_resnet.config.loading import apply_overrides, config_from_dict, dump_config, load_config, parse_override
from unet_resnet.config.schema import (
    CROP_RATIO,
    CROP_SCALE,
    RESIZE_MODES,
    Config,
    ConfigError,
    DamageConfig,
    DataConfig,
    HintConfig,
    LogConfig,
    ModelConfig,
    RestoreConfig,
    TrainConfig,
)

__all__ = [
    "CROP_RATIO",
    "CROP_SCALE",
    "RESIZE_MODES",
    "Config",
    "ConfigError",
    "DamageConfig",
    "DataConfig",
    "HintConfig",
    "LogConfig",
    "ModelConfig",
    "RestoreConfig",
    "TrainConfig",
    "apply_overrides",
    "config_from_dict",
    "dump_config",
    "load_config",
    "parse_override",
    "validate",
]
