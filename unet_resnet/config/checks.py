"""Value checks across keys, run after every load: an impossible value is a :class:`ConfigError` naming the key."""

from __future__ import annotations

import dataclasses

from unet_resnet.config.schema import RESIZE_MODES, Config, ConfigError, DamageConfig, HintConfig


def validate(cfg: Config) -> None:
    """Checks of values (not only types); each error names the key and what would be valid."""
    choices = {
        "data.resize": (cfg.data.resize, RESIZE_MODES),
        "train.precision": (cfg.train.precision, ("auto", "fp32", "bf16", "fp16")),
        "train.gan_loss": (cfg.train.gan_loss, ("bce", "lsgan")),
        "train.lr_schedule": (cfg.train.lr_schedule, ("constant", "linear", "cosine")),
        "train.rec_loss": (cfg.train.rec_loss, ("l1", "huber")),
    }
    for key, (choice, allowed) in choices.items():
        if choice not in allowed:
            raise ConfigError(f"config key '{key}' is {choice!r}; choose one of {', '.join(allowed)}")
    positive = {
        "data.size": cfg.data.size,
        "data.batch_size": cfg.data.batch_size,
        "data.prefetch_factor": cfg.data.prefetch_factor,
        "train.accum_steps": cfg.train.accum_steps,
        "log.every": cfg.log.every,
    }
    for key, number in positive.items():
        if number <= 0:
            raise ConfigError(f"config key '{key}' must be positive, got {number}")
    if cfg.data.size % 32:
        raise ConfigError(
            f"config key 'data.size' must be a multiple of 32 (the encoder's stride), got {cfg.data.size}"
        )
    _validate_crop(cfg.data.crop_scale, cfg.data.crop_ratio)
    if not 0.0 <= cfg.data.val_fraction < 1.0:
        raise ConfigError(f"config key 'data.val_fraction' must be in [0, 1), got {cfg.data.val_fraction}")
    if not 0.0 <= cfg.train.pretrain_fraction <= 1.0:
        raise ConfigError(f"config key 'train.pretrain_fraction' must be in [0, 1], got {cfg.train.pretrain_fraction}")
    if min(cfg.train.pretrain_epochs, cfg.train.gan_epochs, cfg.data.workers, cfg.log.samples) < 0:
        raise ConfigError("epochs, data.workers and log.samples cannot be negative")
    if cfg.train.precise_bn < 0:
        raise ConfigError(
            f"config key 'train.precise_bn' is a number of photos (0: off, 128 usual), got {cfg.train.precise_bn}"
        )
    if len(cfg.model.decoder_channels) != 5 or min(cfg.model.decoder_channels) <= 0:
        raise ConfigError(
            f"config key 'model.decoder_channels' needs five positive widths, got {cfg.model.decoder_channels}"
        )
    for f in dataclasses.fields(DamageConfig):
        if not 0.0 <= getattr(cfg.restore, f.name) <= 1.0:
            raise ConfigError(f"config key 'restore.{f.name}' must be in [0, 1], got {getattr(cfg.restore, f.name)}")
    if not 0.0 <= cfg.train.ema_decay < 1.0:
        raise ConfigError(
            f"config key 'train.ema_decay' must be in [0, 1) (0: off, 0.999 usual), got {cfg.train.ema_decay}"
        )
    for key, share in (
        ("train.lr_decay_fraction", cfg.train.lr_decay_fraction),
        ("train.rebalance", cfg.train.rebalance),
    ):
        if not 0.0 <= share <= 1.0:
            raise ConfigError(f"config key '{key}' must be in [0, 1], got {share}")
    for key, scale in (("train.lr_d_scale", cfg.train.lr_d_scale), ("train.huber_delta", cfg.train.huber_delta)):
        if scale <= 0:
            raise ConfigError(f"config key '{key}' must be positive, got {scale}")
    _validate_hints(cfg.hints)
    if not 0.0 <= cfg.train.label_smoothing < 0.5:
        raise ConfigError(f"config key 'train.label_smoothing' must be in [0, 0.5), got {cfg.train.label_smoothing}")


def _validate_crop(scale: list[float], ratio: list[float]) -> None:
    if len(scale) != 2 or not 0.0 < scale[0] <= scale[1] <= 1.0:
        raise ConfigError(
            f"config key 'data.crop_scale' needs two area shares 0 < low <= high <= 1 (e.g. [0.25, 1.0]), got {scale}"
        )
    if len(ratio) != 2 or not 0.0 < ratio[0] <= ratio[1]:
        raise ConfigError(
            f"config key 'data.crop_ratio' needs two aspect factors 0 < low <= high (e.g. [0.75, 1.333]), got {ratio}"
        )


def _validate_hints(h: HintConfig) -> None:
    if not 0.0 < h.p <= 1.0:
        raise ConfigError(f"config key 'hints.p' must be in (0, 1] (1: never a hint), got {h.p}")
    if h.max_points < 0:
        raise ConfigError(f"config key 'hints.max_points' cannot be negative, got {h.max_points}")
    if not 1 <= h.patch_min <= h.patch_max:
        raise ConfigError(
            f"config keys 'hints.patch_min' and 'hints.patch_max' need 1 <= patch_min <= patch_max, "
            f"got {h.patch_min} and {h.patch_max}"
        )
    if h.position not in ("gaussian", "uniform"):
        raise ConfigError(f"config key 'hints.position' is {h.position!r}; choose one of gaussian, uniform")
    if h.sigma <= 0:
        raise ConfigError(f"config key 'hints.sigma' must be positive, got {h.sigma}")
